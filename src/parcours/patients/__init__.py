"""The master patient index: one identity per person across the GST's establishments.

This package holds the matching engine, pure Python and numpy with no
database: name normalisation (:mod:`.normalise`), identifiers and birth dates
(:mod:`.identifiers`, :mod:`.dates`), record features (:mod:`.records`),
comparison (:mod:`.compare`), blocking (:mod:`.blocking`), the
Fellegi–Sunter model (:mod:`.fellegi_sunter`), real-time matching
(:mod:`.matching`) and batch training and deduplication (:mod:`.batch`).
The storage, the API and the pages of the MPI call it.
"""
