"""Care pathways: encounters, referrals and counter-referrals, the pathway map, routing.

The pure core knows no database and no web framework (import-linter contract
"Domain rules import no framework"):

- ``referral``: the referral lifecycle (state machine, deadlines, timings);
- ``pathway_map``: who refers to whom per specialty, versioned, and bypasses;
- ``routing``: ranked destination proposals with their reasons;
- ``encounter``: encounter kinds, discharge modes, the bed census;
- ``icd10``: the compact ICD-10 list and the code validator;
- ``geo``: great-circle distances.

What the storage/service layer (``models``, ``service``, ``api``, ``pages``)
does around it, one transaction per use case:

- create: ``pathway_map.designated_destination`` with the current map version,
  then ``referral.new_referral(..., map_version=, designated_destination=)``;
  insert the row and its creation event.
- act: load the row, build a ``ReferralSnapshot``; ``referral.acting_side``
  (permission, scope, side: 403s); ``referral.apply`` (409/422); then
  ``UPDATE … SET …, version = :new WHERE id = :id AND version = :old`` — zero
  rows means another user acted first: raise ``TransitionRefused("stale_version",
  current=…, expected=…)``; insert ``Transition.event``; on a redirect insert
  ``Transition.spawned`` (its ``parent_id`` is set) with ``spawned_event``;
  audit; commit.
- expire: a periodic sweep over referrals in sent/received with
  ``answer_due_at <= now`` applies ``Action.EXPIRE`` with ``Side.SYSTEM``.
- indicators: ``referral.timings(history, answer_due_at)`` and
  ``pathway_map.count_bypasses``; routing: ``routing.propose`` with
  ``LiveFacts`` from the census (``encounter``) and ``routing.median_duration``
  of recent waits.
"""
