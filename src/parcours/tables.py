"""Import every context's tables so that ``Base.metadata`` is complete.

Alembic's autogenerate and the test fixtures need the whole schema; the
contexts themselves never import each other's tables.
"""

from parcours.access import models as access_models
from parcours.db import Base
from parcours.demo import models as demo_models
from parcours.fhir import models as fhir_models
from parcours.finance import models as finance_models
from parcours.indicators import models as indicator_models
from parcours.pathways import models as pathway_models
from parcours.patients import models as patient_models
from parcours.territory import models as territory_models
from parcours.workforce import models as workforce_models

__all__ = [
    "Base",
    "access_models",
    "demo_models",
    "fhir_models",
    "finance_models",
    "indicator_models",
    "pathway_models",
    "patient_models",
    "territory_models",
    "workforce_models",
]
