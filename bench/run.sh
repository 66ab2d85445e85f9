#!/bin/bash
# pg_loyalty benchmark driver (`make bench`): what accrual costs a host's
# order insert.  Builds and installs the extension, starts a throwaway
# cluster, loads a point-of-sale schema (bench/setup.sql) and runs pgbench:
#
#   floor          the host's insert of one order with 3 lines, no trigger
#   attached       the same insert after loyalty.attach() (accrual at commit)
#   insert+intake  the same insert plus loyalty.record_order() in its transaction
#   intake         loyalty.record_order() alone for the same order
#
# in alternating rounds with identical settings, checks the ledger, and
# writes one table (tps, p50, p99, ratio to the floor) to bench/RESULTS.md.
# Works as root (the cluster runs as postgres) or as an ordinary user after
# `sudo make install`.  Parameters: see doc/benchmarks.md.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

BENCH_SECONDS=${BENCH_SECONDS:-30}
BENCH_ROUNDS=${BENCH_ROUNDS:-2}
BENCH_CLIENTS=${BENCH_CLIENTS:-2}
BENCH_JOBS=${BENCH_JOBS:-$BENCH_CLIENTS}
BENCH_CUSTOMERS=${BENCH_CUSTOMERS:-100000}
BENCH_PRODUCTS=${BENCH_PRODUCTS:-5000}
BENCH_PROTOCOL=${BENCH_PROTOCOL:-prepared}
BENCH_PORT=${BENCH_PORT:-56500}
BENCH_PROFILE=${BENCH_PROFILE:-1}
BENCH_PROFILE_SECONDS=${BENCH_PROFILE_SECONDS:-10}
BENCH_OPERATIONS=${BENCH_OPERATIONS:-"floor attached insert+intake intake"}
BENCH_OUTPUT=${BENCH_OUTPUT:-$REPO/bench/RESULTS.md}
BENCH_KEEP=${BENCH_KEEP:-0}

# Server settings of every run (appended to postgresql.conf; durability defaults kept).
SETTINGS="shared_buffers = 1GB
max_wal_size = 4GB
checkpoint_timeout = 30min"
[ -n "${BENCH_EXTRA_SETTINGS:-}" ] && SETTINGS="$SETTINGS
$BENCH_EXTRA_SETTINGS"

die() { echo "bench: $*" >&2; exit 1; }

for v in BENCH_SECONDS BENCH_ROUNDS BENCH_CLIENTS BENCH_JOBS BENCH_CUSTOMERS BENCH_PRODUCTS \
         BENCH_PORT BENCH_PROFILE_SECONDS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v must be a positive integer, not '${!v}'"
done
for op in $BENCH_OPERATIONS; do
    case $op in floor|attached|insert+intake|intake) ;; *) die "unknown operation '$op'";; esac
done
[[ " $BENCH_OPERATIONS " == *" floor "* ]] || die "BENCH_OPERATIONS must include floor"

bash test/deps.sh || exit 1

PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
PGBENCH=$BINDIR/pgbench
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench) || die "pgbench not found"

echo "== build and install"
make -s -j2 >/dev/null || die "build failed"
make -s install >/dev/null || die "'make install' failed; run it with sudo, then 'make bench' again"

# The cluster and everything the server user reads or writes live in WORK.
WORK=$(mktemp -d /tmp/pg_loyalty_bench.XXXXXX)
if [ "$(id -u)" -eq 0 ]; then
    RUN=(runuser -u postgres --)
    DBUSER=postgres
    chown postgres:postgres "$WORK"
else
    RUN=()
    DBUSER=$(id -un)
fi
PGDATA=$WORK/data
STARTED=0

# Stop the cluster and remove it, also when something failed.
cleanup() {
    local rc=$?
    if [ "$STARTED" -eq 1 ]; then
        "${RUN[@]}" "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ "$BENCH_KEEP" = 1 ]; then
        echo "bench: kept $WORK"
    else
        rm -rf "$WORK"
    fi
    [ $rc -ne 0 ] && echo "bench: failed (exit $rc)" >&2
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${RUN[@]}" mkdir -p "$WORK/logs" "$WORK/scripts"
cp bench/*.sql "$WORK/scripts/"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$WORK/scripts"

echo "== cluster in $WORK, port $BENCH_PORT"
"${RUN[@]}" "$BINDIR/initdb" -D "$PGDATA" -A trust -E UTF8 --locale=C --no-sync >"$WORK/initdb.log" 2>&1 \
    || { cat "$WORK/initdb.log"; die "initdb failed"; }
{
    echo "port = $BENCH_PORT"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$WORK'"
    echo "$SETTINGS"
} | "${RUN[@]}" tee -a "$PGDATA/postgresql.conf" >/dev/null

start_server() {
    "${RUN[@]}" "$BINDIR/pg_ctl" -D "$PGDATA" -l "$WORK/server.log" -w start "$@" >/dev/null \
        || { tail -20 "$WORK/server.log"; die "server did not start (is port $BENCH_PORT free?)"; }
    STARTED=1
}
start_server

PSQL=("${RUN[@]}" "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK" -p "$BENCH_PORT" -U "$DBUSER")
sql() { "${PSQL[@]}" -d bench "$@"; }

"${PSQL[@]}" -d postgres -c 'CREATE DATABASE bench'
echo "== setup: $BENCH_CUSTOMERS customers (all enrolled), $BENCH_PRODUCTS products"
T0=$(date +%s)
sql -v customers="$BENCH_CUSTOMERS" -v products="$BENCH_PRODUCTS" -f "$WORK/scripts/setup.sql" >/dev/null
echo "   setup took $(( $(date +%s) - T0 )) s"

ATTACHED=0
attach() { [ $ATTACHED -eq 1 ] || sql -f "$WORK/scripts/attach.sql" >/dev/null; ATTACHED=1; }
detach() { [ $ATTACHED -eq 0 ] || sql -c "SELECT loyalty.detach('shop.orders')" >/dev/null; ATTACHED=0; }

script_of() {
    case $1 in
        floor|attached) echo order_insert.sql ;;
        insert+intake) echo order_insert_record.sql ;;
        intake) echo record_order.sql ;;
    esac
}
source_of() {
    case $1 in
        floor) echo "" ;;
        attached) echo "shop.orders" ;;
        *) echo "pos" ;;
    esac
}
safe_name() { echo "${1//+/_}"; }

RUN_NO=0
declare -A TPS            # operation -> space-separated tps of its rounds
declare -A ROUND_TPS      # round,operation -> tps

# One timed pgbench run of an operation; its per-transaction latencies are
# appended to $WORK/lat_<op>.txt.  Args: operation, seconds, label.
pgbench_run() {
    local op=$1 seconds=$2 label=$3 script first last out tps txns rc
    RUN_NO=$((RUN_NO + 1))
    script=$(script_of "$op")
    if [ "$op" = attached ]; then attach; else detach; fi
    [ "${BENCH_NO_CHECKPOINT:-0}" = 1 ] || sql -c 'VACUUM ANALYZE' -c 'CHECKPOINT'
    first=$(sql -c "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM shop.order_seq")
    out=$WORK/logs/run$RUN_NO.out
    set +e
    (cd "$WORK/logs" && "${RUN[@]}" "$PGBENCH" -n -M "$BENCH_PROTOCOL" -c "$BENCH_CLIENTS" -j "$BENCH_JOBS" \
        -T "$seconds" -D customers="$BENCH_CUSTOMERS" -D products="$BENCH_PRODUCTS" \
        -f "$WORK/scripts/$script" -l --log-prefix="$WORK/logs/run$RUN_NO" \
        -h "$WORK" -p "$BENCH_PORT" -U "$DBUSER" bench) >"$out" 2>&1
    rc=$?
    set -e
    last=$(sql -c "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM shop.order_seq")
    local src
    src=$(source_of "$op")
    sql -c "INSERT INTO shop.bench_run VALUES ($RUN_NO, '$label', $first, $last, NULLIF('$src', ''))"
    if [ $rc -ne 0 ] || grep -qiE 'aborted|error' "$out"; then
        tail -30 "$out" >&2
        die "pgbench run $RUN_NO ($label) failed (exit $rc)"
    fi
    tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$out" | head -1)
    txns=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$out")
    [ -n "$tps" ] || { cat "$out" >&2; die "no tps in the output of run $RUN_NO"; }
    cat "$WORK/logs/run$RUN_NO".* | awk '{print $3}' >>"$WORK/lat_$(safe_name "$label").txt"
    printf '   run %2d  %-22s %9.1f tps  %7d transactions\n' "$RUN_NO" "$label" "$tps" "$txns"
    LAST_TPS=$tps
}

# p50 and p99 in ms (nearest rank) of a file of latencies in microseconds.
percentiles() {
    sort -n "$1" | awk '{a[NR] = $1}
        END { i = int(0.50 * NR + 0.999999); j = int(0.99 * NR + 0.999999);
              if (i < 1) i = 1; if (j < 1) j = 1;
              printf "%.2f %.2f", a[i] / 1000, a[j] / 1000 }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1}
    END { if (NR % 2) printf "%.1f", a[(NR + 1) / 2]; else printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

read -r -a OPS <<<"$BENCH_OPERATIONS"
echo "== $BENCH_ROUNDS rounds of ${BENCH_SECONDS} s per operation, -c $BENCH_CLIENTS -j $BENCH_JOBS -M $BENCH_PROTOCOL"
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    # Odd rounds run the operations in order, even rounds in reverse (ABBA),
    # so drift (table growth, caches) does not favour one operation.
    order=("${OPS[@]}")
    if [ $((round % 2)) -eq 0 ]; then
        order=()
        for ((k = ${#OPS[@]} - 1; k >= 0; k--)); do order+=("${OPS[k]}"); done
    fi
    for op in "${order[@]}"; do
        pgbench_run "$op" "$BENCH_SECONDS" "$op"
        TPS[$op]="${TPS[$op]:-} $LAST_TPS"
        ROUND_TPS[$round,$op]=$LAST_TPS
    done
done
detach

# ---------------------------------------------------------------- profile
PROFILE_TEXT=""
if [ "$BENCH_PROFILE" = 1 ] && [[ " $BENCH_OPERATIONS " == *" attached "* ]]; then
    echo "== profile: pg_stat_statements (track = all), floor and attached, ${BENCH_PROFILE_SECONDS} s warm-up + ${BENCH_PROFILE_SECONDS} s each (not in the table)"
    "${RUN[@]}" "$BINDIR/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    STARTED=0
    start_server -o "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c track_functions=all"
    sql -c 'CREATE EXTENSION pg_stat_statements'
    profile_of() {
        local op=$1
        # A warm-up run first: the restart emptied shared_buffers, and the
        # pages first changed after the CHECKPOINT write full-page images.
        pgbench_run "$op" "$BENCH_PROFILE_SECONDS" "warm-up-$op" >/dev/null
        sql -c 'SELECT pg_stat_statements_reset()' -c 'SELECT pg_stat_reset()' >/dev/null
        BENCH_NO_CHECKPOINT=1 pgbench_run "$op" "$BENCH_PROFILE_SECONDS" "profile-$op" >/dev/null
        sql -P footer=off -F ' | ' >"$WORK/profile_$op.txt" <<'EOF'
SELECT round((100 * total_exec_time / sum(total_exec_time) FILTER (WHERE toplevel) OVER ())::numeric, 1) || '%',
       CASE WHEN toplevel THEN 'top' ELSE 'nested' END,
       calls,
       round((total_exec_time / calls)::numeric * 1000, 1) || ' us',
       round(wal_bytes / calls) || ' B',
       round(wal_fpi::numeric / calls, 2),
       regexp_replace(left(regexp_replace(query, '\s+', ' ', 'g'), 150), '\|', '/', 'g')
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
   AND query !~* '^(VACUUM|CHECKPOINT|SELECT pg_stat|SELECT CASE WHEN is_called|INSERT INTO shop.bench_run)'
   AND calls > 10
 ORDER BY total_exec_time DESC LIMIT 12;
EOF
    }
    profile_of floor
    profile_of attached
    detach
    PROF_FLOOR=$(cat "$WORK/profile_floor.txt")
    PROF_ATTACHED=$(cat "$WORK/profile_attached.txt")
    PROFILE_TEXT="share of execution time | level | calls | mean time | WAL per call | full-page images per call | statement
--- | --- | ---: | ---: | ---: | ---: | ---
$PROF_ATTACHED"
    PROFILE_FLOOR_TEXT="share of execution time | level | calls | mean time | WAL per call | full-page images per call | statement
--- | --- | ---: | ---: | ---: | ---: | ---
$PROF_FLOOR"
fi

# ------------------------------------------------------------ correctness
echo "== correctness"
CHECK=$(sql -c 'SELECT count(*) FROM loyalty.check_ledger()')
VERIFY=$(sql -F ' | ' <<'EOF'
WITH e AS (
    SELECT l.source, l.document::bigint AS doc FROM loyalty.ledger l WHERE l.kind = 'earn'
), r AS (
    SELECT r.*, (SELECT count(*) FROM shop.orders o
                  WHERE o.order_id > r.first_id AND o.order_id <= r.last_id) AS orders,
           (SELECT count(*) FROM e WHERE e.doc > r.first_id AND e.doc <= r.last_id) AS earn
      FROM shop.bench_run r
)
SELECT run_no, operation, last_id - first_id AS documents, orders, earn,
       CASE WHEN source IS NULL THEN earn = 0
            WHEN operation LIKE '%intake' THEN earn = last_id - first_id
            ELSE earn = orders AND orders = last_id - first_id END AS ok
  FROM r ORDER BY run_no;
EOF
)
TOTALS=$(sql -F ' | ' <<'EOF'
SELECT (SELECT coalesce(sum(last_id - first_id), 0) FROM shop.bench_run WHERE source = 'shop.orders'),
       (SELECT count(*) FROM loyalty.ledger WHERE kind = 'earn' AND source = 'shop.orders'),
       (SELECT count(*) FROM loyalty.ledger WHERE kind = 'earn'),
       (SELECT count(*) FROM loyalty.member_order),
       (SELECT count(*) FROM shop.orders);
EOF
)
IFS='|' read -r ATT_ORDERS ATT_EARN ALL_EARN MEMBER_ORDERS HOST_ORDERS <<<"${TOTALS// /}"
BAD_RUNS=$(awk -F' [|] ' '$6 != "t"' <<<"$VERIFY" | wc -l)
echo "   check_ledger(): $CHECK violations"
echo "   attached orders of members: $ATT_ORDERS, earn entries from shop.orders: $ATT_EARN"
echo "   runs whose ledger does not match: $BAD_RUNS"
CORRECT=yes
{ [ "$CHECK" -eq 0 ] && [ "$ATT_ORDERS" -eq "$ATT_EARN" ] && [ "$BAD_RUNS" -eq 0 ]; } || CORRECT=no

# ---------------------------------------------------------------- results
FLOOR_TPS=$(median <<<"${TPS[floor]}")
TABLE="operation | tps | p50 ms | p99 ms | ratio to floor
--- | ---: | ---: | ---: | ---:"
for op in "${OPS[@]}"; do
    t=$(median <<<"${TPS[$op]}")
    read -r p50 p99 <<<"$(percentiles "$WORK/lat_$(safe_name "$op").txt")"
    ratio=$(awk -v a="$t" -v b="$FLOOR_TPS" 'BEGIN { printf "%.2f", a / b }')
    TABLE="$TABLE
$op | $t | $p50 | $p99 | $ratio"
done
ROUNDS_TABLE="round | $(echo "${OPS[*]}" | sed 's/ / | /g')
--- |$(for _ in "${OPS[@]}"; do printf ' ---: |'; done | sed 's/|$//')"
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    line="$round"
    for op in "${OPS[@]}"; do line="$line | $(printf '%.1f' "${ROUND_TPS[$round,$op]}")"; done
    ROUNDS_TABLE="$ROUNDS_TABLE
$line"
done

echo
echo "$TABLE" | column -t -s '|' -o '|'
echo

# ---------------------------------------------------------------- machine
PG_VERSION=$(sql -c 'SELECT version()')
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
DISK=$(df -hT "$WORK" | awk 'NR == 2 { print $2 " filesystem on " $1 }')
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$REPO" diff --quiet HEAD -- src 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes in src/)"
SERVER_SETTINGS=$(sql -F ' = ' -c "SELECT name, setting || coalesce(unit, '') FROM pg_settings
    WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'fsync', 'synchronous_commit',
                   'wal_level', 'full_page_writes', 'work_mem', 'jit', 'autovacuum') ORDER BY name")

cat >"$BENCH_OUTPUT" <<EOF
# pg_loyalty benchmark results

Written by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT.
What the runs measure and how to change them: [doc/benchmarks.md](../doc/benchmarks.md).

## Result

One order of a member with 3 lines per transaction; pgbench \`-n -M $BENCH_PROTOCOL -c $BENCH_CLIENTS -j $BENCH_JOBS -T $BENCH_SECONDS\`,
$BENCH_ROUNDS rounds per operation (tps: median of the rounds; latency: percentiles of every transaction of all rounds).

$TABLE

- **floor**: the host's bare insert (header + 3 lines), no trigger.
- **attached**: the same insert after \`loyalty.attach()\`; accrual runs in the deferred trigger at commit.
- **insert+intake**: the same insert plus \`loyalty.record_order()\` for it in the same transaction (table not attached).
- **intake**: \`loyalty.record_order()\` alone (no host insert).

tps per round (odd rounds ran the operations in the order above, even rounds in reverse):

$ROUNDS_TABLE

## Correctness after the runs

- \`SELECT count(*) FROM loyalty.check_ledger()\`: **$CHECK**
- orders inserted while attached (all customers are members): **$ATT_ORDERS**; \`earn\` entries with source \`shop.orders\`: **$ATT_EARN**
- all \`earn\` entries: $ALL_EARN; \`loyalty.member_order\` rows: $MEMBER_ORDERS; host orders: $HOST_ORDERS
- every run posted exactly one \`earn\` entry per order it accrued and none for the floor: **$CORRECT**

run | operation | documents | host orders | earn entries | ok
---: | --- | ---: | ---: | ---: | ---
$VERIFY
EOF

if [ -n "$PROFILE_TEXT" ]; then
    cat >>"$BENCH_OUTPUT" <<EOF

## Where the time goes

A separate ${BENCH_PROFILE_SECONDS} s run of the floor and of the attached insert, after a restart
with \`pg_stat_statements\` (\`track = all\`, \`track_utility = on\`) and a ${BENCH_PROFILE_SECONDS} s warm-up run of
the same operation (no \`CHECKPOINT\` in between); not part of the table above.
The deferred trigger fires at transaction end, after the \`COMMIT\` statement itself has been
counted, so pg_stat_statements lists the statements the trigger runs through SPI as top level
(the member lookup, the lines query and the one statement that writes order, lines, ledger entry,
lot and balance). Shares are of the execution time of the statements listed; client round trips,
parsing and the WAL flush at commit are not in them. Full-page images: after a checkpoint the
first change to each page writes the whole page to WAL; the loyalty indexes that lead with
\`member_id\` (and \`loyalty.balance\`) are changed at random pages, the host's indexes only at
their right edge, so accrual's WAL per order is higher for a while after every checkpoint.

attached:

$PROFILE_TEXT

floor:

$PROFILE_FLOOR_TEXT
EOF
fi

cat >>"$BENCH_OUTPUT" <<EOF

## Machine and settings

- CPU: $CPU, $(nproc) cores (nproc); memory $MEM
- data directory: $DISK
- $PG_VERSION
- cluster: fresh \`initdb\` per benchmark; postgresql.conf defaults plus:
\`\`\`
$SETTINGS
\`\`\`
- the settings as the server reported them:
\`\`\`
$SERVER_SETTINGS
\`\`\`
- data: $BENCH_CUSTOMERS customers (all enrolled in program \`bench\`), $BENCH_PRODUCTS products in 50 groups;
  rules: 1% of all goods (percent), 5 points per unit of G7 (per_quantity), G13 excluded, 1 point per order (per_order)
- pgbench and the server share the machine; \`VACUUM ANALYZE\` and \`CHECKPOINT\` before every run

## Reproduce

\`\`\`
BENCH_SECONDS=$BENCH_SECONDS BENCH_ROUNDS=$BENCH_ROUNDS BENCH_CLIENTS=$BENCH_CLIENTS BENCH_CUSTOMERS=$BENCH_CUSTOMERS make bench
\`\`\`
as root (the cluster runs as \`postgres\`) or as a user after \`sudo make install\`.
EOF

echo "written to ${BENCH_OUTPUT#$REPO/}"
[ "$CORRECT" = yes ] || die "the ledger check failed (see ${BENCH_OUTPUT#$REPO/})"
