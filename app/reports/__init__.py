"""The quarterly summary: one report model (quarterly.py), written as a printable page, PDF,
XLSX, a zip of CSVs, Markdown and JSON (writers/)."""
