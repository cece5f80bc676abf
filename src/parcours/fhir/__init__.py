"""The FHIR R4 REST façade over Parcours' contexts (``/fhir/…``)."""
