"""The execution table as CSV and XLSX for the Ministry of Economy and Finance.

Both are written from the ``ExecutionReport`` that the page shows (``service.execution``):
the same rows and the same totals, never a second computation. Amounts are written as
exact decimals (two places); rates as fractions with a percentage format in XLSX.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from parcours.finance.rules import AlertKind
from parcours.finance.schemas import ExecutionReport, Totals

HEADER = (
    "exercice",
    "mois_fin",
    "etablissement",
    "nom_etablissement",
    "chapitre",
    "ligne",
    "libelle",
    "credits_ouverts",
    "engagements",
    "ordonnancements",
    "paiements",
    "disponible",
    "taux_engagement",
    "taux_execution",
    "alertes",
)
AMOUNT_FORMAT = "#,##0.00"
RATE_FORMAT = "0.00%"
TOTAL_LABEL = "TOTAL"


def _rate(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _amounts(t: Totals) -> list[Decimal]:
    return [t.allocated, t.committed, t.ordered, t.paid, t.available]


def _alerts(alerts: list[AlertKind]) -> str:
    return " ; ".join(a.label for a in alerts)


def rows(report: ExecutionReport) -> list[list[object]]:
    """The table as lists of cells, the total last (what both formats write)."""
    out: list[list[object]] = []
    for r in report.rows:
        out.append(
            [
                report.year,
                report.through_month,
                r.establishment or "GST",
                r.establishment_name,
                r.chapter.label,
                r.code,
                r.label,
                *_amounts(r.totals),
                r.totals.commitment_rate,
                r.totals.execution_rate,
                _alerts(r.alerts),
            ]
        )
    t = report.total
    out.append(
        [
            report.year,
            report.through_month,
            TOTAL_LABEL,
            "",
            "",
            "",
            "",
            *_amounts(t),
            t.commitment_rate,
            t.execution_rate,
            "",
        ]
    )
    return out


def execution_csv(report: ExecutionReport) -> str:
    """Semicolon-separated, decimal point, UTF-8 with BOM (what a spreadsheet opens as is)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for cells in rows(report):
        amounts = [f"{c:.2f}" if isinstance(c, Decimal) else c for c in cells[:12]]
        rates = [_rate(c) if isinstance(c, Decimal) or c is None else c for c in cells[12:14]]
        writer.writerow([*amounts, *rates, *cells[14:]])
    return "\ufeff" + buffer.getvalue()


def execution_xlsx(report: ExecutionReport) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = f"Execution {report.year}"
    sheet.append(list(HEADER))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cells in rows(report):
        sheet.append([c if c is not None else "" for c in cells])
        row = sheet.max_row
        for column in range(8, 13):
            sheet.cell(row=row, column=column).number_format = AMOUNT_FORMAT
        for column in (13, 14):
            sheet.cell(row=row, column=column).number_format = RATE_FORMAT
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for index, width in enumerate(
        (8, 8, 14, 40, 16, 26, 40, 18, 18, 18, 18, 18, 12, 12, 30), start=1
    ):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
