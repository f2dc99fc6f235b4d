"""Web plumbing shared by every page and API route: templating, error pages and problem+json,
security headers, static files, observability, health probes, the API docs page, input hygiene,
navigation and form helpers."""
