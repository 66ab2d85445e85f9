# Shared helpers for the cluster-level TAP scripts in test/tap/.
# Each script prints TAP lines ("ok N - ..." / "not ok N - ...") and exits
# non-zero when something failed; test/run_tests.sh counts them.

PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
TAP_N=0
TAP_FAILED=0

if [ "$(id -u)" -eq 0 ]; then
    AS_PG=(runuser -u postgres --)
else
    AS_PG=()
fi

# Report one check: tap_check "description" command...
tap_check() {
    local what=$1
    shift
    TAP_N=$((TAP_N + 1))
    if "$@" >/dev/null 2>&1; then
        echo "ok $TAP_N - $what"
    else
        echo "not ok $TAP_N - $what"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

# Report a comparison of two values: tap_is "description" got expected
tap_is() {
    TAP_N=$((TAP_N + 1))
    if [ "$2" = "$3" ]; then
        echo "ok $TAP_N - $1"
    else
        echo "not ok $TAP_N - $1"
        echo "#   got:      $2"
        echo "#   expected: $3"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

# Make a scratch directory the postgres user owns
tap_scratch() {
    local dir
    dir=$(mktemp -d /tmp/pg_loyalty_tap.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    echo "$dir"
}

# Start a throwaway cluster: tap_start_cluster DIR PORT [extra config lines...]
tap_start_cluster() {
    local dir=$1 port=$2
    shift 2
    "${AS_PG[@]}" "$BINDIR/initdb" -D "$dir/data" -A trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || return 1
    {
        echo "port = $port"
        echo "unix_socket_directories = '$dir'"
        echo "listen_addresses = ''"
        echo "fsync = off"
        for line in "$@"; do echo "$line"; done
    } | "${AS_PG[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null
    "${AS_PG[@]}" "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

# Stop a cluster started by tap_start_cluster
tap_stop_cluster() {
    "${AS_PG[@]}" "$BINDIR/pg_ctl" -D "$1/data" -m immediate -w stop >/dev/null 2>&1 || true
}

# Run SQL and print unaligned, tuples-only output: tap_sql DIR PORT DB SQL
tap_sql() {
    "${AS_PG[@]}" "$BINDIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$1" -p "$2" -d "$3" -c "$4"
}
