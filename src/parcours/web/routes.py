"""Where every context's routers are attached to the application."""

from __future__ import annotations

from fastapi import FastAPI

from parcours.access import api as access_api
from parcours.access import pages as access_pages
from parcours.fhir import api as fhir_api
from parcours.finance import api as finance_api
from parcours.finance import pages as finance_pages
from parcours.indicators import api as indicators_api
from parcours.indicators import pages as indicators_pages
from parcours.pathways import api as pathways_api
from parcours.pathways import pages as pathways_pages
from parcours.patients import api as patients_api
from parcours.patients import pages as patients_pages
from parcours.territory import api as territory_api
from parcours.territory import pages as territory_pages
from parcours.web import pages as web_pages
from parcours.workforce import api as workforce_api
from parcours.workforce import pages as workforce_pages


def include_routers(app: FastAPI) -> None:
    app.include_router(access_api.router)
    app.include_router(territory_api.router)
    app.include_router(patients_api.router)
    app.include_router(pathways_api.router)
    app.include_router(workforce_api.router)
    app.include_router(finance_api.router)
    app.include_router(indicators_api.router)
    app.include_router(fhir_api.router)
    app.include_router(web_pages.router)
    app.include_router(access_pages.router)
    app.include_router(territory_pages.router)
    app.include_router(patients_pages.router)
    app.include_router(pathways_pages.router)
    app.include_router(workforce_pages.router)
    app.include_router(finance_pages.router)
    app.include_router(indicators_pages.router)
