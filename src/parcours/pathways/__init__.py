"""Care pathways: encounters, referrals and counter-referrals, the pathway map, routing.

The pure core knows no database and no web framework (import-linter contract
"Domain rules import no framework"):

- ``referral``: the referral lifecycle (state machine, deadlines, timings);
- ``pathway_map``: who refers to whom per specialty, versioned, and bypasses;
- ``routing``: ranked destination proposals with their reasons;
- ``encounter``: encounter kinds, discharge modes, the bed census;
- ``icd10``: the compact ICD-10 list and the code validator;
- ``geo``: great-circle distances.

Around it, one transaction per use case:

- ``models``: encounters (with ICD-10 diagnoses), referrals and their
  append-only events, map versions and exceptions, the live bed census;
- ``network``: the registry's establishments as the map sees them, rebuilt
  only when the registry changes;
- ``service``: create and move referrals (optimistic version lock, 409 on a
  race), the expiry sweep, inboxes, routing with live beds and waits,
  encounters and the census, the person's timeline, the map drawn from the
  referrals with its bypass counts, map amendments;
- ``sweeper``: the server's periodic expiry sweep; ``cli``: ``parcours
  pathways export-map|expire``; ``api`` and ``pages``: the JSON routes and
  the French pages, both calling ``service``.
"""
