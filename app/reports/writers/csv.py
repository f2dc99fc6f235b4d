"""The report as a zip of CSV files, one per table: machine-readable values (1234.56, 0.1250,
2026-07-01) under machine-readable headers, text cells neutralised against formula injection."""

import csv
import io
import zipfile

from app.core.csv_tools import neutralise
from app.reports import formats as f
from app.reports.quarterly import QuarterlyReport
from app.reports.tables import Table, cell_kind, report_tables


def table_csv(table: Table) -> str:
    out = io.StringIO()
    # A byte-order mark: without one Excel reads UTF-8 as its local code page.
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.key for column in table.columns])
    for row in table.rows:
        cells = []
        for column, raw in zip(table.columns, row, strict=True):
            value, kind = cell_kind(column, raw)
            cells.append(neutralise(value) if isinstance(value, str) else f.plain(kind, value))
        writer.writerow(cells)
    return out.getvalue()


def write_csv_zip(report: QuarterlyReport) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number, table in enumerate(report_tables(report), start=1):
            # Numbered so that a file browser lists them in the report's order.
            archive.writestr(f"{number:02d}-{table.key}.csv", table_csv(table).encode("utf-8"))
    return out.getvalue()
