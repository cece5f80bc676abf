"""Step ``indicators``: the reform's indicator definitions and the aggregates of the demo.

The shipped definitions are inserted by ``ensure_shipped_indicators`` and the
cells built by a full ``refresh`` over what the earlier steps wrote (referral
events, encounters, mobility events). Both are idempotent: a run interrupted
before the step's marker leaves definitions and cells that the next run
rebuilds from scratch, never counts twice. After the demo, the server's
background refresh keeps the cells current.
"""

from __future__ import annotations

from parcours.demo.pipeline import Counts, DemoContext, Step
from parcours.indicators import service


def build(ctx: DemoContext) -> Counts:
    definitions = service.ensure_shipped_indicators(ctx.session)
    out = service.refresh(ctx.session, full=True)
    return {
        "définitions": definitions,
        "faits agrégés": sum(out.facts.values()),
    }


STEP = Step(name="indicators", label="Indicateurs", build=build)
