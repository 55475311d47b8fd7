"""A report's tables (:mod:`timebank.reports.tables`) as a CSV file or a PDF document.

The PDF is written with fpdf2 in DejaVu Sans, shipped in ``timebank/reports/fonts/`` (it covers
Latin with every accent of the shipped languages and Arabic); text shaping by HarfBuzz
(uharfbuzz) joins Arabic letters, and an Arabic report reads right to left with its columns
from the right.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF, FontFace

from timebank.ledger.reports import to_csv
from timebank.reports.tables import Table

FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"


def tables_csv(title: list[str], tables: list[Table]) -> str:
    """Return ``tables`` as one CSV text: the ``title`` lines, then each table as its title
    line, its header and rows, and an empty line."""
    lines: list[list] = [[line] for line in title] + [[]]
    for table in tables:
        lines += [[table.title], table.header, *table.rows, []]
    return to_csv(None, lines)


def tables_pdf(title: str, subtitle: list[str], tables: list[Table], *,
               right_to_left: bool = False) -> bytes:
    """Return a PDF (A4) of ``title``, the ``subtitle`` lines and ``tables``."""
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if right_to_left else "ltr")
    align = "R" if right_to_left else "L"
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(0, 9, title, align=align, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    for line in subtitle:
        pdf.multi_cell(0, 6, line, align=align, new_x="LMARGIN", new_y="NEXT")
    for table in tables:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 12)
        pdf.multi_cell(0, 8, table.title, align=align, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 9)
        if not table.rows:
            pdf.multi_cell(0, 6, "—", align=align, new_x="LMARGIN", new_y="NEXT")
            continue
        _table(pdf, table, right_to_left=right_to_left)
    return bytes(pdf.output())


def _table(pdf: FPDF, table: Table, *, right_to_left: bool) -> None:
    order = list(range(len(table.header)))
    if right_to_left:
        order.reverse()  # the first column on the right
    aligns = tuple(
        ("LEFT" if right_to_left else "RIGHT") if index in table.numeric
        else ("RIGHT" if right_to_left else "LEFT")
        for index in order
    )
    with pdf.table(text_align=aligns, line_height=5.5, headings_style=FontFace(emphasis="B"),
                   cell_fill_color=(245, 245, 245), cell_fill_mode="ROWS") as grid:
        for cells in [table.header, *table.rows]:
            row = grid.row()
            for index in order:
                row.cell(str(cells[index]))
