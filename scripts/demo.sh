#!/usr/bin/env bash
# Quick start: install into .venv, migrate the SQLite database, load the demo organisation,
# print the demo logins and serve at http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_venv
ensure_report_libraries
export NORTHSTAR_DATABASE_URL=${NORTHSTAR_DATABASE_URL:-sqlite:///./northstar.db}
.venv/bin/northstar migrate
.venv/bin/northstar demo
echo "==> Northstar at http://127.0.0.1:8000 (Ctrl-C stops it)"
exec .venv/bin/northstar serve --host 127.0.0.1 --port 8000
