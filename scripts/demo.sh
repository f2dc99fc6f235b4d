#!/usr/bin/env bash
# Quick start: install into .venv, migrate the SQLite database, load the demo organisation,
# print the demo logins and serve at http://127.0.0.1:8000 (another port: --port 8080, or
# NORTHSTAR_PORT=8080).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${NORTHSTAR_PORT:-8000}
while [[ $# -gt 0 ]]; do
  case $1 in
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    -h|--help) echo "usage: scripts/demo.sh [--port N]   (or NORTHSTAR_PORT=N)"; exit 0 ;;
    *) echo "error: unknown argument $1 (usage: scripts/demo.sh [--port N])" >&2; exit 2 ;;
  esac
done
[[ $port =~ ^[0-9]+$ && $port -ge 1 && $port -le 65535 ]] \
  || { echo "error: the port must be a number from 1 to 65535, not '$port'" >&2; exit 2; }
source scripts/lib.sh
ensure_venv
ensure_report_libraries
# The PDF and printable reports draw their charts with Chromium (through kaleido).
ensure_chromium || echo "warning: without Chromium the PDF report has no charts" >&2
export NORTHSTAR_DATABASE_URL=${NORTHSTAR_DATABASE_URL:-sqlite:///./northstar.db}
.venv/bin/northstar migrate
.venv/bin/northstar demo
echo "==> Northstar at http://127.0.0.1:${port} (Ctrl-C stops it)"
exec .venv/bin/northstar serve --host 127.0.0.1 --port "$port"
