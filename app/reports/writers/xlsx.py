"""The report as an XLSX workbook: a sheet per table, the header row frozen, numbers stored as
numbers with number formats (currency, percent, dates), and every text cell neutralised so that
no spreadsheet runs it as a formula."""

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from app.core.csv_tools import neutralise
from app.core.money import spreadsheet_format
from app.reports import formats as f
from app.reports.quarterly import QuarterlyReport
from app.reports.tables import cell_kind, report_tables

HEADER_FILL = PatternFill("solid", fgColor="EEF1F5")
MAX_WIDTH = 60


def number_formats(currency: str) -> dict[str, str]:
    return {f.MONEY: spreadsheet_format(currency), f.HOURS: "#,##0.00", f.DAYS: "#,##0.00",
            f.NUMBER: "#,##0.00", f.COUNT: "#,##0", f.RATIO: "0.0%", f.SCORE: "0.00",
            f.DATE: "yyyy-mm-dd", f.MONTH: "mmm yyyy"}


def text_cell(cell, text: str) -> None:
    """A string, never a formula: neutralised, and typed as a string explicitly."""
    cell.value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", text))
    cell.data_type = "s"


def sheet_title(title: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\
    return "".join(c for c in title if c not in "[]:*?/\\")[:31]


def write_xlsx(report: QuarterlyReport) -> bytes:
    formats = number_formats(report.currency)
    book = Workbook()
    book.remove(book.active)
    book.properties.title = report.title
    book.properties.creator = "Northstar"
    for table in report_tables(report):
        sheet = book.create_sheet(sheet_title(table.key.replace("_", " ").capitalize()))
        widths = [len(c.title) for c in table.columns]
        for col, column in enumerate(table.columns, start=1):
            cell = sheet.cell(row=1, column=col)
            text_cell(cell, column.title)
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        if table.note:
            sheet.cell(row=1, column=1).comment = Comment(table.note, "Northstar")
        for r, row in enumerate(table.rows, start=2):
            for col, (column, raw) in enumerate(zip(table.columns, row, strict=True), start=1):
                value, kind = cell_kind(column, raw)
                cell = sheet.cell(row=r, column=col)
                if value is None:
                    continue
                if isinstance(value, str):
                    text_cell(cell, value)
                    widths[col - 1] = max(widths[col - 1], len(value))
                    continue
                value = f.rounded(kind, value)
                if isinstance(value, date):
                    cell.value = value
                elif kind == f.COUNT:
                    cell.value = int(value)
                else:
                    # Rounded to the API's places first: the float is the API's decimal string.
                    cell.value = float(value)
                cell.number_format = formats.get(kind, "General")
                widths[col - 1] = max(widths[col - 1], len(f.plain(kind, value)) + 3)
        sheet.freeze_panes = "A2"
        for col, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(col)].width = min(MAX_WIDTH, width + 2)
        if table.rows:
            sheet.auto_filter.ref = sheet.dimensions
        if table.more:
            # Below the filtered range, after a blank row: a line to read, not a data row.
            cell = sheet.cell(row=len(table.rows) + 3, column=1)
            text_cell(cell, table.more)
            cell.font = Font(italic=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
