#!/bin/bash
# The upgrade path: every released version of pg_loyalty still installs (its
# frozen script against the current library), ALTER EXTENSION pg_loyalty
# UPDATE takes a database with real data to the current version with the data
# intact and the functions working, and the updated extension is the same as a
# fresh install of the current version: the same catalog listing
# (test/tap/extension_catalog.sql: every member object with its definition,
# columns, constraints, indexes, triggers, comments, ACLs, ...), the same
# pg_dump --schema-only and the same pg_dump configuration tables.
# On a difference it prints the diff (fresh install vs. update): a line only
# in the fresh install ("-") is what the upgrade fragment lacks.
# See doc/upgrade.md.
set -u
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

DIR=$(tap_scratch)
PORT=$((57500 + $$ % 500))
trap 'tap_stop_cluster "$DIR"; rm -rf "$DIR"' EXIT
tap_start_cluster "$DIR" "$PORT" "timezone = 'UTC'" || { echo "not ok 1 - cluster starts"; exit 1; }

# Run SQL from stdin: tap_sql_in DB <file (unaligned, tuples only, stop on error)
tap_sql_in() {
    "${AS_PG[@]}" "$BINDIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -d "$1"
}
# Print a file as TAP diagnostics, at most $2 lines
tap_diag() {
    sed 's/^/#   /' "$1" | head -n "${2:-60}"
    local n
    n=$(wc -l <"$1")
    [ "$n" -gt "${2:-60}" ] && echo "#   ... ($n lines in all)"
}
# Compare two files: tap_same "description" expected got [max diff lines]
tap_same() {
    TAP_N=$((TAP_N + 1))
    if [ ! -s "$2" ] || [ ! -s "$3" ]; then
        echo "not ok $TAP_N - $1"
        echo "#   empty listing: $(basename "$2") $(wc -c <"$2") bytes, $(basename "$3") $(wc -c <"$3") bytes"
        TAP_FAILED=$((TAP_FAILED + 1))
    elif diff -u "$2" "$3" >"$DIR/diff.out"; then
        echo "ok $TAP_N - $1"
    else
        echo "not ok $TAP_N - $1"
        echo "#   diff -u $(basename "$2") $(basename "$3") ('-': only in the fresh install, '+': only after the update)"
        grep -v '^@@' "$DIR/diff.out" | tail -n +3 | grep '^[-+]' >"$DIR/diff.short"
        tap_diag "$DIR/diff.short" "${4:-80}"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}
# The catalog listing of a database's pg_loyalty into a file
catalog() {
    tap_sql_in "$1" <"$HERE/extension_catalog.sql" >"$2" 2>"$2.err" || { cat "$2.err" >&2; : >"$2"; }
}
# pg_dump --schema-only of a database, with its random \restrict key removed
schema_dump() {
    "${AS_PG[@]}" "$BINDIR/pg_dump" -h "$DIR" -p "$PORT" --schema-only "$1" 2>"$2.err" \
        | grep -vE '^\\(un)?restrict ' >"$2"
}

# 0. what is installed: the current version and an update path from every older one
CURRENT=$(tap_sql "$DIR" "$PORT" postgres "SELECT default_version FROM pg_available_extensions WHERE name = 'pg_loyalty'")
OLDER=$(tap_sql "$DIR" "$PORT" postgres "
    SELECT string_agg(version, ' ' ORDER BY string_to_array(version, '.')::int[])
      FROM pg_available_extension_versions WHERE name = 'pg_loyalty' AND version <> '$CURRENT'")
OLDEST=${OLDER%% *}
tap_check "the current version is installed ($CURRENT) with at least one older version ($OLDER)" \
    test -n "$CURRENT" -a -n "$OLDER"
for v in $OLDER; do
    tap_is "an update path leads from $v to $CURRENT" \
        "$(tap_sql "$DIR" "$PORT" postgres "SELECT path IS NOT NULL FROM pg_extension_update_paths('pg_loyalty')
                                            WHERE source = '$v' AND target = '$CURRENT'")" "t"
done
if [ -f "$REPO/src/sql/released/SHA256SUMS" ]; then
    tap_check "the released install scripts are unchanged (src/sql/released/SHA256SUMS)" \
        bash -c "cd '$REPO/src/sql/released' && sha256sum --quiet -c SHA256SUMS"
fi

# 1. the oldest release with real data, then ALTER EXTENSION UPDATE
tap_sql "$DIR" "$PORT" postgres "CREATE DATABASE upgraded_data" >/dev/null
tap_is "CREATE EXTENSION pg_loyalty VERSION '$OLDEST' works with the current library" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "CREATE EXTENSION pg_loyalty VERSION '$OLDEST';
        SELECT extversion FROM pg_extension WHERE extname = 'pg_loyalty'" 2>&1)" "$OLDEST"

tap_sql_in upgraded_data >"$DIR/load.log" 2>&1 <<'EOF'
SET search_path = public, loyalty;
-- points: a program, rules, members, orders, returns, cancellations, a correction
INSERT INTO program (code, name, point_value, points_lifetime) VALUES ('shop', 'Shop', 1000, '1 year');
INSERT INTO rule (program_id, name, kind, percent) SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'shop';
INSERT INTO rule (program_id, name, kind, points, item_group)
  SELECT program_id, 'shirts', 'per_quantity', 2, 'Shirts' FROM program WHERE code = 'shop';
SELECT count(enroll('shop', 'C' || i, 'Customer ' || i, phone => '+8490100' || lpad(i::text, 4, '0')))
  FROM generate_series(1, 30) i;
SELECT count(record_order('shop', 'C' || (i % 30 + 1), 'D' || i,
                          jsonb_build_array(jsonb_build_object('sku', 'S' || i, 'group', CASE WHEN i % 3 = 0 THEN 'Shirts' END,
                                                               'qty', 1 + i % 3, 'price', 10000 * (1 + i % 7))),
                          branch => 'HN-01'))
  FROM generate_series(1, 120) i;
SELECT count(return_order('shop', 'D' || i, 'R' || i, '[{"line": 1, "qty": 1}]')) FROM generate_series(1, 120, 7) i;
SELECT count(cancel_order('shop', 'D' || i)) FROM generate_series(2, 120, 11) i;
SELECT adjust('shop', 'C1', 5, 'gift');
-- redemption
INSERT INTO redemption_policy (program_id, min_balance, max_bill_percent, redeem_step)
  SELECT program_id, 1, 50, 1 FROM program WHERE code = 'shop';
SELECT points FROM record_order('shop', 'C3', 'BIG-1', total => 500000);
SELECT points_used FROM redeem('shop', 'C3', 'PAY-1', 20, total => 100000, branch => 'HN-01');
-- a wallet with a bonus rule: top-up and spend
INSERT INTO wallet_bonus_rule (program_id, name, min_amount, bonus_percent)
  SELECT program_id, '10% bonus', 100000, 10 FROM program WHERE code = 'shop';
SELECT * FROM wallet_top_up('shop', 'C4', 500000, 'TOP-1', 'HN-01');
SELECT * FROM wallet_spend('shop', 'C4', 'WPAY-1', 120000, 'HN-01');
-- vouchers: a type, a batch (the codes kept in a table of the shop), one used
INSERT INTO voucher_type (program_id, code, name, kind, face_value)
  SELECT program_id, 'V50', 'Voucher 50K', 'voucher', 50000 FROM program WHERE code = 'shop';
CREATE TABLE public.shop_codes (n int PRIMARY KEY, code loyalty.code NOT NULL);
INSERT INTO public.shop_codes SELECT row_number() OVER (), c FROM voucher_issue('shop', 'V50', 3, batch => 'before-update') c;
SELECT ok, amount FROM public.shop_codes s, voucher_redeem(s.code::text, 'VPAY-1', 'HN-01', 200000) WHERE n = 1;
EOF
rc=$?
tap_is "the $OLDEST data set loads (orders, returns, a redemption, a wallet, vouchers)" "$rc" "0"
[ "$rc" -ne 0 ] && tap_diag "$DIR/load.log" 30
tap_is "check_ledger() is clean before the update" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT count(*) FROM loyalty.check_ledger()" 2>&1)" "0"

# A checksum of every extension table, over the columns it has before the update
# (an update may add columns; the old ones must keep their values)
tap_sql "$DIR" "$PORT" upgraded_data "
    SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY x::text), '''')) FROM (SELECT %s FROM ONLY %s) x;',
                  c.oid::regclass, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum), c.oid::regclass)
      FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass
                       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND c.relkind = 'r'
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_loyalty')
     GROUP BY c.oid ORDER BY c.oid::regclass::text COLLATE \"C\"" >"$DIR/checksums.sql"
tap_sql_in upgraded_data <"$DIR/checksums.sql" >"$DIR/data.before" 2>&1
tap_sql "$DIR" "$PORT" upgraded_data "SELECT loyalty.balance('shop', 'C' || i) FROM generate_series(1, 30) i" \
    >"$DIR/balances.before" 2>&1

tap_is "ALTER EXTENSION pg_loyalty UPDATE with data in the tables" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "ALTER EXTENSION pg_loyalty UPDATE" 2>&1)" ""
tap_is "the extension is at $CURRENT after the update" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT extversion FROM pg_extension WHERE extname = 'pg_loyalty'")" "$CURRENT"
tap_is "check_ledger() is clean after the update" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT count(*) FROM loyalty.check_ledger()" 2>&1)" "0"
tap_sql_in upgraded_data <"$DIR/checksums.sql" >"$DIR/data.after" 2>&1
tap_same "every extension table keeps its rows and values through the update" "$DIR/data.before" "$DIR/data.after"
tap_sql "$DIR" "$PORT" upgraded_data "SELECT loyalty.balance('shop', 'C' || i) FROM generate_series(1, 30) i" \
    >"$DIR/balances.after" 2>&1
tap_same "the balances are the same after the update" "$DIR/balances.before" "$DIR/balances.after"

# the functions work after the update
tap_is "an order earns after the update" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT (loyalty.record_order('shop', 'C2', 'AFTER-1', total => 50000)).points::numeric" 2>&1)" "5.00"
tap_is "an order retried after the update is a replay" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT (loyalty.record_order('shop', 'C2', 'AFTER-1', total => 50000)).replayed" 2>&1)" "t"
tap_is "a return after the update takes points back" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT loyalty.return_order('shop', 'AFTER-1', 'AFTER-R1', amount => 10000)::numeric" 2>&1)" "1.00"
tap_is "points are redeemed after the update" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT (loyalty.redeem('shop', 'C3', 'PAY-2', 5, total => 100000)).points_used::numeric" 2>&1)" "5.00"
tap_is "a redemption from before the update replays" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT (loyalty.redeem('shop', 'C3', 'PAY-1', 20, total => 100000)).replayed" 2>&1)" "t"
tap_is "the wallet spends after the update" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT count(*) FROM loyalty.wallet_spend('shop', 'C4', 'WPAY-2', 10000, 'HN-01')" 2>&1)" "1"
tap_is "a voucher issued before the update is redeemed after it" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT r.ok || ' ' || r.amount FROM public.shop_codes s,
        loyalty.voucher_redeem(s.code::text, 'VPAY-2', 'HN-01', 200000) r WHERE s.n = 2" 2>&1)" "true 50000.00"
tap_is "a voucher used before the update stays used" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT r.reason FROM public.shop_codes s,
        loyalty.voucher_redeem(s.code::text, 'VPAY-3', 'HN-01', 200000) r WHERE s.n = 1" 2>&1)" "used"
tap_is "a new member enrols after the update" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT loyalty.enroll('shop', 'NEW-1') > 0" 2>&1)" "t"
tap_is "check_ledger() is clean after the new writes" \
    "$(tap_sql "$DIR" "$PORT" upgraded_data "SELECT count(*) FROM loyalty.check_ledger()" 2>&1)" "0"

# 2. every older version + UPDATE is the same as a fresh install
tap_sql "$DIR" "$PORT" postgres "CREATE DATABASE fresh" >/dev/null
tap_sql "$DIR" "$PORT" fresh "CREATE EXTENSION pg_loyalty" >/dev/null
catalog fresh "$DIR/catalog.fresh"
tap_check "the catalog listing of a fresh install is not empty" test -s "$DIR/catalog.fresh"
[ -s "$DIR/catalog.fresh" ] || tap_diag "$DIR/catalog.fresh.err" 10
schema_dump fresh "$DIR/dump.fresh"
for v in $OLDER; do
    db="upgraded_from_${v//./_}"
    tap_sql "$DIR" "$PORT" postgres "CREATE DATABASE $db" >/dev/null
    out=$(tap_sql "$DIR" "$PORT" "$db" "CREATE EXTENSION pg_loyalty VERSION '$v'; ALTER EXTENSION pg_loyalty UPDATE;
                                       SELECT extversion FROM pg_extension WHERE extname = 'pg_loyalty'" 2>&1)
    tap_is "$v + ALTER EXTENSION UPDATE (empty database) reaches $CURRENT" "$out" "$CURRENT"
    catalog "$db" "$DIR/catalog.$v"
    grep ' | config dump: ' "$DIR/catalog.fresh" >"$DIR/config.fresh"
    grep ' | config dump: ' "$DIR/catalog.$v" >"$DIR/config.$v"
    tap_same "$v + UPDATE: the same pg_extension_config_dump tables and conditions" \
        "$DIR/config.fresh" "$DIR/config.$v"
    grep -E '^function .* \| (acl|initial privileges \(e\)): ' "$DIR/catalog.fresh" >"$DIR/acl.fresh"
    grep -E '^function .* \| (acl|initial privileges \(e\)): ' "$DIR/catalog.$v" >"$DIR/acl.$v"
    tap_same "$v + UPDATE: the same function ACLs" "$DIR/acl.fresh" "$DIR/acl.$v"
    tap_same "$v + UPDATE: the same extension objects (test/tap/extension_catalog.sql)" \
        "$DIR/catalog.fresh" "$DIR/catalog.$v" 150
    schema_dump "$db" "$DIR/dump.$v"
    tap_same "$v + UPDATE: the same pg_dump --schema-only" "$DIR/dump.fresh" "$DIR/dump.$v"
done

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
