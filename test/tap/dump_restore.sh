#!/bin/bash
# pg_dump of a database using pg_loyalty, restored into a fresh database, gives
# the same programs, rules, members, ledger and balances, and a clean ledger check.
set -u
. "$(dirname "$0")/lib.sh"

DIR=$(tap_scratch)
PORT=$((57000 + $$ % 500))
trap 'tap_stop_cluster "$DIR"; rm -rf "$DIR"' EXIT
tap_start_cluster "$DIR" "$PORT" || { echo "not ok 1 - cluster starts"; exit 1; }

tap_sql "$DIR" "$PORT" postgres "CREATE DATABASE src" >/dev/null
tap_sql "$DIR" "$PORT" src "
CREATE EXTENSION pg_loyalty;
SET search_path = public, loyalty;
INSERT INTO program (code, name, point_value, points_lifetime) VALUES ('shop', 'Shop', 1000, '1 year');
INSERT INTO rule (program_id, name, kind, percent) SELECT program_id, '10%', 'percent', 10 FROM program;
INSERT INTO rule (program_id, name, kind, points, item_group) SELECT program_id, 'shirts', 'per_quantity', 2, 'Shirts' FROM program;
SELECT enroll('shop', 'C' || i, 'Customer ' || i) FROM generate_series(1, 50) i;
SELECT record_order('shop', 'C' || (i % 50 + 1), 'D' || i,
                    jsonb_build_array(jsonb_build_object('sku', 'S' || i, 'group', CASE WHEN i % 3 = 0 THEN 'Shirts' END,
                                                         'qty', 1 + i % 3, 'price', 10000 * (1 + i % 7))))
  FROM generate_series(1, 300) i;
SELECT return_order('shop', 'D' || i, 'R' || i, '[{\"line\": 1, \"qty\": 1}]') FROM generate_series(1, 300, 7) i;
SELECT cancel_order('shop', 'D' || i) FROM generate_series(2, 300, 11) i;
SELECT adjust('shop', 'C1', 5, 'gift');
" >/dev/null 2>&1
tap_is "data set loaded" "$(tap_sql "$DIR" "$PORT" src "SELECT count(*) > 300 FROM loyalty.ledger")" "t"

"${AS_PG[@]}" "$BINDIR/pg_dump" -h "$DIR" -p "$PORT" -Fc -f "$DIR/src.dump" src 2>"$DIR/dump.log"
tap_is "pg_dump succeeds" "$?" "0"
tap_sql "$DIR" "$PORT" postgres "CREATE DATABASE dst" >/dev/null
"${AS_PG[@]}" "$BINDIR/pg_restore" -h "$DIR" -p "$PORT" -d dst --exit-on-error "$DIR/src.dump" 2>"$DIR/restore.log"
tap_is "pg_restore succeeds" "$?" "0"
[ -s "$DIR/restore.log" ] && sed 's/^/# /' "$DIR/restore.log" | head -20

for t in program rule member member_key card ledger lot balance member_order member_order_line member_return audit_log; do
    a=$(tap_sql "$DIR" "$PORT" src "SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM loyalty.$t x")
    b=$(tap_sql "$DIR" "$PORT" dst "SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM loyalty.$t x")
    tap_is "loyalty.$t is the same after restore" "$b" "$a"
done
tap_is "check_ledger() is clean after restore" "$(tap_sql "$DIR" "$PORT" dst "SELECT count(*) FROM loyalty.check_ledger()")" "0"
tap_is "ids continue after restore without collisions" \
    "$(tap_sql "$DIR" "$PORT" dst "SELECT (SELECT loyalty.generate_id()) > (SELECT max(entry_id) FROM loyalty.ledger)")" "t"
tap_is "the restored database keeps earning" \
    "$(tap_sql "$DIR" "$PORT" dst "SELECT (loyalty.record_order('shop', 'C2', 'AFTER-1', total => 50000)).points::numeric")" "5.00"

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
