#!/bin/bash
# Build, install and run every suite of pg_loyalty (pg_regress, isolation,
# pgTAP), each on its own throwaway cluster, then print one summary line:
#   N passed, N failed[, N skipped]
# Works as root on a fresh Debian 12 machine (clusters run as postgres) and
# as an ordinary user after `sudo make install`.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

bash test/deps.sh || exit 1

PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)

# Build and install as the calling user.
make -s -j2 >/dev/null || { echo "pg_loyalty: build failed" >&2; exit 1; }
if ! make -s install >/dev/null; then
    echo "pg_loyalty: 'make install' failed; run it with sudo, then 'make test' again" >&2
    exit 1
fi

# A private copy of the tree, owned by whoever runs the clusters.
if [ "$(id -u)" -eq 0 ]; then
    WORK=$(mktemp -d /tmp/pg_loyalty_test.XXXXXX)
    RUN=(runuser -u postgres --)
else
    WORK="$REPO/.test"
    rm -rf "$WORK"
    mkdir -p "$WORK"
    RUN=()
fi
rsync -a --exclude .git --exclude .test --exclude .demo --exclude tmp_check \
      --exclude tmp_check_iso --exclude results --exclude output_iso \
      --exclude '*.o' --exclude '*.bc' --exclude '*.so' --exclude test/fuzz/work \
      --exclude test/fuzz/obj "$REPO/" "$WORK/"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$WORK"

RESULTS="$REPO/test/results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

PASSED=0
FAILED=0
SKIPPED=0

# Count pg_regress-style "... ok" / "... FAILED" lines of a log into the totals.
count_regress_log() {
    local log=$1 ok bad
    ok=$(grep -cE '\.\.\. ok|^ok [0-9]+' "$log")
    bad=$(grep -cE '\.\.\. FAILED|^not ok [0-9]+|\.\.\. failed' "$log")
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + bad))
    echo "$ok passed, $bad failed"
}

# Run one pg_regress-driven suite through its make target.
run_make_suite() {
    local name=$1 target=$2 diffs=$3 log="$RESULTS/$1.log" rc
    echo "== $name"
    (cd "$WORK" && "${RUN[@]}" make -s "$target") >"$log" 2>&1
    rc=$?
    grep -E '\.\.\. |^(not )?ok [0-9]+' "$log" | sed 's/^/   /'
    echo -n "   $name: "
    count_regress_log "$log"
    if [ $rc -ne 0 ] && ! grep -qE '\.\.\. FAILED|^not ok' "$log"; then
        echo "   $name did not run to the end (exit $rc):"
        tail -20 "$log" | sed 's/^/   | /'
        FAILED=$((FAILED + 1))
    fi
    if [ -f "$WORK/$diffs" ]; then
        cp "$WORK/$diffs" "$RESULTS/$name.diffs"
        echo "   differences: test/results/$name.diffs"
        head -c 20000 "$WORK/$diffs"
    fi
}

# Run the pgTAP suites with pg_prove against a throwaway cluster.
run_pgtap() {
    local dir="$WORK/tmp_check_tap" port=$((56000 + $$ % 1000)) log="$RESULTS/pgtap.log" rc ok bad skip
    echo "== pgtap"
    rm -rf "$dir"
    "${RUN[@]}" mkdir -p "$dir"
    "${RUN[@]}" "$BINDIR/initdb" -D "$dir/data" -A trust --no-sync -E UTF8 --locale=C >"$dir.initdb.log" 2>&1 \
        || { echo "   initdb failed"; cat "$dir.initdb.log"; FAILED=$((FAILED + 1)); return; }
    {
        cat "$WORK/test/pgtap.conf"
        echo "port = $port"
        echo "unix_socket_directories = '$dir'"
        echo "fsync = off"
    } | "${RUN[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null
    if ! "${RUN[@]}" "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null; then
        echo "   server did not start"; cat "$dir/server.log"; FAILED=$((FAILED + 1)); return
    fi
    "${RUN[@]}" "$BINDIR/psql" -X -q -h "$dir" -p "$port" -d postgres \
        -c 'CREATE DATABASE pgtap_regression' >/dev/null
    "${RUN[@]}" "$BINDIR/psql" -X -q -h "$dir" -p "$port" -d pgtap_regression \
        -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION pg_loyalty' >/dev/null
    (cd "$WORK" && "${RUN[@]}" pg_prove --verbose -h "$dir" -p "$port" -d pgtap_regression \
        test/pgtap/*.sql) >"$log" 2>&1
    rc=$?
    "${RUN[@]}" "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ok=$(grep -cE '^ *ok [0-9]+' "$log")
    skip=$(grep -cE '^ *ok [0-9]+.*# (skip|SKIP)' "$log")
    bad=$(grep -cE '^ *not ok [0-9]+' "$log")
    grep -E '^test/pgtap/|^ *not ok' "$log" | sed 's/^/   /'
    if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "   pg_prove failed (exit $rc):"
        tail -30 "$log" | sed 's/^/   | /'
        bad=1
    elif [ "$bad" -gt 0 ]; then
        grep -B2 -A8 -E '^ *not ok' "$log" | head -100 | sed 's/^/   | /'
    fi
    PASSED=$((PASSED + ok - skip))
    SKIPPED=$((SKIPPED + skip))
    FAILED=$((FAILED + bad))
    echo "   pgtap: $((ok - skip)) passed, $bad failed, $skip skipped"
}

# Run the cluster-level TAP scripts (dump/restore, standby, ...) in test/tap/.
run_tap_scripts() {
    local script name log rc ok bad
    echo "== cluster"
    for script in "$WORK"/test/tap/*.sh; do
        [ "$(basename "$script")" = "lib.sh" ] && continue
        name=$(basename "$script" .sh)
        log="$RESULTS/cluster-$name.log"
        (cd "$WORK" && PG_CONFIG="$PG_CONFIG" bash "$script") >"$log" 2>&1
        rc=$?
        ok=$(grep -cE '^ok [0-9]+' "$log")
        bad=$(grep -cE '^not ok [0-9]+' "$log")
        if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then
            bad=1
        fi
        PASSED=$((PASSED + ok))
        FAILED=$((FAILED + bad))
        echo "   test/tap/$name.sh: $ok passed, $bad failed"
        if [ "$bad" -gt 0 ]; then
            grep -vE '^ok [0-9]+' "$log" | head -150 | sed 's/^/   | /'
            echo "   | (whole log: test/results/cluster-$name.log)"
        fi
    done
}

START=$(date +%s)
run_make_suite regress check-regress regression.diffs
run_make_suite isolation check-isolation output_iso/regression.diffs
run_pgtap
run_tap_scripts

[ "$(id -u)" -eq 0 ] && rm -rf "$WORK"
echo "== all suites in $(( $(date +%s) - START )) s"
if [ "$SKIPPED" -gt 0 ]; then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
    echo "$PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
