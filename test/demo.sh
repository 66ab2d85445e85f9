#!/bin/bash
# make demo: build and install pg_loyalty, start a throwaway PostgreSQL
# cluster with pg_cron preloaded, create database "demo" with the extension,
# and run test/demo.sql (a small Vietnamese shop and café, in đồng).
#
# Works as root on a fresh Debian 12 machine (the cluster runs as postgres)
# and as an ordinary user after `sudo make install`.  Running it again stops
# and wipes the previous demo cluster first.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

PORT=${DEMO_PORT:-55999}
PG_CONFIG=${PG_CONFIG:-pg_config}

say() { echo "pg_loyalty demo: $*"; }

bash test/deps.sh

BINDIR=$("$PG_CONFIG" --bindir)

say "building and installing"
make -s >/dev/null
if ! make -s install >/dev/null; then
    say "'make install' failed; run it with sudo, then 'make demo' again" >&2
    exit 1
fi

# Where the cluster lives, and as whom it runs.
FALLBACK=/tmp/pg_loyalty_demo
if [ "$(id -u)" -eq 0 ]; then
    RUN=(runuser -u postgres --)
    DIR="$REPO/.demo"
    if ! runuser -u postgres -- test -x "$REPO"; then
        DIR=$FALLBACK
        say "user postgres cannot enter $REPO; the demo cluster goes to $DIR"
    fi
else
    RUN=()
    DIR="$REPO/.demo"
fi
# A unix socket path must fit in 107 bytes.
if [ $(( ${#DIR} + 20 )) -gt 100 ]; then
    DIR=$FALLBACK
    say "the repository path is too long for a socket; the demo cluster goes to $DIR"
fi

# Stop and wipe an earlier demo cluster (in either place).
for old in "$REPO/.demo" "$FALLBACK"; do
    if [ -f "$old/data/postmaster.pid" ]; then
        say "stopping the previous demo cluster in $old"
        "${RUN[@]}" "$BINDIR/pg_ctl" -D "$old/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
done
rm -rf "$DIR"
mkdir -p "$DIR"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR"
cd "$DIR"     # the server and psql run as postgres, who may not enter $REPO

say "starting a throwaway cluster in $DIR (port $PORT)"
"${RUN[@]}" "$BINDIR/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
cat <<EOF | "${RUN[@]}" tee -a "$DIR/data/postgresql.conf" >/dev/null

# pg_loyalty demo
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'demo'
timezone = 'UTC'
log_timezone = 'UTC'
fsync = off
EOF
if ! "${RUN[@]}" "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null; then
    say "the server did not start; its log:" >&2
    tail -20 "$DIR/server.log" >&2
    exit 1
fi

export PGCLIENTENCODING=UTF8
PSQL=("${RUN[@]}" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres)
"${PSQL[@]}" -d postgres -c 'CREATE DATABASE demo'
"${PSQL[@]}" -d demo -c 'CREATE EXTENSION pg_cron' -c 'CREATE EXTENSION pg_loyalty'

# If the install script has loyalty.attach(), demo.sql also wires a host table.
HAS_ATTACH=$("${PSQL[@]}" -d demo -A -t -c \
    "SELECT to_regprocedure('loyalty.detach(regclass)') IS NOT NULL")

echo
# Read the script on stdin: user postgres may not be able to open files in $REPO.
"${PSQL[@]}" -d demo -v has_attach="$HAS_ATTACH" <"$REPO/test/demo.sql"

cat <<EOF

The demo cluster is still running.
  connect:  ${RUN[*]:+${RUN[*]} }psql -h $DIR -p $PORT -U postgres demo
  stop it:  ${RUN[*]:+${RUN[*]} }$BINDIR/pg_ctl -D $DIR/data stop
  wipe it:  stop it, then rm -rf $DIR   ('make demo' again starts afresh)
EOF
