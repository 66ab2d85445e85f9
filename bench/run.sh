#!/bin/bash
# pg_loyalty benchmark driver (`make bench`): how fast pg_loyalty is on this
# machine.  Builds and installs the extension, starts a throwaway cluster,
# generates a retail chain with two years of history (bench/setup.sql,
# bench/generate.sql, bench/extras.sql), runs pgbench for each operation in
# alternating (ABBA) rounds, times the expiry job and the report views, checks
# the ledger, and writes bench/RESULTS.md and bench/SCALE.md.
# Works as root (the cluster runs as postgres) or as an ordinary user after
# `sudo make install`.  Parameters: see doc/benchmarks.md.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

if [ "${BENCH_SCALE:-default}" = full ]; then
    BENCH_MEMBERS=${BENCH_MEMBERS:-1000000}
    BENCH_ORDERS=${BENCH_ORDERS:-10000000}
fi
BENCH_MEMBERS=${BENCH_MEMBERS:-${BENCH_CUSTOMERS:-100000}}
BENCH_ORDERS=${BENCH_ORDERS:-1000000}
BENCH_SMALL_MEMBERS=${BENCH_SMALL_MEMBERS:-10000}   # second database for the scale runs (0: none)
BENCH_LARGE_MEMBERS=${BENCH_LARGE_MEMBERS:-0}       # third database, e.g. 1000000 (0: none)
BENCH_SECONDS=${BENCH_SECONDS:-30}
BENCH_ROUNDS=${BENCH_ROUNDS:-2}
BENCH_CLIENTS=${BENCH_CLIENTS:-2}
BENCH_JOBS=${BENCH_JOBS:-$BENCH_CLIENTS}
BENCH_PRODUCTS=${BENCH_PRODUCTS:-5000}
BENCH_BRANCHES=${BENCH_BRANCHES:-20}
BENCH_BACKLOG_DAYS=${BENCH_BACKLOG_DAYS:-30}
BENCH_WALLETS=${BENCH_WALLETS:-10000}
BENCH_VOUCHERS=${BENCH_VOUCHERS:-$((1500 * ${BENCH_SECONDS:-30} * ${BENCH_ROUNDS:-2}))}  # enough for 1,500 tps
BENCH_REPORT_REPEATS=${BENCH_REPORT_REPEATS:-5}
BENCH_PROTOCOL=${BENCH_PROTOCOL:-prepared}
BENCH_PORT=${BENCH_PORT:-56500}
BENCH_PROFILE=${BENCH_PROFILE:-1}
BENCH_PROFILE_SECONDS=${BENCH_PROFILE_SECONDS:-10}
BENCH_WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-60}   # unmeasured run before each *-warm run
DEFAULT_OPS="floor attached campaign campaign+discounts rules-1 rules-50 return redeem wallet voucher"
[ "$BENCH_SMALL_MEMBERS" -gt 0 ] 2>/dev/null && DEFAULT_OPS="$DEFAULT_OPS attached-small"
[ "$BENCH_LARGE_MEMBERS" -gt 0 ] 2>/dev/null && DEFAULT_OPS="$DEFAULT_OPS attached-large"
BENCH_OPERATIONS=${BENCH_OPERATIONS:-$DEFAULT_OPS}
BENCH_OUTPUT=${BENCH_OUTPUT:-$REPO/bench/RESULTS.md}
BENCH_SCALE_OUTPUT=${BENCH_SCALE_OUTPUT:-$REPO/bench/SCALE.md}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_NOTE=${BENCH_NOTE:-}

# Server settings of every run (appended to postgresql.conf; durability defaults kept).
SETTINGS="shared_buffers = 1GB
max_wal_size = 4GB
checkpoint_timeout = 30min"
[ -n "${BENCH_EXTRA_SETTINGS:-}" ] && SETTINGS="$SETTINGS
$BENCH_EXTRA_SETTINGS"

die() { echo "bench: $*" >&2; exit 1; }

for v in BENCH_SECONDS BENCH_ROUNDS BENCH_CLIENTS BENCH_JOBS BENCH_MEMBERS BENCH_ORDERS BENCH_PRODUCTS \
         BENCH_BRANCHES BENCH_BACKLOG_DAYS BENCH_WALLETS BENCH_VOUCHERS BENCH_REPORT_REPEATS \
         BENCH_PORT BENCH_PROFILE_SECONDS BENCH_WARMUP_SECONDS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v must be a positive integer, not '${!v}'"
done
for v in BENCH_SMALL_MEMBERS BENCH_LARGE_MEMBERS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, not '${!v}'"
done

# What each operation runs: script | database | shop.orders attached | campaign running |
# rule set (base: the 4 rules of setup.sql, one: 1% only, all: 50) | the operation it is compared to.
op_info() {
    case $1 in
        floor)              echo "order_insert.sql|bench|0|0|base|" ;;
        attached)           echo "order_insert.sql|bench|1|0|base|floor" ;;
        campaign)           echo "order_insert.sql|bench|1|1|base|attached" ;;
        campaign+discounts) echo "order_insert_discount.sql|bench|1|1|base|attached" ;;
        rules-1)            echo "order_insert.sql|bench|1|0|one|attached" ;;
        rules-50)           echo "order_insert.sql|bench|1|0|all|rules-1" ;;
        return)             echo "return.sql|bench|0|0|base|attached" ;;
        redeem)             echo "redeem.sql|bench|0|0|base|attached" ;;
        wallet)             echo "wallet_spend.sql|bench|0|0|base|attached" ;;
        voucher)            echo "voucher_redeem.sql|bench|0|0|base|attached" ;;
        insert+intake)      echo "order_insert_record.sql|bench|0|0|base|floor" ;;
        intake)             echo "record_order.sql|bench|0|0|base|floor" ;;
        attached-small)     echo "order_insert.sql|bench_small|1|0|base|attached" ;;
        attached-large)     echo "order_insert.sql|bench_large|1|0|base|attached" ;;
        floor-warm)         echo "order_insert.sql|bench|0|0|base|" ;;
        attached-warm)      echo "order_insert.sql|bench|1|0|base|floor-warm" ;;
        *) return 1 ;;
    esac
}
for op in $BENCH_OPERATIONS; do
    op_info "$op" >/dev/null || die "unknown operation '$op'"
done

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
sqldb() { local db=$1; shift; "${PSQL[@]}" -d "$db" "$@"; }
sql() { sqldb bench "$@"; }

declare -A DB_MEMBERS DB_ORDERS
# Creates and fills one database: schema, members, history, campaign and rules.
make_db() {
    local db=$1 members=$2 orders=$3 t0 t1
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE $db"
    echo "== $db: $members members (10% organisations), $orders orders over two years, $BENCH_PRODUCTS products, $BENCH_BRANCHES branches"
    t0=$(date +%s)
    sqldb "$db" -v customers="$members" -v products="$BENCH_PRODUCTS" -f "$WORK/scripts/setup.sql" >/dev/null
    sqldb "$db" -v customers="$members" -v products="$BENCH_PRODUCTS" -v orders="$orders" \
        -v branches="$BENCH_BRANCHES" -v backlog="$BENCH_BACKLOG_DAYS" -f "$WORK/scripts/generate.sql" >/dev/null
    sqldb "$db" -f "$WORK/scripts/extras.sql" >/dev/null
    t1=$(date +%s)
    sqldb "$db" -c 'VACUUM ANALYZE'
    echo "   generated in $((t1 - t0)) s, VACUUM ANALYZE $(( $(date +%s) - t1 )) s"
    DB_MEMBERS[$db]=$members
    DB_ORDERS[$db]=$orders
}
make_db bench "$BENCH_MEMBERS" "$BENCH_ORDERS"
GEN_SUMMARY=$(sql -F ' | ' -c 'SELECT orders, lines, returned, redeemed, expired, backlog_lots FROM shop.gen_summary')
IFS='|' read -r G_ORDERS G_LINES G_RETURNED G_REDEEMED G_EXPIRED G_BACKLOG <<<"${GEN_SUMMARY// /}"

echo "== check_ledger() after loading"
T0=$(date +%s%N)
if [ "$BENCH_ORDERS" -le "${BENCH_FULL_CHECK_MAX_ORDERS:-2000000}" ]; then
    LOAD_CHECK_WHAT="whole database"
    LOAD_CHECK=$(sql -c 'SELECT count(*) FROM loyalty.check_ledger()')
else
    # check_ledger() reads every table whole (minutes at 10M orders): check
    # its main invariants for a 1% sample of members instead.
    LOAD_CHECK_WHAT="1% sample of members: balances, lots, checksums, orders"
    LOAD_CHECK=$(sql <<'EOF'
CREATE TEMP TABLE s AS SELECT member_id, program_id, points FROM loyalty.balance TABLESAMPLE SYSTEM (1);
SELECT (SELECT count(*) FROM s
          LEFT JOIN LATERAL (SELECT loyalty.sum(l.amount) AS t FROM loyalty.ledger l
                              WHERE l.member_id = s.member_id AND l.program_id = s.program_id) e ON true
          LEFT JOIN LATERAL (SELECT loyalty.sum(o.remaining) AS t FROM loyalty.lot o
                              WHERE o.member_id = s.member_id AND o.program_id = s.program_id) o ON true
         WHERE s.points OPERATOR(loyalty.<>) coalesce(e.t, 0)
            OR coalesce(o.t, 0) OPERATOR(loyalty.<>) loyalty.greatest_points(s.points, 0))
     + (SELECT count(*) FROM s JOIN loyalty.ledger l USING (member_id)
         WHERE l.checksum <> loyalty.entry_checksum(l))
     + (SELECT count(*) FROM s JOIN loyalty.member_order o USING (member_id)
          JOIN loyalty.ledger l ON l.member_id = o.member_id AND l.entry_id = o.entry_id
         WHERE l.amount OPERATOR(loyalty.<>) o.points);
EOF
)
fi
LOAD_CHECK_S=$(awk -v n=$(( $(date +%s%N) - T0 )) 'BEGIN { printf "%.1f", n / 1e9 }')
echo "   $LOAD_CHECK violations ($LOAD_CHECK_WHAT, $LOAD_CHECK_S s)"
[ "$LOAD_CHECK" -eq 0 ] || die "the generated history violates check_ledger(): $(sql -c 'SELECT * FROM loyalty.check_ledger() LIMIT 5')"

# Table and index sizes of the generated data, for SCALE.md.
SIZES=$(sql -F ' | ' <<'EOF'
SELECT n.nspname || '.' || c.relname, c.reltuples::bigint,
       pg_table_size(c.oid), pg_indexes_size(c.oid),
       CASE WHEN c.relname IN ('member', 'member_key', 'balance', 'card', 'customers', 'gen_member')
            THEN 'members'
            WHEN c.relname IN ('products', 'program', 'rule', 'campaign', 'campaign_change', 'campaign_budget_slot',
                               'discount_policy', 'audit_log', 'bench_run')
            THEN 'fixed' ELSE 'orders' END
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('loyalty', 'shop') AND c.relkind = 'r'
   AND pg_total_relation_size(c.oid) > 65536 AND c.relname NOT LIKE 'gen\_%'
 ORDER BY pg_total_relation_size(c.oid) DESC;
EOF
)
DB_SIZE=$(sql -c "SELECT pg_database_size('bench')")

[ "$BENCH_SMALL_MEMBERS" -gt 0 ] && [[ " $BENCH_OPERATIONS " == *" attached-small "* ]] &&
    make_db bench_small "$BENCH_SMALL_MEMBERS" $((BENCH_SMALL_MEMBERS * BENCH_ORDERS / BENCH_MEMBERS))
[ "$BENCH_LARGE_MEMBERS" -gt 0 ] && [[ " $BENCH_OPERATIONS " == *" attached-large "* ]] &&
    make_db bench_large "$BENCH_LARGE_MEMBERS" $((BENCH_LARGE_MEMBERS * BENCH_ORDERS / BENCH_MEMBERS))

# ------------------------------------------------- optional modules' setup
# Operations of modules that may not be installed are skipped, with a reason.
declare -A SKIP
proc_exists() { [ "$(sql -c "SELECT to_regprocedure('$1') IS NOT NULL")" = t ]; }
if [[ " $BENCH_OPERATIONS " == *" wallet "* ]]; then
    if ! proc_exists 'loyalty.wallet_spend(text,text,text,numeric,text)'; then
        SKIP[wallet]="skipped (not installed)"
    elif ! sql -c "SELECT count(*) FROM generate_series(1, $BENCH_WALLETS) g,
                     LATERAL loyalty.wallet_top_up('bench', g::text, 1000000000, 'BENCH-TOPUP-' || g) t" \
                 >/dev/null 2>"$WORK/wallet_setup.err"; then
        SKIP[wallet]="skipped (setup failed: $(head -1 "$WORK/wallet_setup.err" | cut -c1-120))"
    fi
fi
if [[ " $BENCH_OPERATIONS " == *" voucher "* ]]; then
    if ! proc_exists 'loyalty.voucher_redeem(text,text,text,numeric,jsonb,text,text)' ||
       ! proc_exists 'loyalty.voucher_issue(text,text,integer,text,text,text)'; then
        SKIP[voucher]="skipped (not installed)"
    elif ! sql >/dev/null 2>"$WORK/voucher_setup.err" <<EOF
INSERT INTO loyalty.voucher_type (program_id, code, name, kind, face_value)
SELECT program_id, 'BENCH100K', 'Voucher 100,000 VND', 'voucher', 100000 FROM loyalty.program WHERE code = 'bench';
CREATE TABLE shop.bench_voucher AS
SELECT row_number() OVER () AS n, c::text AS code FROM loyalty.voucher_issue('bench', 'BENCH100K', $BENCH_VOUCHERS) c;
CREATE UNIQUE INDEX ON shop.bench_voucher (n);
CREATE SEQUENCE shop.voucher_pick;
EOF
    then
        SKIP[voucher]="skipped (setup failed: $(head -1 "$WORK/voucher_setup.err" | cut -c1-120))"
    fi
fi

# --------------------------------------------------------------- state
declare -A ATTACHED CAMPAIGN RULES
set_state() {
    local db=$1 att=$2 camp=$3 rules=$4
    if [ "${ATTACHED[$db]:-0}" != "$att" ]; then
        if [ "$att" = 1 ]; then sqldb "$db" -f "$WORK/scripts/attach.sql" >/dev/null
        else sqldb "$db" -c "SELECT loyalty.detach('shop.orders')" >/dev/null; fi
        ATTACHED[$db]=$att
    fi
    if [ "${CAMPAIGN[$db]:-0}" != "$camp" ]; then
        if [ "$camp" = 1 ]; then sqldb "$db" -c "SELECT loyalty.start_campaign('bench-promo')" >/dev/null
        else sqldb "$db" -c "SELECT loyalty.pause_campaign('bench-promo')" >/dev/null; fi
        CAMPAIGN[$db]=$camp
    fi
    if [ "${RULES[$db]:-base}" != "$rules" ]; then
        sqldb "$db" -c "UPDATE loyalty.rule SET active = CASE '$rules'
                WHEN 'all' THEN true
                WHEN 'one' THEN kind = 'percent' AND item_group IS NULL
                ELSE name NOT LIKE 'extra:%' END
             WHERE campaign_id IS NULL" >/dev/null
        RULES[$db]=$rules
    fi
}
safe_name() { echo "${1//+/_}"; }

RUN_NO=0
declare -A TPS ROUND_TPS
declare -A RUN_DB_OF

# One timed pgbench run of an operation; its per-transaction latencies are
# appended to $WORK/lat_<label>.txt.  Args: operation, seconds, label.
pgbench_run() {
    local op=$1 seconds=$2 label=$3 script db att camp rules base first last out tps txns rc src
    IFS='|' read -r script db att camp rules base <<<"$(op_info "$op")"
    RUN_NO=$((RUN_NO + 1))
    set_state "$db" "$att" "$camp" "$rules"
    [ "${BENCH_NO_CHECKPOINT:-0}" = 1 ] || sqldb "$db" -c 'VACUUM ANALYZE' -c 'CHECKPOINT'
    if [[ $op == *-warm ]]; then
        # Steady state: an unmeasured run first, so the pages the operation
        # changes have had their first change (and full-page image) since the
        # checkpoint; then the measured run, without a checkpoint in between.
        (cd "$WORK/logs" && "${RUN[@]}" "$PGBENCH" -n -M "$BENCH_PROTOCOL" -c "$BENCH_CLIENTS" -j "$BENCH_JOBS" \
            -T "$BENCH_WARMUP_SECONDS" -D customers="${DB_MEMBERS[$db]}" -D products="$BENCH_PRODUCTS" \
            -D orders="${DB_ORDERS[$db]}" -D wallets="$BENCH_WALLETS" -f "$WORK/scripts/$script" \
            -h "$WORK" -p "$BENCH_PORT" -U "$DBUSER" "$db") >"$WORK/logs/warmup$RUN_NO.out" 2>&1 \
            || { tail -20 "$WORK/logs/warmup$RUN_NO.out" >&2; die "warm-up of run $RUN_NO ($label) failed"; }
    fi
    first=$(sqldb "$db" -c "SELECT last_value FROM shop.order_seq")
    out=$WORK/logs/run$RUN_NO.out
    set +e
    (cd "$WORK/logs" && "${RUN[@]}" "$PGBENCH" -n -M "$BENCH_PROTOCOL" -c "$BENCH_CLIENTS" -j "$BENCH_JOBS" \
        -T "$seconds" -D customers="${DB_MEMBERS[$db]}" -D products="$BENCH_PRODUCTS" \
        -D orders="${DB_ORDERS[$db]}" -D wallets="$BENCH_WALLETS" \
        -f "$WORK/scripts/$script" -l --log-prefix="$WORK/logs/run$RUN_NO" \
        -h "$WORK" -p "$BENCH_PORT" -U "$DBUSER" "$db") >"$out" 2>&1
    rc=$?
    set -e
    last=$(sqldb "$db" -c "SELECT last_value FROM shop.order_seq")
    src=""
    [ "$att" = 1 ] && src=shop.orders
    [ "$script" = order_insert_record.sql ] || [ "$script" = record_order.sql ] && src=pos
    sqldb "$db" -c "INSERT INTO shop.bench_run VALUES ($RUN_NO, '$label', $first, $last, NULLIF('$src', ''))"
    if [ $rc -ne 0 ] || grep -qiE 'aborted|error' "$out"; then
        tail -30 "$out" >&2
        die "pgbench run $RUN_NO ($label) failed (exit $rc)"
    fi
    if [ "$op" = voucher ] && [ "$(sqldb "$db" -c "SELECT last_value > (SELECT count(*) FROM shop.bench_voucher) FROM shop.voucher_pick")" = t ]; then
        die "the voucher run used up the $BENCH_VOUCHERS vouchers issued; set BENCH_VOUCHERS higher"
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

OPS=()
for op in $BENCH_OPERATIONS; do
    if [ -n "${SKIP[$op]:-}" ]; then echo "   $op: ${SKIP[$op]}"; else OPS+=("$op"); fi
done
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
for db in "${!ATTACHED[@]}"; do set_state "$db" 0 0 base; done

# ------------------------------------------------------------- expiry job
echo "== expiry job: loyalty.expire_points(5000) until done"
EXP_MEMBERS=0; EXP_LOTS=0; EXP_CALLS=0
sql -c 'CHECKPOINT'
T0=$(date +%s%N)
while :; do
    read -r m l <<<"$(sql -F ' ' -c 'SELECT members, lots FROM loyalty.expire_points(5000)')"
    EXP_CALLS=$((EXP_CALLS + 1))
    [ "$m" -eq 0 ] && break
    EXP_MEMBERS=$((EXP_MEMBERS + m)); EXP_LOTS=$((EXP_LOTS + l))
done
EXP_S=$(awk -v n=$(( $(date +%s%N) - T0 )) 'BEGIN { printf "%.2f", n / 1e9 }')
EXP_RATE=$(awk -v l="$EXP_LOTS" -v s="$EXP_S" 'BEGIN { printf "%.0f", l / s }')
EXP_MRATE=$(awk -v l="$EXP_MEMBERS" -v s="$EXP_S" 'BEGIN { printf "%.0f", l / s }')
echo "   $EXP_LOTS lots of $EXP_MEMBERS members in $EXP_S s ($EXP_CALLS calls): $EXP_RATE lots/s"

# ---------------------------------------------------------------- reports
echo "== report views ($BENCH_REPORT_REPEATS timed reads each, median)"
sql <<'EOF'
CREATE FUNCTION shop.bench_time(q text, n integer) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz;
    ms numeric[] := '{}';
    dummy bigint;
BEGIN
    -- Every column of every row is read (s::text), so nothing is optimised away.
    EXECUTE format('SELECT count(hashtext(s::text)) FROM (%s) s', q) INTO dummy;   -- warm-up
    FOR i IN 1 .. n LOOP
        t := clock_timestamp();
        EXECUTE format('SELECT count(hashtext(s::text)) FROM (%s) s', q) INTO dummy;
        ms := ms || (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric;
    END LOOP;
    RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(ms) x);
END $$;
EOF
REFRESH_MS=""
if proc_exists 'loyalty.refresh_reports()'; then
    T0=$(date +%s%N)
    sql -c 'SELECT loyalty.refresh_reports()' >/dev/null
    REFRESH_MS=$(( ($(date +%s%N) - T0) / 1000000 ))
    echo "   loyalty.refresh_reports(): $REFRESH_MS ms"
fi
GROUPBY_Q="SELECT program_id, branch, kind, created_at::date AS day, loyalty.sum(amount) AS points, count(*) AS entries
             FROM loyalty.ledger GROUP BY 1, 2, 3, 4"
GROUPBY_MS=$(sql -c "SELECT round(shop.bench_time(\$q\$$GROUPBY_Q\$q\$, $BENCH_REPORT_REPEATS), 1)")
echo "   plain GROUP BY over the ledger: $GROUPBY_MS ms"
REPORT_VIEWS="report_points_daily report_points_daily_total report_branch_daily report_loyal_customers
  report_top_customers_share report_liability report_freshness campaign_budget campaign_cost
  discount_effectiveness wallet_float voucher_status"
# Report views added later are timed too.
REPORT_VIEWS="$REPORT_VIEWS $(sql -c "SELECT string_agg(viewname, ' ' ORDER BY viewname) FROM pg_views
    WHERE schemaname = 'loyalty' AND viewname LIKE 'report\_%'
      AND viewname <> ALL (string_to_array('$(echo $REPORT_VIEWS)', ' '))")"
REPORT_TABLE="view | rows | median ms | ratio to GROUP BY
--- | ---: | ---: | ---:
plain GROUP BY over the ledger (program, branch, kind, day) | $(sql -c "SELECT count(*) FROM ($GROUPBY_Q) s") | $GROUPBY_MS | 1.00"
for v in $REPORT_VIEWS; do
    if [ "$(sql -c "SELECT to_regclass('loyalty.$v') IS NOT NULL")" != t ]; then
        REPORT_TABLE="$REPORT_TABLE
loyalty.$v | | skipped (not installed) |"
        continue
    fi
    ms=$(sql -c "SELECT round(shop.bench_time('SELECT * FROM loyalty.$v', $BENCH_REPORT_REPEATS), 1)")
    rows=$(sql -c "SELECT count(*) FROM loyalty.$v")
    ratio=$(awk -v a="$ms" -v b="$GROUPBY_MS" 'BEGIN { printf "%.2f", a / b }')
    echo "   loyalty.$v: $ms ms ($rows rows)"
    REPORT_TABLE="$REPORT_TABLE
loyalty.$v | $rows | $ms | $ratio"
done

# ---------------------------------------------------------------- profile
PROFILE_TEXT=""
if [ "$BENCH_PROFILE" = 1 ] && [[ " ${OPS[*]} " == *" attached "* ]]; then
    PROFILE_OPS="floor attached"
    [[ " ${OPS[*]} " == *" campaign "* ]] && PROFILE_OPS="$PROFILE_OPS campaign"
    [[ " ${OPS[*]} " == *" redeem "* ]] && PROFILE_OPS="$PROFILE_OPS redeem"
    [[ " ${OPS[*]} " == *" return "* ]] && PROFILE_OPS="$PROFILE_OPS return"
    echo "== profile: pg_stat_statements (track = all): $PROFILE_OPS, ${BENCH_PROFILE_SECONDS} s warm-up + ${BENCH_PROFILE_SECONDS} s each (not in the table)"
    "${RUN[@]}" "$BINDIR/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    STARTED=0
    start_server -o "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c track_functions=all"
    sql -c 'CREATE EXTENSION pg_stat_statements'
    for op in $PROFILE_OPS; do
        pgbench_run "$op" "$BENCH_PROFILE_SECONDS" "warm-up-$op" >/dev/null
        sql -c 'SELECT pg_stat_statements_reset()' -c 'SELECT pg_stat_reset()' >/dev/null
        BENCH_NO_CHECKPOINT=1 pgbench_run "$op" "$BENCH_PROFILE_SECONDS" "profile-$op" >/dev/null
        PROF=$(sql -P footer=off -F ' | ' <<'EOF'
SELECT round((100 * total_exec_time / sum(total_exec_time) FILTER (WHERE toplevel) OVER ())::numeric, 1) || '%',
       CASE WHEN toplevel THEN 'top' ELSE 'nested' END,
       calls,
       round((total_exec_time / calls)::numeric * 1000, 1) || ' us',
       round(wal_bytes / calls) || ' B',
       round(wal_fpi::numeric / calls, 2),
       regexp_replace(left(regexp_replace(query, '\s+', ' ', 'g'), 150), '\|', '/', 'g')
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
   AND query !~* '^(VACUUM|CHECKPOINT|SELECT pg_stat|SELECT last_value|INSERT INTO shop.bench_run)'
   AND calls > 10
 ORDER BY total_exec_time DESC LIMIT 10;
EOF
)
        PROFILE_TEXT="$PROFILE_TEXT

$op:

share of execution time | level | calls | mean time | WAL per call | full-page images per call | statement
--- | --- | ---: | ---: | ---: | ---: | ---
$PROF"
    done
    for db in "${!ATTACHED[@]}"; do set_state "$db" 0 0 base; done
fi

# ------------------------------------------------------------ correctness
echo "== correctness"
CHECK=0
BAD_RUNS=0
VERIFY=""
for db in "${!DB_MEMBERS[@]}"; do
    c=$(sqldb "$db" -c 'SELECT count(*) FROM loyalty.check_ledger()')
    CHECK=$((CHECK + c))
    v=$(sqldb "$db" -F ' | ' <<'EOF'
WITH e AS (
    SELECT l.source, l.document::bigint AS doc FROM loyalty.ledger l
     WHERE l.kind = 'earn' AND l.source IN ('shop.orders', 'pos') AND l.document ~ '^[0-9]+$'
), r AS (
    SELECT r.*, (SELECT count(*) FROM shop.orders o
                  WHERE o.order_id > r.first_id AND o.order_id <= r.last_id) AS orders,
           (SELECT count(*) FROM e WHERE e.doc > r.first_id AND e.doc <= r.last_id) AS earn
      FROM shop.bench_run r
)
SELECT run_no, current_database(), operation, last_id - first_id AS documents, orders, earn,
       CASE WHEN source IS NULL THEN earn = 0
            WHEN operation LIKE '%intake' THEN earn = last_id - first_id
            ELSE earn = orders AND orders = last_id - first_id END AS ok
  FROM r ORDER BY run_no;
EOF
)
    VERIFY="$VERIFY${VERIFY:+
}$v"
done
VERIFY=$(sort -n <<<"$VERIFY")
BAD_RUNS=$(awk -F' [|] ' '$7 != "t"' <<<"$VERIFY" | wc -l)
echo "   check_ledger(): $CHECK violations; runs whose earn entries do not match their orders: $BAD_RUNS"
CORRECT=yes
{ [ "$CHECK" -eq 0 ] && [ "$BAD_RUNS" -eq 0 ]; } || CORRECT=no

# ---------------------------------------------------------------- results
TABLE="operation | tps | p50 ms | p99 ms | compared to | ratio
--- | ---: | ---: | ---: | --- | ---:"
declare -A MED
for op in "${OPS[@]}"; do MED[$op]=$(median <<<"${TPS[$op]}"); done
for op in $BENCH_OPERATIONS; do
    if [ -n "${SKIP[$op]:-}" ]; then
        TABLE="$TABLE
$op | ${SKIP[$op]} | | | |"
        continue
    fi
    IFS='|' read -r _ _ _ _ _ base <<<"$(op_info "$op")"
    read -r p50 p99 <<<"$(percentiles "$WORK/lat_$(safe_name "$op").txt")"
    ratio="" cmp=""
    if [ -n "$base" ] && [ -n "${MED[$base]:-}" ]; then
        ratio=$(awk -v a="${MED[$op]}" -v b="${MED[$base]}" 'BEGIN { printf "%.2f", a / b }')
        cmp=$base
    fi
    TABLE="$TABLE
$op | ${MED[$op]} | $p50 | $p99 | $cmp | $ratio"
done
TABLE="$TABLE
expiry job | $EXP_RATE lots/s ($EXP_MRATE members/s) | | | $EXP_LOTS lots in $EXP_S s |"
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
echo "$REPORT_TABLE" | column -t -s '|' -o '|'
echo

# ---------------------------------------------------------------- machine
PG_VERSION=$(sql -c 'SELECT version()')
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
DISK=$(df -hT "$WORK" | awk 'NR == 2 { print $2 " filesystem on " $1 }')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$REPO" diff --quiet HEAD -- src 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes in src/)"
SERVER_SETTINGS=$(sql -F ' = ' -c "SELECT name, setting || coalesce(unit, '') FROM pg_settings
    WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'fsync', 'synchronous_commit',
                   'wal_level', 'full_page_writes', 'work_mem', 'jit', 'autovacuum') ORDER BY name")
SMALL_TEXT=""
[ -n "${DB_MEMBERS[bench_small]:-}" ] && SMALL_TEXT="; database \`bench_small\` (the attached-small run): ${DB_MEMBERS[bench_small]} members, ${DB_ORDERS[bench_small]} orders"
[ -n "${DB_MEMBERS[bench_large]:-}" ] && SMALL_TEXT="$SMALL_TEXT; database \`bench_large\` (the attached-large run): ${DB_MEMBERS[bench_large]} members, ${DB_ORDERS[bench_large]} orders"

cat >"$BENCH_OUTPUT" <<EOF
# pg_loyalty benchmark results

Written by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT.
What the runs measure and how to change them: [doc/benchmarks.md](../doc/benchmarks.md).
Sizes and how costs grow: [SCALE.md](SCALE.md).
${BENCH_NOTE:+
$BENCH_NOTE
}
## Result

Database \`bench\`: $BENCH_MEMBERS members, $G_ORDERS historical orders ($G_LINES lines) over two years$SMALL_TEXT.
pgbench \`-n -M $BENCH_PROTOCOL -c $BENCH_CLIENTS -j $BENCH_JOBS -T $BENCH_SECONDS\`, $BENCH_ROUNDS rounds per operation
(tps: median of the rounds; latency: percentiles of every transaction of all rounds; ratio: tps over
the tps of the operation it is compared to).

$TABLE

- **floor**: the host's bare insert of one order with 3 lines (header + lines, one transaction), no trigger.
- **attached**: the same insert after \`loyalty.attach()\`; accrual runs in the deferred trigger at commit (4 rules).
- **campaign**: attached, with campaign \`bench-promo\` running (2% of all goods, a points budget in 8 slots) and a discount policy defined.
- **campaign+discounts**: the campaign run plus \`loyalty.apply_discounts()\` for the order in the same transaction.
- **rules-1 / rules-50**: attached with 1 earning rule active, and with 50.
- **return**: \`loyalty.return_order()\` of 1,000 VND of goods of a random historical order.
- **redeem**: \`loyalty.quote()\` then \`loyalty.redeem()\` of up to 20 points of a random member (two transactions).
- **wallet**: \`loyalty.wallet_spend()\` of 10,000 VND; **voucher**: \`loyalty.voucher_redeem()\` of a new voucher.
- **attached-small** / **attached-large**: the attached insert in a database with fewer / more members (same orders per member).
- **floor-warm** / **attached-warm**: as floor / attached, but measured after an unmeasured ${BENCH_WARMUP_SECONDS} s run of the same operation with no checkpoint in between (steady state rather than the first seconds after a checkpoint).
- **expiry job**: \`loyalty.expire_points(5000)\` called until it finds nothing, over the backlog of $G_BACKLOG lots that expired in the last $BENCH_BACKLOG_DAYS days.

tps per round (odd rounds ran the operations in the order above, even rounds in reverse):

$ROUNDS_TABLE

## Report views

Each view read whole ($BENCH_REPORT_REPEATS times after one warm-up, median), against a plain GROUP BY over
\`loyalty.ledger\` ($(sql -c "SELECT count(*) FROM loyalty.ledger") entries) as the comparison; ratio = view time / GROUP BY time.
${REFRESH_MS:+\`loyalty.refresh_reports()\` (refreshes the materialized rollups) took $REFRESH_MS ms before the reads.}

$REPORT_TABLE

## Correctness

- after loading: \`check_ledger()\` **$LOAD_CHECK** violations ($LOAD_CHECK_WHAT, $LOAD_CHECK_S s)
- after all runs: \`check_ledger()\` **$CHECK** violations
- every run posted exactly one \`earn\` entry per order it accrued and none otherwise: **$CORRECT**

<details><summary>runs</summary>

run | database | operation | documents | host orders | earn entries | ok
---: | --- | --- | ---: | ---: | ---: | ---
$VERIFY

</details>
EOF

if [ -n "$PROFILE_TEXT" ]; then
    cat >>"$BENCH_OUTPUT" <<EOF

## Where the time goes

Separate ${BENCH_PROFILE_SECONDS} s runs after a restart with \`pg_stat_statements\` (\`track = all\`) and a
${BENCH_PROFILE_SECONDS} s warm-up run of the same operation; not part of the table above. The deferred
accrual trigger fires at transaction end, after the \`COMMIT\` statement has been counted, so the
statements it runs through SPI are listed as top level. Shares are of the execution time of the
statements listed; client round trips, parsing and the WAL flush at commit are not in them.
$PROFILE_TEXT
EOF
fi

cat >>"$BENCH_OUTPUT" <<EOF

## Machine and settings

- CPU: $CPU, $(nproc) cores (nproc); memory $MEM; load average at the end: $LOAD
- data directory: $DISK
- $PG_VERSION
- cluster: fresh \`initdb\`; postgresql.conf defaults plus:
\`\`\`
$SETTINGS
\`\`\`
- the settings as the server reported them:
\`\`\`
$SERVER_SETTINGS
\`\`\`
- history: $G_ORDERS orders, $G_RETURNED returned, $G_REDEEMED lots redeemed, $G_EXPIRED lots expired, $G_BACKLOG lots in the expiry backlog
- pgbench and the server share the machine; \`VACUUM ANALYZE\` and \`CHECKPOINT\` before every run

## Reproduce

\`\`\`
BENCH_SECONDS=$BENCH_SECONDS BENCH_ROUNDS=$BENCH_ROUNDS BENCH_CLIENTS=$BENCH_CLIENTS BENCH_MEMBERS=$BENCH_MEMBERS BENCH_ORDERS=$BENCH_ORDERS make bench
\`\`\`
EOF

# ------------------------------------------------------------------ scale
fmt_mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
SIZE_TABLE="table | rows | table MB | indexes MB | grows with | MB per 1M members / 10M orders (table + indexes)
--- | ---: | ---: | ---: | --- | ---:"
TOT_M=0; TOT_O=0; TOT_OL=0
while IFS='|' read -r name rows tbl idx kind; do
    name=${name// /}; rows=${rows// /}; tbl=${tbl// /}; idx=${idx// /}; kind=${kind// /}
    [ -n "$name" ] || continue
    case $kind in
        members) f=$(awk -v m="$BENCH_MEMBERS" 'BEGIN { print 1000000 / m }') ;;
        orders) f=$(awk -v o="$G_ORDERS" 'BEGIN { print 10000000 / o }') ;;
        *) f=0 ;;
    esac
    per=$(awk -v t="$tbl" -v i="$idx" -v f="$f" 'BEGIN { printf "%.0f", (t + i) * f / 1048576 }')
    [ "$kind" = fixed ] && per="(does not grow)"
    case $kind/$name in
        members/*) TOT_M=$((TOT_M + per)) ;;
        orders/shop.*) TOT_O=$((TOT_O + per)) ;;
        orders/*) TOT_O=$((TOT_O + per)); TOT_OL=$((TOT_OL + per)) ;;
    esac
    SIZE_TABLE="$SIZE_TABLE
$name | $rows | $(fmt_mb "$tbl") | $(fmt_mb "$idx") | $kind | $per"
done <<<"$SIZES"
ratio_of() {
    [ -n "${MED[$1]:-}" ] && [ -n "${MED[$2]:-}" ] &&
        awk -v a="${MED[$1]}" -v b="${MED[$2]}" 'BEGIN { printf "%.2f", a / b }' || echo "n/a"
}
GROWTH="run | members | rules | tps | ratio
--- | ---: | ---: | ---: | ---:"
[ -n "${MED[attached-small]:-}" ] && GROWTH="$GROWTH
attached-small | ${DB_MEMBERS[bench_small]} | 4 | ${MED[attached-small]} | 1.00"
[ -n "${MED[attached]:-}" ] && GROWTH="$GROWTH
attached | $BENCH_MEMBERS | 4 | ${MED[attached]} | $(ratio_of attached attached-small)"
[ -n "${MED[attached-large]:-}" ] && GROWTH="$GROWTH
attached-large | ${DB_MEMBERS[bench_large]} | 4 | ${MED[attached-large]} | $(ratio_of attached-large attached-small)"
RGROWTH="run | members | rules | tps | ratio
--- | ---: | ---: | ---: | ---:"
[ -n "${MED[rules-1]:-}" ] && RGROWTH="$RGROWTH
rules-1 | $BENCH_MEMBERS | 1 | ${MED[rules-1]} | 1.00"
[ -n "${MED[attached]:-}" ] && RGROWTH="$RGROWTH
attached | $BENCH_MEMBERS | 4 | ${MED[attached]} | $(ratio_of attached rules-1)"
[ -n "${MED[rules-50]:-}" ] && RGROWTH="$RGROWTH
rules-50 | $BENCH_MEMBERS | 50 | ${MED[rules-50]} | $(ratio_of rules-50 rules-1)"

cat >"$BENCH_SCALE_OUTPUT" <<EOF
# pg_loyalty at scale

Written by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, together
with [RESULTS.md](RESULTS.md) (same machine, same run).
${BENCH_NOTE:+
$BENCH_NOTE
}
## Sizes

Measured after loading database \`bench\` ($BENCH_MEMBERS members, $G_ORDERS orders with $G_LINES lines,
$G_RETURNED returns, $G_REDEEMED redemptions, $G_EXPIRED expiries; \`VACUUM ANALYZE\` done), before
any benchmark run. Database size: $(fmt_mb "$DB_SIZE") MB. The last column is **extrapolated
linearly**, not measured: tables keyed by member (\`grows with: members\`) scaled to 1 million
members, all others to 10 million orders. Linear is the right model for heap and B-tree sizes
(rows have the same width at any scale; B-tree depth grows by one level at most, which adds
no measurable size); it does not hold for the BRIN index (constant) or for tables that do not
grow with either (programs, rules, campaigns).

$SIZE_TABLE

Total per 1 million members: about **$TOT_M MB**; per 10 million orders: about **$TOT_O MB**,
of which **$TOT_OL MB** are pg_loyalty's (the rest is the host's \`shop.orders\` and \`shop.order_lines\`).

## Does accrual slow down as members grow?

The attached insert (accrual at commit, 4 rules) in databases of different sizes, same run,
same orders per member, ABBA rounds (see RESULTS.md for the rounds). Ratio: tps over the smallest.

$GROWTH

## Does accrual slow down as rules grow?

The attached insert in database \`bench\` with 1, 4 and 50 earning rules active (50: items,
groups, customer groups, branches, bill thresholds; see bench/extras.sql). Rules are held in a
per-backend cache, so their number should cost only the in-memory matching. Ratio: tps over rules-1.

$RGROWTH
EOF

echo "written to ${BENCH_OUTPUT#$REPO/} and ${BENCH_SCALE_OUTPUT#$REPO/}"
[ "$CORRECT" = yes ] || die "the ledger check failed (see ${BENCH_OUTPUT#$REPO/})"
