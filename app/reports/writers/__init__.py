"""One writer per format, each from the same report model and its tables (app.reports.tables)."""
