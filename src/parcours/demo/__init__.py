"""The deterministic generator of a realistic demo region.

How it is put together, for whoever adds the next step (patients, pathways,
workforce, finance…):

* ``pipeline.py`` runs the steps listed in ``steps/__init__.py``, in order,
  each with a :class:`~parcours.demo.pipeline.DemoContext`: the session, the
  seed, the ``--scale`` (``ctx.scaled(n)`` for volumes of people and events),
  a ``random.Random`` derived from the seed and the step's name, the
  establishments (``ctx.establishments``, in code order) and what earlier steps
  handed on (``ctx.results``, keys ``"<step>.<what>"``).
* A step is a pure planner (``*_plan.py``: dataclasses drawn from the rng and
  the reference data, tested without a database) plus a thin writer
  (``steps/<name>.py``) that goes through the contexts' ``service.py`` use
  cases under ``system_principal("demo")``, reports to ``ctx.reporter`` and
  returns counts. A step may provide ``recall`` (reload what later steps need
  when it was built by an earlier run) and ``guard`` (refuse to mix with data
  the demo did not make, unless ``--force``).
* A finished step leaves a ``demo.step`` audit entry; later runs skip it. New
  steps go at the end of the list, so that a database built before gains them
  on the next ``parcours demo`` without anything else changing.
"""
