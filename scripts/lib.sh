# Shared by the quick-start scripts: a virtual environment that follows pyproject.toml.
# Usage: source scripts/lib.sh; ensure_venv [extra]

ensure_venv() {
  local extra=${1:-}
  local spec="."
  [[ -n $extra ]] && spec=".[$extra]"
  if [[ ! -x .venv/bin/python ]]; then
    echo "==> creating .venv" >&2
    python3 -m venv .venv
  fi
  # Reinstall only when pyproject.toml (or the extra asked for) changed since the last install.
  local stamp=".venv/.installed-${extra:-base}"
  local want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "==> installing northstar ${spec} into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
    echo "$want" > "$stamp"
  fi
}

ensure_chromium() {
  # Debian's Chromium drives the browser tests; Playwright never downloads a browser here.
  if command -v chromium >/dev/null 2>&1; then return 0; fi
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's chromium (report charts and browser tests)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >&2
  fi
  command -v chromium >/dev/null 2>&1 || {
    echo "error: Chromium is missing: it draws the report charts and runs the browser tests (apt-get install chromium)" >&2
    return 1
  }
}

ensure_report_libraries() {
  # WeasyPrint (PDF reports) needs Pango, HarfBuzz's subsetter and a font; the report tests read
  # PDFs back with poppler's pdftotext. Installed from Debian when missing and we are root.
  local wanted=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils)
  local missing=() package
  for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing ${missing[*]} for PDF reports" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "warning: PDF reports need ${missing[*]} (apt-get install them)" >&2
  fi
}

ensure_oidc_provider() {
  # The single sign-on tests start a real OpenID Provider (oidc-provider from npm) with Node:
  # tests/oidc holds its package.json and lockfile; `npm ci` installs exactly that, again only
  # when the lockfile changed.
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing Node.js for the single sign-on tests" >&2
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
    fi
  fi
  command -v npm >/dev/null 2>&1 || {
    echo "error: Node.js 20+ and npm are required for the single sign-on tests" >&2
    return 1
  }
  local stamp="tests/oidc/node_modules/.installed"
  local want
  want=$(sha256sum tests/oidc/package-lock.json | cut -d' ' -f1)
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "==> installing the test OpenID Provider (npm ci in tests/oidc)" >&2
    (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$want" > "$stamp"
  fi
}

ensure_postgres() {
  # Some tests always run on PostgreSQL (a backup moves data between SQLite and PostgreSQL), at
  # NORTHSTAR_TEST_DATABASE_URL when it names PostgreSQL, else the local server's northstar_test
  # database. Make that server answer: install it when missing (root with apt-get), start a
  # cluster that is installed but down, and create the test database. Idempotent.
  local host=127.0.0.1 port=5432 database=northstar_test
  local url=${NORTHSTAR_TEST_DATABASE_URL:-}
  if [[ $url == postgresql* ]]; then
    # Only a local server can be started or given a database here; a remote one is the caller's.
    [[ $url =~ @(127\.0\.0\.1|localhost)(:([0-9]+))?/([A-Za-z0-9_]+) ]] || return 0
    port=${BASH_REMATCH[3]:-5432}
    database=${BASH_REMATCH[4]}
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing Debian's postgresql for the tests that need PostgreSQL" >&2
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    else
      echo "warning: PostgreSQL is not installed; the tests that need it will fail" \
           "(apt-get install postgresql)" >&2
      return 0
    fi
  fi
  if ! pg_isready -h "$host" -p "$port" -q 2>/dev/null; then
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
    if [[ -n $version ]]; then
      echo "==> starting PostgreSQL $version" >&2
      if [[ $(id -u) -eq 0 ]]; then
        pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
      else
        sudo -n pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 2>/dev/null \
          || pg_ctlcluster "$version" main start >&2 || true
      fi
    fi
    local _
    for _ in $(seq 1 30); do pg_isready -h "$host" -p "$port" -q 2>/dev/null && break; sleep 1; done
  fi
  if ! pg_isready -h "$host" -p "$port" -q 2>/dev/null; then
    echo "warning: PostgreSQL does not answer on $host:$port; the tests that need it will fail" >&2
    return 0
  fi
  local create="SELECT 'CREATE DATABASE $database' WHERE NOT EXISTS
    (SELECT FROM pg_database WHERE datname = '$database')\\gexec"
  if psql -h "$host" -p "$port" -U postgres -d postgres -w -qtA -c 'SELECT 1' >/dev/null 2>&1; then
    psql -h "$host" -p "$port" -U postgres -d postgres -w -v ON_ERROR_STOP=1 -qtA <<<"$create" >&2
  elif [[ -z ${PGPASSWORD:-} && $(id -u) -eq 0 ]]; then
    # A stock Debian cluster asks for a password on loopback: give the postgres role a test-only
    # one (through the local socket, where peer authentication lets root in) and hand it to
    # every client of this run through libpq's PGPASSWORD.
    export PGPASSWORD=northstar-test
    runuser -u postgres -- psql -p "$port" -d postgres -v ON_ERROR_STOP=1 -qtA >&2 <<SQL
ALTER ROLE postgres PASSWORD '$PGPASSWORD';
$create
SQL
  else
    echo "warning: cannot sign in to PostgreSQL as postgres on $host:$port (set PGPASSWORD);" \
         "the tests that need it will fail" >&2
  fi
}
