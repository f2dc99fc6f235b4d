#!/usr/bin/env bash
# The whole test suite, browser tests in Chromium included.
#
# Database tests run on NORTHSTAR_TEST_DATABASE_URL (a SQLite file when unset). When that URL
# names PostgreSQL, the suite runs there and then once more on SQLite (browser tests aside),
# so both backends are proven in one command. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_venv test
ensure_chromium
ensure_report_libraries
ensure_oidc_provider
ensure_postgres

# Two workers (the machines have two cores); a test file stays on one worker, so a module's
# expensive fixtures (an MLflow server, a throwaway PostgreSQL) start once.
# The ten slowest tests close each run, so that a test that grows past its share is seen.
# The SQLite pass leaves out the tests marked `nodb` (tests/conftest.py marks, at collection,
# every test that requests no database fixture and whose module, package and fixtures open
# no engine or app of their own: formulas, figures, architecture checks): the first pass ran
# them, and no backend can change what they prove.
parallel=(-n "${NORTHSTAR_TEST_WORKERS:-2}" --dist loadfile --durations=10)

url=${NORTHSTAR_TEST_DATABASE_URL:-}
if [[ $url == postgresql* ]]; then
  echo "==> test suite on PostgreSQL (database tests) and in Chromium (browser tests)"
  .venv/bin/pytest "${parallel[@]}" "$@"
  echo "==> database tests again on SQLite"
  NORTHSTAR_TEST_DATABASE_URL= .venv/bin/pytest "${parallel[@]}" \
    -m "not browser and not install and not nodb" "$@"
else
  echo "==> test suite on SQLite and in Chromium"
  .venv/bin/pytest "${parallel[@]}" "$@"
fi
