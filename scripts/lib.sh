# shellcheck shell=bash
# Shared setup for scripts/serve and scripts/test. Source it; do not run it.
#
# What it provides:
#   lm_ensure_uv          uv on PATH (pip-installed into .lastmile/tools when missing)
#   lm_sync               the locked Python dependencies in .venv (`uv sync --frozen`)
#   lm_ensure_database    LASTMILE_DATABASE_URL exported, pointing at a PostgreSQL with PostGIS:
#                         the one you named (LASTMILE_DATABASE_URL or DATABASE_URL), or a local
#                         server that it installs (Debian packages), starts and connects to.
#   lm_secret_key         LASTMILE_SECRET_KEY exported, generated once into .lastmile/secret_key
#   lm_bootstrap_admin    LASTMILE_BOOTSTRAP_ADMIN_EMAIL/PASSWORD exported for the demo admin
#
# Local files it keeps live in .lastmile/ (git-ignored by its own .gitignore).
# See docs/getting-started.md for the whole story.

LM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LM_STATE="$LM_ROOT/.lastmile"
LM_VENV="$LM_ROOT/.venv"
LM_DEMO_DB="lastmile"
# shellcheck disable=SC2034 # used by scripts/test
LM_TEST_DB="lastmile_test"
LM_PG_ROLE="lastmile"

if [[ -t 2 ]]; then LM_BOLD=$'\033[1m' LM_RED=$'\033[1;31m' LM_OFF=$'\033[0m'; else LM_BOLD="" LM_RED="" LM_OFF=""; fi
lm_log() { printf '%s[lastmile]%s %s\n' "$LM_BOLD" "$LM_OFF" "$*" >&2; }
lm_die() { printf '%s[lastmile] error:%s %s\n' "$LM_RED" "$LM_OFF" "$*" >&2; exit 1; }

lm_state_dir() {
    if [[ ! -d "$LM_STATE" ]]; then
        mkdir -p "$LM_STATE"
        chmod 700 "$LM_STATE"
    fi
    [[ -f "$LM_STATE/.gitignore" ]] || printf '# local secrets and state of scripts/serve\n*\n' >"$LM_STATE/.gitignore"
}

# Run a command as root: directly when we are root, through sudo otherwise.
lm_as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        lm_die "need root to run: $* (or set LASTMILE_DATABASE_URL to a PostgreSQL with PostGIS)"
    fi
}

# Run a command as the postgres OS user (peer authentication over the unix socket).
lm_as_postgres() {
    if [[ $(id -un) == postgres ]]; then
        (cd / && "$@")
    elif [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && sudo -u postgres "$@")
    fi
}

lm_apt_install() {
    command -v apt-get >/dev/null 2>&1 \
        || lm_die "cannot install $* without apt-get; install them yourself or set LASTMILE_DATABASE_URL"
    if [[ -z "${LM_APT_UPDATED:-}" ]]; then
        lm_log "apt-get update"
        lm_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        LM_APT_UPDATED=1
    fi
    lm_log "apt-get install $*"
    # A UTF-8 locale for the cluster that installing the server creates (not SQL_ASCII).
    lm_as_root env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8 \
        apt-get install -y -qq --no-install-recommends "$@" >&2
}

# --- Python ----------------------------------------------------------------------------------

lm_ensure_uv() {
    if command -v uv >/dev/null 2>&1; then
        return
    fi
    local tools="$LM_STATE/tools"
    if [[ ! -x "$tools/bin/uv" ]]; then
        lm_state_dir
        if ! python3 -m pip --version >/dev/null 2>&1; then
            lm_apt_install python3-pip
        fi
        lm_log "installing uv from PyPI into .lastmile/tools"
        # --target keeps it out of the system Python (and out of PEP 668's way).
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
            --target "$tools" uv >&2
    fi
    export PATH="$tools/bin:$PATH"
}

lm_sync() {
    lm_ensure_uv
    lm_log "installing Python dependencies into .venv (uv sync --frozen)"
    # Never let uv fetch a Python of its own: only the package registries are reachable.
    export UV_PYTHON_DOWNLOADS="${UV_PYTHON_DOWNLOADS:-never}"
    (cd "$LM_ROOT" && uv sync --frozen --quiet)
}

lm_python() { "$LM_VENV/bin/python" "$@"; }

# --- PostgreSQL + PostGIS ----------------------------------------------------------------------

# The newest PostgreSQL server version installed from Debian's packages, or nothing.
lm_pg_major() {
    local server
    for server in /usr/lib/postgresql/*/bin/postgres; do
        if [[ -x "$server" ]]; then
            basename "$(dirname "$(dirname "$server")")"
        fi
    done | sort -n | tail -n 1
}

lm_ensure_pg_packages() {
    local major
    major="$(lm_pg_major)"
    if [[ -z "$major" || ! -x /usr/bin/pg_lsclusters ]]; then
        lm_apt_install postgresql
        major="$(lm_pg_major)"
        [[ -n "$major" ]] || lm_die "PostgreSQL did not install"
    fi
    if [[ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]]; then
        lm_apt_install "postgresql-$major-postgis-3"
    fi
    LM_PG_MAJOR="$major"
}

# Start the cluster of that version (creating it if the package did not), wait until it answers.
lm_ensure_cluster() {
    local major="$LM_PG_MAJOR" line name port status
    line="$( (pg_lsclusters --no-header 2>/dev/null || true) | awk -v v="$major" '$1 == v' | head -n 1)"
    if [[ -z "$line" ]]; then
        lm_log "creating PostgreSQL $major cluster 'main'"
        lm_as_root pg_createcluster --locale=C.UTF-8 "$major" main >&2
        line="$(pg_lsclusters --no-header | awk -v v="$major" '$1 == v' | head -n 1)"
    fi
    read -r _ name port status _ <<<"$line"
    if [[ "$status" != online* ]]; then
        lm_log "starting PostgreSQL $major/$name on port $port"
        # No systemd on containers and CI machines: start the cluster directly.
        lm_as_root pg_ctlcluster --skip-systemctl-redirect "$major" "$name" start >&2
    fi
    local tries=0
    until pg_isready -q -h 127.0.0.1 -p "$port"; do
        tries=$((tries + 1))
        ((tries < 60)) || lm_die "PostgreSQL $major/$name does not answer on 127.0.0.1:$port"
        sleep 0.5
    done
    LM_PG_PORT="$port"
}

# Can we sign in over TCP with this URL, without being asked for a password?
lm_pg_can_connect() {
    PGCONNECT_TIMEOUT=5 psql "$1" -w -X -Atqc 'SELECT 1' >/dev/null 2>&1
}

# The URL of the local server's postgres database, as a superuser (PostGIS needs one for
# CREATE EXTENSION, and the test suite drops and creates its own database).
#  - pg_hba trusts 127.0.0.1 (developer machines, CI): postgres@127.0.0.1, no password.
#  - Debian's default (peer on the socket, scram-sha-256 on 127.0.0.1): a role `lastmile` is
#    made through the socket as the postgres OS user, with a generated password kept in
#    .lastmile/pg_password.
lm_local_server_url() {
    local port="$LM_PG_PORT"
    local trusted="postgresql://postgres@127.0.0.1:$port"
    if lm_pg_can_connect "$trusted/postgres"; then
        LM_SERVER_URL="$trusted"
        return
    fi
    lm_state_dir
    local password_file="$LM_STATE/pg_password" password
    if [[ ! -s "$password_file" ]]; then
        (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(24))' >"$password_file")
    fi
    password="$(<"$password_file")"
    local url="postgresql://$LM_PG_ROLE:$password@127.0.0.1:$port"
    if ! lm_pg_can_connect "$url/postgres"; then
        lm_log "creating PostgreSQL role '$LM_PG_ROLE' (password in .lastmile/pg_password)"
        lm_as_postgres psql -p "$port" -X -q -v ON_ERROR_STOP=1 -d postgres \
            -v role="$LM_PG_ROLE" -v password="$password" >&2 <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN SUPERUSER PASSWORD %L', :'role', :'password') \gexec
SQL
        lm_pg_can_connect "$url/postgres" \
            || lm_die "cannot sign in to 127.0.0.1:$port as '$LM_PG_ROLE'; check pg_hba.conf"
    fi
    LM_SERVER_URL="$url"
}

# Exports LASTMILE_DATABASE_URL. With `create` as $1, also creates the demo database if missing.
lm_ensure_database() {
    local create="${1:-}"
    if [[ -z "${LASTMILE_DATABASE_URL:-}" && -n "${DATABASE_URL:-}" ]]; then
        export LASTMILE_DATABASE_URL="$DATABASE_URL"
    fi
    if [[ -n "${LASTMILE_DATABASE_URL:-}" ]]; then
        lm_log "using the database you named: $(lm_redact "$LASTMILE_DATABASE_URL")"
        return
    fi
    lm_ensure_pg_packages
    lm_ensure_cluster
    lm_local_server_url
    export LASTMILE_DATABASE_URL="$LM_SERVER_URL/$LM_DEMO_DB"
    if [[ "$create" == create ]]; then
        lm_log "database: $(lm_redact "$LASTMILE_DATABASE_URL")"
        local exists
        exists="$(psql "$LM_SERVER_URL/postgres" -w -X -Atqc \
            "SELECT 1 FROM pg_database WHERE datname = '$LM_DEMO_DB'")"
        if [[ "$exists" != 1 ]]; then
            lm_log "creating database $LM_DEMO_DB"
            psql "$LM_SERVER_URL/postgres" -w -X -q -v ON_ERROR_STOP=1 \
                -c "CREATE DATABASE \"$LM_DEMO_DB\" ENCODING 'UTF8' TEMPLATE template0"
        fi
    fi
}

# The same server as $1, another database name; keeps any ?query (e.g. host=/var/run/...).
lm_url_with_database() {
    lm_python - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
url, name = sys.argv[1], sys.argv[2]
parts = urlsplit(url)
print(urlunsplit(parts._replace(path="/" + name)))
PY
}

lm_redact() {
    sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"
}

# --- secrets for the demo --------------------------------------------------------------------

lm_secret_key() {
    if [[ -n "${LASTMILE_SECRET_KEY:-}" ]]; then
        return
    fi
    lm_state_dir
    local file="$LM_STATE/secret_key"
    if [[ ! -s "$file" ]]; then
        lm_log "generating a secret key into .lastmile/secret_key (tokens survive restarts)"
        (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(48))' >"$file")
    fi
    LASTMILE_SECRET_KEY="$(<"$file")"
    export LASTMILE_SECRET_KEY
}

lm_bootstrap_admin() {
    export LASTMILE_BOOTSTRAP_ADMIN_EMAIL="${LASTMILE_BOOTSTRAP_ADMIN_EMAIL:-admin@lastmile.local}"
    if [[ -n "${LASTMILE_BOOTSTRAP_ADMIN_PASSWORD:-}" ]]; then
        return
    fi
    lm_state_dir
    local file="$LM_STATE/admin_password"
    if [[ ! -s "$file" ]]; then
        (umask 077 && python3 -c 'import secrets; print("admin-" + secrets.token_hex(6))' >"$file")
    fi
    LASTMILE_BOOTSTRAP_ADMIN_PASSWORD="$(<"$file")"
    export LASTMILE_BOOTSTRAP_ADMIN_PASSWORD
}

# --- programs the test suite drives --------------------------------------------------------------

# Headless Chromium (the tracking page and the console are checked in a real browser, driven by
# Playwright through this binary: Playwright cannot download browsers of its own) and redis-server
# (the Redis channels backend is tested against a server the test starts). Installed from
# Debian's packages when missing; elsewhere those tests skip and say why.
lm_ensure_test_programs() {
    local missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    ((${#missing[@]})) || return 0
    if command -v apt-get >/dev/null 2>&1; then
        lm_apt_install "${missing[@]}"
    else
        lm_log "not installed: ${missing[*]} (no apt-get); the tests that need them will skip"
    fi
}
