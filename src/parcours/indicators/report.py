"""The printable monthly report for the board of the GST, as PDF (fpdf2, pure Python).

One landscape page or two: every indicator for the region with the previous
month and the target, the before/after comparison of the pilot, and every
indicator by province. Small cells are suppressed by the service as on the
pages. The PDF core fonts are Latin-1: other characters are replaced.
"""

from __future__ import annotations

from datetime import timedelta

from fpdf import FPDF
from sqlalchemy.orm import Session

from parcours.access.rules import Principal
from parcours.config import get_settings
from parcours.db import utcnow
from parcours.indicators import rules, service
from parcours.indicators.charts import fr
from parcours.indicators.rules import Period

_REPLACE = {"→": "->", "≤": "<=", "≥": ">=", "’": "'", "œ": "oe", "—": "-", "–": "-", "…": "..."}


def latin1(text: str) -> str:
    for bad, good in _REPLACE.items():
        text = text.replace(bad, good)
    return text.replace("\u202f", " ").encode("latin-1", "replace").decode("latin-1")


def _shown(value: service.Value) -> str:
    if value.suppressed:
        return "masqué"
    return fr(value.shown)


def monthly_pdf(session: Session, principal: Principal, period: Period) -> bytes:
    board = service.dashboard(session, principal, period=period)
    tree = service.tree(session)
    reader = service.Reader(session, tree)
    provinces = [tree.unit("province", p) for p in tree.provinces]
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    title = f"Rapport mensuel des indicateurs - {get_settings().gst_name} - {period.key}"
    pdf.cell(0, 8, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.cell(
        0,
        5,
        latin1(
            f"Établi le {utcnow():%d/%m/%Y %H:%M} UTC à partir des agrégats ; valeurs reposant "
            f"sur moins de {rules.SMALL_CELL} personnes masquées."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    c = board.comparison
    if c is not None:
        pdf.set_font("Helvetica", "B", 10)
        first, last = c.after_months[0], c.after_months[-1]
        pdf.cell(
            0,
            7,
            latin1(
                f"{c.info.d.name} : {_shown(c.before)} avant le pilote, {_shown(c.after)} depuis "
                f"({c.info.d.unit} ; {len(c.after_months)} mois de chaque côté, "
                f"{first // 100}-{first % 100:02d} à {last // 100}-{last % 100:02d})"
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(2)
    widths = (80, 28, 28, 22, 22, 97)
    heads = ("Indicateur", "Valeur", "Mois précédent", "Cible", "Unité", "Définition")
    pdf.set_font("Helvetica", "B", 8)
    for w, h in zip(widths, heads, strict=True):
        pdf.cell(w, 6, latin1(h), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 7)
    for r in board.rows:
        d = r.info.d
        cells = (
            d.name,
            _shown(r.value),
            _shown(r.previous),
            fr(d.target) if d.target is not None else "",
            d.unit,
            d.definition[:95] + ("..." if len(d.definition) > 95 else ""),
        )
        for w, text in zip(widths, cells, strict=True):
            pdf.cell(w, 5, latin1(text), border=1)
        pdf.ln()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 8, latin1(f"Par province et préfecture - {period.key}"), new_x="LMARGIN",
             new_y="NEXT")  # fmt: skip
    pdf.set_font("Helvetica", "B", 7)
    first_w = 70.0
    col = (277 - first_w) / max(len(provinces) + 1, 1)
    pdf.cell(first_w, 6, "Indicateur", border=1)
    for p in provinces:
        pdf.cell(col, 6, latin1(p.name[:14]), border=1)
    pdf.cell(col, 6, latin1("Région"), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 7)
    for r in board.rows:
        pdf.cell(first_w, 5, latin1(r.info.d.name[:48]), border=1)
        for p in provinces:
            pdf.cell(col, 5, latin1(_shown(service.value_of(reader, r.info, p, period.months))),
                     border=1)  # fmt: skip
        pdf.cell(col, 5, latin1(_shown(r.value)), border=1)
        pdf.ln()
    last_day = period.end - timedelta(days=1)
    pdf.set_font("Helvetica", "", 7)
    pdf.ln(3)
    pdf.cell(0, 5, latin1(f"Période du {period.start:%d/%m/%Y} au {last_day:%d/%m/%Y}."))
    return bytes(pdf.output())
