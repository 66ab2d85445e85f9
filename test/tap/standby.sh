#!/bin/bash
# The report views on a read-only hot standby.
#
# Starts a throwaway primary (wal_level = replica), creates pg_loyalty, loads
# a small shop (program, rules, members, orders, a return, a correction),
# runs loyalty.refresh_reports(), clones a standby with pg_basebackup -R,
# waits until it has replayed everything, and then reads every
# loyalty.report_* view and materialized view (found in the standby's
# catalog) and liability_as_of() there, comparing the row counts with the
# primary.  Prints TAP lines (ok N - ... / not ok N - ...) and a plan, stops
# both clusters, removes them, and exits non-zero on any failure.
#
# Needs pg_loyalty installed (make install) into the server of PG_CONFIG
# (default: pg_config on PATH).  Runs as root (clusters run as postgres via
# runuser) or as an ordinary user.
set -uo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir) || { echo "Bail out! pg_config failed"; exit 2; }

if [ "$(id -u)" -eq 0 ]; then
    RUN=(runuser -u postgres --)
else
    RUN=()
fi

TMP=$(mktemp -d /tmp/pg_loyalty_standby.XXXXXX)
chmod 755 "$TMP"
[ "$(id -u)" -eq 0 ] && chown postgres: "$TMP"
SOCK="$TMP/sock"
"${RUN[@]}" mkdir -p "$SOCK"
PORT1=$((40000 + $$ % 10000))
PORT2=$((PORT1 + 1))
PRIMARY="$TMP/primary"
STANDBY="$TMP/standby"

cleanup() {
    [ -f "$STANDBY/postmaster.pid" ] && "${RUN[@]}" "$BINDIR/pg_ctl" -D "$STANDBY" -m immediate -w stop >/dev/null 2>&1
    [ -f "$PRIMARY/postmaster.pid" ] && "${RUN[@]}" "$BINDIR/pg_ctl" -D "$PRIMARY" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

bail() {
    echo "Bail out! $*"
    for f in "$TMP"/*.log; do
        [ -f "$f" ] && { echo "# --- $f"; tail -20 "$f" | sed 's/^/# /'; }
    done
    exit 2
}

# psql on a port: psql_at PORT [psql args...]
psql_at() {
    local port=$1
    shift
    "${RUN[@]}" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$port" -d postgres "$@"
}

# The primary.
"${RUN[@]}" "$BINDIR/initdb" -D "$PRIMARY" -A trust --no-sync -E UTF8 --locale=C >"$TMP/initdb.log" 2>&1 \
    || bail "initdb failed"
"${RUN[@]}" tee -a "$PRIMARY/postgresql.conf" >/dev/null <<EOF
port = $PORT1
unix_socket_directories = '$SOCK'
listen_addresses = ''
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
timezone = 'UTC'
EOF
"${RUN[@]}" "$BINDIR/pg_ctl" -D "$PRIMARY" -l "$TMP/primary.log" -w start >/dev/null || bail "primary did not start"

psql_at "$PORT1" >"$TMP/load.log" 2>&1 <<'EOF' || bail "loading the data set failed"
CREATE EXTENSION pg_loyalty;
INSERT INTO loyalty.program (code, name, currency, point_value, time_zone, points_lifetime)
VALUES ('standby', 'Standby shop', 'VND', 1000, 'Asia/Ho_Chi_Minh', '100 days');
INSERT INTO loyalty.rule (program_id, name, kind, percent)
  SELECT program_id, '10%', 'percent', 10 FROM loyalty.program WHERE code = 'standby';
INSERT INTO loyalty.campaign (campaign_id, program_id, code, name, starts_at, ends_at)
  SELECT 1, program_id, 'standby_week', 'Shirt week', now() - interval '1 day', now() + interval '1 day'
    FROM loyalty.program WHERE code = 'standby';
SELECT loyalty.schedule_campaign('standby_week'), loyalty.start_campaign('standby_week');
INSERT INTO loyalty.rule (program_id, name, kind, points, item_group, campaign_id)
  SELECT program_id, 'shirts: 2 each', 'per_quantity', 2, 'Shirts', 1 FROM loyalty.program WHERE code = 'standby';
SELECT loyalty.enroll('standby', 'K' || i) FROM generate_series(1, 5) AS i;
SELECT loyalty.record_order('standby', 'K' || i, 'D' || i, total => 100000 * i,
                            branch => 'B' || (i % 2), ordered_at => now() - i * interval '20 days')
  FROM generate_series(1, 5) AS i;
SELECT loyalty.record_order('standby', 'K1', 'S1', '[{"sku": "SH", "group": "Shirts", "qty": 3, "price": 150000}]',
                            branch => 'B1');
SELECT loyalty.return_order('standby', 'D3', 'R3', amount => 100000, branch => 'B1');
SELECT loyalty.cancel_order('standby', 'D5');
SELECT loyalty.adjust('standby', 'K2', 5, 'ADJ-1');
INSERT INTO loyalty.tier (program_id, rank, name, threshold)
  SELECT program_id, 1, 'Silver', 100000 FROM loyalty.program WHERE code = 'standby';
SELECT loyalty.record_order('standby', 'K4', 'T1', total => 10000, branch => 'B1');
INSERT INTO loyalty.discount_policy (program_id, name, kind, value)
  SELECT program_id, 'all 5%', 'percent', 5 FROM loyalty.program WHERE code = 'standby';
SELECT count(*) FROM loyalty.apply_discounts('standby', 'K1', 'S1', '[{"sku": "SH", "group": "Shirts", "qty": 3, "price": 150000}]');
INSERT INTO loyalty.voucher_type (program_id, code, name, kind, face_value)
  SELECT program_id, 'V50', 'Voucher 50K', 'voucher', 50000 FROM loyalty.program WHERE code = 'standby';
SELECT count(*) FROM loyalty.voucher_issue('standby', 'V50', 2);
SELECT balance FROM loyalty.wallet_top_up('standby', 'K1', 300000, 'W1', 'B1');
INSERT INTO loyalty.product_card_type (program_id, code, name, item_sku, units, visit_limit, price, extra_unit_price)
  SELECT program_id, 'P5', '5 sessions', 'SESSION', 5, 1, 100000, 25000 FROM loyalty.program WHERE code = 'standby';
SELECT loyalty.product_card_issue('standby', 'K2', 'P5', 'PC1') IS NOT NULL;
SELECT loyalty.refresh_reports();
EOF

# The standby, cloned from the primary.
"${RUN[@]}" "$BINDIR/pg_basebackup" -h "$SOCK" -p "$PORT1" -D "$STANDBY" -R -X stream --checkpoint=fast --no-sync \
    >"$TMP/basebackup.log" 2>&1 || bail "pg_basebackup failed"
echo "port = $PORT2" | "${RUN[@]}" tee -a "$STANDBY/postgresql.conf" >/dev/null
# one more change after the base backup, so the standby must replay it
psql_at "$PORT1" -c "SELECT loyalty.record_order('standby', 'K4', 'LATE', total => 700000, branch => 'B0')" \
    -c "SELECT loyalty.refresh_reports()" >>"$TMP/load.log" 2>&1 || bail "the late order failed"
"${RUN[@]}" "$BINDIR/pg_ctl" -D "$STANDBY" -l "$TMP/standby.log" -w start >/dev/null || bail "standby did not start"

for _ in $(seq 1 100); do
    "${RUN[@]}" "$BINDIR/pg_isready" -q -h "$SOCK" -p "$PORT2" -d postgres && break
    sleep 0.1
done
"${RUN[@]}" "$BINDIR/pg_isready" -q -h "$SOCK" -p "$PORT2" -d postgres || bail "standby does not accept connections"

LSN=$(psql_at "$PORT1" -At -c "SELECT pg_current_wal_lsn()") || bail "no primary LSN"
REPLAYED=f
for _ in $(seq 1 300); do
    REPLAYED=$(psql_at "$PORT2" -At -c "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '$LSN'::pg_lsn" 2>/dev/null)
    [ "$REPLAYED" = t ] && break
    sleep 0.1
done

N=0
FAILED=0
tap() {
    N=$((N + 1))
    if [ "$1" = ok ]; then
        echo "ok $N - $2"
    else
        echo "not ok $N - $2"
        FAILED=$((FAILED + 1))
        [ -n "${3:-}" ] && echo "$3" | sed 's/^/# /'
    fi
}

[ "$(psql_at "$PORT2" -At -c 'SELECT pg_is_in_recovery()' 2>&1)" = t ] \
    && tap ok "standby is in recovery" || tap bad "standby is in recovery"
[ "$REPLAYED" = t ] && tap ok "standby replayed up to $LSN" || tap bad "standby replayed up to $LSN"

# Every report view and materialized view, found in the standby's catalog, plus liability_as_of().
QUERIES=$(psql_at "$PORT2" -At -F '|' -c "
    SELECT c.relname, format('SELECT count(*) FROM %I.%I', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'loyalty' AND c.relkind IN ('v', 'm') AND c.relname LIKE 'report\_%'
    UNION ALL
    SELECT p.proname || '()', format('SELECT count(*) FROM %I.%I(%s)', n.nspname, p.proname,
                                     CASE WHEN p.pronargs = 0 THEN '' ELSE 'now()' END)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'loyalty' AND p.proretset
       AND (p.proname LIKE 'report\_%' OR p.proname = 'liability_as_of')
       AND (p.pronargs = 0 OR (p.pronargs = 1 AND p.proargtypes[0] = 'timestamptz'::regtype))
     ORDER BY 1" 2>&1) || bail "catalog query on the standby failed: $QUERIES"
[ -n "$QUERIES" ] || bail "no report views found on the standby"

while IFS='|' read -r name sql; do
    [ -z "$name" ] && continue
    on_standby=$(psql_at "$PORT2" -At -c "$sql" 2>&1)
    rc=$?
    on_primary=$(psql_at "$PORT1" -At -c "$sql" 2>&1)
    if [ $rc -ne 0 ]; then
        tap bad "$name on standby" "$on_standby"
    elif [ "$on_standby" != "$on_primary" ]; then
        tap bad "$name on standby" "standby rows: $on_standby, primary rows: $on_primary"
    elif [ "$on_standby" -eq 0 ]; then
        tap bad "$name on standby" "no rows"
    else
        tap ok "$name on standby"
    fi
done <<<"$QUERIES"

# the late order (after the base backup) reached the standby's reports
late=$(psql_at "$PORT2" -At -c "SELECT sum(orders) FROM loyalty.report_branch_daily WHERE program_code = 'standby'" 2>&1)
[ "$late" = 7 ] && tap ok "replayed refresh shows the late order on standby" \
    || tap bad "replayed refresh shows the late order on standby" "orders: $late (expected 7: D1-D5, S1, T1 and LATE less the cancelled D5)"
# and the job itself refuses to write there
out=$(psql_at "$PORT2" -At -c "SELECT loyalty.refresh_reports()" 2>&1)
if echo "$out" | grep -q "read-only transaction"; then
    tap ok "refresh_reports() is refused on standby"
else
    tap bad "refresh_reports() is refused on standby" "$out"
fi

echo "1..$N"
[ "$FAILED" -eq 0 ]
