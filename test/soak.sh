#!/bin/bash
# Soak test: N pgbench clients (SOAK_CLIENTS, default 8) for M seconds
# (SOAK_SECONDS, default 60) record orders, return them, cancel them and spend
# points on a few hot members of two programs (one lets returns take balances
# below zero, one caps them at the balance), through a till role bound to its
# branch.  Afterwards: no client aborted (no deadlock or unexpected error), no
# negative balance where the program forbids one, check_ledger() clean, and
# the counts of what happened.  Run with `make soak` (as root, or as a user
# after make install).
set -u
. "$(dirname "$0")/tap/lib.sh"

CLIENTS=${SOAK_CLIENTS:-8}
SECONDS_TO_RUN=${SOAK_SECONDS:-60}
MEMBERS=${SOAK_MEMBERS:-5}
DIR=$(tap_scratch)
PORT=$((58000 + $$ % 400))
trap 'tap_stop_cluster "$DIR"; rm -rf "$DIR"' EXIT
tap_start_cluster "$DIR" "$PORT" "max_connections = $((CLIENTS + 20))" "deadlock_timeout = '100ms'" \
    || { echo "not ok 1 - cluster starts"; exit 1; }

tap_sql "$DIR" "$PORT" postgres "CREATE DATABASE soak" >/dev/null
cat >"$DIR/setup.sql" <<SQL
CREATE EXTENSION pg_loyalty;
INSERT INTO loyalty.program (code, name, return_when_spent) VALUES
    ('soak_neg', 'Soak (negative allowed)', 'allow_negative'),
    ('soak_cap', 'Soak (capped at the balance)', 'cap_at_balance');
INSERT INTO loyalty.rule (program_id, name, kind, percent)
    SELECT program_id, '10%', 'percent', 10 FROM loyalty.program;
INSERT INTO loyalty.redemption_policy (program_id, max_bill_percent) SELECT program_id, 50 FROM loyalty.program;
SELECT loyalty.enroll(p, 'H' || i) FROM unnest(ARRAY['soak_neg', 'soak_cap']) p, generate_series(1, $MEMBERS) i;
SELECT loyalty.setup_roles('soak_admin', 'soak_till', 'soak_reader');
CREATE ROLE soak_pos LOGIN IN ROLE soak_till;
SELECT loyalty.bind_till('soak_pos', ARRAY['S1']);

-- stored value: every hot member's wallet holds 1,000,000; 2,000 bearer vouchers of 50,000
SELECT count(loyalty.wallet_top_up(p, 'H' || i, 1000000, 'TOPUP-' || p || '-' || i, 'S1'))
  FROM unnest(ARRAY['soak_neg', 'soak_cap']) p, generate_series(1, $MEMBERS) i;
INSERT INTO loyalty.voucher_type (program_id, code, name, kind, face_value)
    SELECT program_id, 'SV50', 'Soak voucher', 'voucher', 50000 FROM loyalty.program WHERE code = 'soak_neg';
CREATE TABLE soak_code AS SELECT c::text AS code FROM loyalty.voucher_issue('soak_neg', 'SV50', 2000) c;
CREATE UNLOGGED TABLE soak_voucher_ok (code text, document text);
GRANT INSERT ON soak_voucher_ok TO soak_pos;

-- One step of the soak: the refusals a till meets in real life (not enough
-- points, nothing left to return) are counted; anything else is raised and
-- aborts the pgbench client.
CREATE SEQUENCE soak_doc;
CREATE UNLOGGED TABLE soak_refusal (kind text, sqlstate text);
GRANT USAGE ON SEQUENCE soak_doc TO soak_pos;
GRANT INSERT ON soak_refusal TO soak_pos;
-- SECURITY DEFINER only so it may pick documents from the tables; the loyalty
-- functions still see session user soak_pos, a till bound to branch S1.
CREATE FUNCTION soak_step(kind text, program text, customer text, amount numeric) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS \$\$
DECLARE
    doc text;
BEGIN
    IF kind = 'order' THEN
        PERFORM loyalty.record_order(program, customer, 'O' || nextval('soak_doc'), total => amount, branch => 'S1');
    ELSIF kind IN ('return', 'cancel') THEN
        SELECT o.document INTO doc FROM loyalty.member_order o
         WHERE o.member_id = loyalty.member_id(program, customer) AND o.status = 'open'
         ORDER BY random() LIMIT 1;
        IF doc IS NULL THEN
            RETURN 'none';
        ELSIF kind = 'return' THEN
            PERFORM loyalty.return_order(program, doc, 'R' || nextval('soak_doc'), amount => amount / 4, branch => 'S1');
        ELSE
            PERFORM loyalty.cancel_order(program, doc);
        END IF;
    ELSIF kind = 'redeem' THEN
        PERFORM loyalty.redeem(program, customer, 'B' || nextval('soak_doc'), (amount / 20000)::integer,
                               total => amount, branch => 'S1');
    ELSIF kind = 'refund' THEN
        -- a refund of a random recent redemption of the member
        SELECT r.document INTO doc FROM loyalty.redemption r
         WHERE r.member_id = loyalty.member_id(program, customer) AND r.status = 'spent'
         ORDER BY random() LIMIT 1;
        IF doc IS NULL THEN
            RETURN 'none';
        END IF;
        PERFORM loyalty.refund_redemption(program, doc);
    ELSIF kind = 'wallet' THEN
        PERFORM loyalty.wallet_spend(program, customer, 'W' || nextval('soak_doc'), amount * 4, 'S1');
    ELSIF kind = 'voucher' THEN
        -- two tills may pick the same code: exactly one may use it
        SELECT c.code INTO doc FROM soak_code c ORDER BY random() LIMIT 1;
        IF (SELECT v.ok FROM loyalty.voucher_redeem(doc, 'V' || nextval('soak_doc'), 'S1', 200000) v) THEN
            INSERT INTO soak_voucher_ok VALUES (doc, 'V' || currval('soak_doc'));
        END IF;
    END IF;
    RETURN 'ok';
EXCEPTION WHEN SQLSTATE 'LR002' OR SQLSTATE 'LR003' OR SQLSTATE 'LY004' OR SQLSTATE 'LR011'
            OR SQLSTATE 'LS002' THEN
    INSERT INTO soak_refusal VALUES (kind, SQLSTATE);
    RETURN SQLSTATE;
END
\$\$;
GRANT EXECUTE ON FUNCTION soak_step(text, text, text, numeric) TO soak_pos;
SQL
[ "$(id -u)" -eq 0 ] && chown postgres "$DIR/setup.sql"
"${AS_PG[@]}" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -d soak -f "$DIR/setup.sql" >"$DIR/setup.log" 2>&1 || { echo "not ok 1 - soak database set up"; cat "$DIR/setup.log"; exit 1; }

for kind in order return cancel redeem refund wallet voucher; do
    cat >"$DIR/$kind.sql" <<SQL
\\set m random(1, $MEMBERS)
\\set p random(0, 1)
\\set a random(1, 50)
SELECT soak_step('$kind', CASE :p WHEN 0 THEN 'soak_neg' ELSE 'soak_cap' END, 'H' || :m, :a * 10000);
SQL
done
[ "$(id -u)" -eq 0 ] && chown postgres "$DIR"/*.sql

echo "# $CLIENTS clients for $SECONDS_TO_RUN s on $MEMBERS hot members per program"
"${AS_PG[@]}" "$BINDIR/pgbench" -n -h "$DIR" -p "$PORT" -U soak_pos -c "$CLIENTS" -j "$(( CLIENTS < 4 ? CLIENTS : 4 ))" \
    -T "$SECONDS_TO_RUN" -f "$DIR/order.sql@6" -f "$DIR/return.sql@2" -f "$DIR/cancel.sql@2" \
    -f "$DIR/redeem.sql@3" -f "$DIR/refund.sql@1" -f "$DIR/wallet.sql@2" -f "$DIR/voucher.sql@2" \
    soak >"$DIR/pgbench.log" 2>&1
RC=$?
grep -E "^(number of transactions actually processed|number of failed|tps|latency average)" "$DIR/pgbench.log" | sed 's/^/# /'
tap_is "pgbench ran to the end" "$RC" "0"
tap_is "no client aborted (deadlock or unexpected error)" \
    "$(grep -cE 'client [0-9]+ (aborted|script [0-9]+ aborted)' "$DIR/pgbench.log")" "0"
grep -E "ERROR|aborted" "$DIR/pgbench.log" | sort | uniq -c | head -5 | sed 's/^/# /'

tap_sql "$DIR" "$PORT" soak "
SELECT 'orders ' || count(*) || ', cancelled ' || count(*) FILTER (WHERE status = 'cancelled')
       || ', partly or fully returned ' || count(*) FILTER (WHERE returned_amount > 0) FROM loyalty.member_order;
SELECT 'redemptions ' || count(*) || ', refunded ' || count(*) FILTER (WHERE status = 'refunded') FROM loyalty.redemption;
SELECT 'ledger entries ' || count(*) FROM loyalty.ledger;
SELECT 'wallet spends ' || count(*) FROM loyalty.wallet_ledger WHERE kind = 'spend';
SELECT 'vouchers used ' || count(*) FROM soak_voucher_ok;
SELECT 'refused ' || kind || ' ' || sqlstate || ': ' || count(*) FROM soak_refusal GROUP BY kind, sqlstate ORDER BY 1;
SELECT 'negative balances in soak_neg (allowed): ' || count(*) FROM loyalty.balance b
  JOIN loyalty.program p USING (program_id) WHERE p.code = 'soak_neg' AND b.points::numeric < 0;" | sed 's/^/# /'

tap_check "orders were recorded" test "$(tap_sql "$DIR" "$PORT" soak "SELECT count(*) FROM loyalty.member_order")" -gt 0
tap_is "no negative balance where the program caps returns at the balance" \
    "$(tap_sql "$DIR" "$PORT" soak "SELECT count(*) FROM loyalty.balance b JOIN loyalty.program p USING (program_id)
        WHERE p.return_when_spent = 'cap_at_balance' AND b.points::numeric < 0")" "0"
tap_is "check_ledger() is clean" "$(tap_sql "$DIR" "$PORT" soak "SELECT count(*) FROM loyalty.check_ledger()")" "0"
tap_sql "$DIR" "$PORT" soak "SELECT * FROM loyalty.check_ledger() LIMIT 5" | sed 's/^/# /'
tap_is "no wallet below zero" \
    "$(tap_sql "$DIR" "$PORT" soak "SELECT count(*) FROM loyalty.wallet WHERE balance < 0")" "0"
tap_is "no voucher used twice" \
    "$(tap_sql "$DIR" "$PORT" soak "SELECT count(*) FROM (SELECT voucher_id FROM loyalty.voucher_use
        WHERE voided_at IS NULL GROUP BY voucher_id HAVING count(*) > 1) d")" "0"
tap_is "every successful voucher use is one use row" \
    "$(tap_sql "$DIR" "$PORT" soak "SELECT count(*) = (SELECT count(*) FROM loyalty.voucher_use WHERE voided_at IS NULL)
        FROM soak_voucher_ok")" "t"
tap_is "every document stayed at the till's branch" \
    "$(tap_sql "$DIR" "$PORT" soak "SELECT count(*) FROM loyalty.member_order WHERE branch IS DISTINCT FROM 'S1'")" "0"

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
