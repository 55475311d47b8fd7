"""A report's tables (:mod:`timebank.reports.tables`) as a CSV file or a PDF document.

The PDF is written with fpdf2 in DejaVu Sans, shipped in ``timebank/reports/fonts/`` (it covers
Latin with every accent of the shipped languages and Arabic); text shaping by HarfBuzz
(uharfbuzz) joins Arabic letters, and an Arabic report reads right to left with its columns
from the right. A table's bar charts (``Table.charts``: what was exchanged per month) are drawn
above it with fpdf2's own rectangles and lines; in Arabic the first month is on the right.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from timebank.ledger.reports import to_csv
from timebank.reports.tables import BarChart, Table

if TYPE_CHECKING:
    from fpdf import FPDF

FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
BAR_COLOUR = (25, 135, 84)  # the site's green
AXIS_COLOUR = (120, 120, 120)
CHART_HEIGHT = 36  # mm, the bars' area


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
    # Imported on first use: fpdf2 and its font tools hold ~33 MB, which a worker that never
    # writes a PDF should not carry (bench/RESULTS.md, "Session 11").
    from fpdf import FPDF

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
        for chart in table.charts:
            _bar_chart(pdf, chart, right_to_left=right_to_left)
        pdf.set_font(FONT, "", 9)
        if not table.rows:
            pdf.multi_cell(0, 6, "—", align=align, new_x="LMARGIN", new_y="NEXT")
            continue
        _table(pdf, table, right_to_left=right_to_left)
    return bytes(pdf.output())


def _table(pdf: FPDF, table: Table, *, right_to_left: bool) -> None:
    from fpdf import FontFace

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


def _bar_chart(pdf: FPDF, chart: BarChart, *, right_to_left: bool) -> None:
    """Draw ``chart`` across the page's width: its title, a bar per value from a zero axis
    (negative values below it), and the labels under the axis (every k-th when there are
    more than 12); the shown value over each bar when there are at most 12 bars."""
    if not chart.bars:
        return
    if pdf.will_page_break(CHART_HEIGHT + 20):
        pdf.add_page()
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(0, 6, chart.title, align="R" if right_to_left else "L",
                   new_x="LMARGIN", new_y="NEXT")
    bars = list(reversed(chart.bars)) if right_to_left else chart.bars
    values = [value for _label, value, _shown in bars]
    high, low = max(0.0, *values), min(0.0, *values)
    span = (high - low) or 1.0
    top = pdf.get_y() + 4  # room for the value over the tallest bar
    axis = top + CHART_HEIGHT * high / span
    slot = pdf.epw / len(bars)
    every = math.ceil(len(bars) / 12)
    pdf.set_font(FONT, "", 6)
    pdf.set_fill_color(*BAR_COLOUR)
    for index, (label, value, shown) in enumerate(bars):
        left = pdf.l_margin + index * slot
        height = CHART_HEIGHT * abs(value) / span
        if height > 0:
            pdf.rect(left + slot * 0.15, axis - height if value > 0 else axis, slot * 0.7,
                     height, style="F")
        if len(bars) <= 12:
            pdf.set_xy(left, (axis - height - 3.5) if value >= 0 else (axis + height + 0.5))
            pdf.cell(slot, 3, shown, align="C")
        month_number = len(bars) - 1 - index if right_to_left else index
        if month_number % every == 0:
            pdf.set_xy(left, top + CHART_HEIGHT + 4)
            pdf.cell(slot, 3, label, align="C")
    pdf.set_draw_color(*AXIS_COLOUR)
    pdf.line(pdf.l_margin, axis, pdf.l_margin + pdf.epw, axis)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(pdf.l_margin, top + CHART_HEIGHT + 9)
