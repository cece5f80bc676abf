"""Care pathways: encounters, referrals and counter-referrals, the pathway map, routing.

The pure core (``referral``, ``pathway_map``, ``routing``, ``icd10``, ``encounter``,
``geo``) holds the rules and knows no database; the storage, service, API and
pages of the context call it.
"""
