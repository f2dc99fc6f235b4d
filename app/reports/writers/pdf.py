"""The report as PDF: the standalone HTML document laid out by WeasyPrint (A4, print CSS with
page numbers), charts as PNG images drawn locally by kaleido."""

from pathlib import Path

from jinja2 import Environment

from app.reports.quarterly import QuarterlyReport
from app.reports.writers.html import write_document


def write_pdf(report: QuarterlyReport, env: Environment, static_dir: Path) -> bytes:
    # Imported on use: WeasyPrint loads Pango, which the other formats do without.
    from weasyprint import HTML, URLFetcher

    document = write_document(report, env, static_dir)
    # The document carries everything inline (data: URIs): nothing is fetched from anywhere.
    fetcher = URLFetcher(allowed_protocols=("data",))
    return HTML(string=document, url_fetcher=fetcher).write_pdf()
