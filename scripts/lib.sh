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
    echo "==> installing Debian's chromium for the browser tests" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >&2
  fi
  command -v chromium >/dev/null 2>&1 || {
    echo "error: Chromium is required for the browser tests (apt-get install chromium)" >&2
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
