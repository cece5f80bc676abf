"""Import every context's tables so that ``Base.metadata`` is complete.

Alembic's autogenerate and the test fixtures need the whole schema; the
contexts themselves never import each other's tables.
"""

from parcours.access import models as access_models
from parcours.db import Base
from parcours.territory import models as territory_models

__all__ = ["Base", "access_models", "territory_models"]
