-- Wallet / stored-value card: top-ups with bonuses, spends never below zero,
-- refunds once, cash-back levels, level-up, conversion to VIP, the float
\set VERBOSITY terse
SET search_path = public, loyalty;

-- the SQLSTATE and message of a statement that fails
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

INSERT INTO loyalty.program (code, name, currency) VALUES ('sv_wallet', 'Wallet cafe', 'VND');
SELECT count(*) AS enrolled FROM (SELECT loyalty.enroll('sv_wallet', k) FROM unnest(ARRAY['W1', 'W2', 'W3']) k) e;

-- bonuses: pay 1 000 000 receive 1 500 000; 10% on 200 000 - 999 999; an expired 100% rule
INSERT INTO loyalty.wallet_bonus_rule (program_id, name, min_amount, max_amount, bonus_amount, bonus_percent, valid_from, valid_to)
SELECT p.program_id, r.* FROM loyalty.program p,
 (VALUES ('1M gets 1.5M', 1000000, NULL::numeric, 500000, NULL::numeric, NULL::timestamptz, NULL::timestamptz),
         ('10% from 200K', 200000, 999999.99, NULL, 10, NULL, NULL),
         ('old double', 0, NULL, NULL, 100, now() - interval '2 days', now() - interval '1 day'))
 AS r(name, min_amount, max_amount, bonus_amount, bonus_percent, valid_from, valid_to)
WHERE p.code = 'sv_wallet';
-- levels: Member 5%, Potential 10% from 2M revenue, Gold 15% from 5M converts to a VIP card
INSERT INTO loyalty.wallet_level (program_id, rank, name, min_revenue, cashback_percent, converts_to_vip)
SELECT p.program_id, l.* FROM loyalty.program p,
 (VALUES (0, 'Member', 0, 5, false), (1, 'Potential', 2000000, 10, false), (2, 'Gold', 5000000, 15, true))
 AS l(rank, name, min_revenue, cashback_percent, converts_to_vip)
WHERE p.code = 'sv_wallet';

-- top-ups
SELECT * FROM loyalty.wallet_top_up('sv_wallet', 'W1', 1000000, 'TOP-1', 'HCM');
SELECT * FROM loyalty.wallet_top_up('sv_wallet', 'W1', 250000, 'TOP-2', 'HCM');
SELECT * FROM loyalty.wallet_top_up('sv_wallet', 'W1', 50000.50, 'TOP-3', 'HN');
-- a retry answers the same and moves nothing; a different amount is a conflict
SELECT * FROM loyalty.wallet_top_up('sv_wallet', 'W1', 1000000, 'TOP-1', 'HCM');
SELECT pg_temp.err($$SELECT loyalty.wallet_top_up('sv_wallet', 'W1', 999, 'TOP-1')$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_top_up('sv_wallet', 'W1', 0, 'TOP-9')$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_top_up('sv_wallet', 'W1', 1.001, 'TOP-9')$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_top_up('sv_wallet', 'W1', NULL, 'TOP-9')$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_top_up('sv_wallet', 'nobody', 10, 'TOP-9')$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_top_up('nope', 'W1', 10, 'TOP-9')$$);

-- spends
SELECT * FROM loyalty.wallet_spend('sv_wallet', 'W1', 'BILL-1', 300000, 'HCM');
SELECT * FROM loyalty.wallet_spend('sv_wallet', 'W1', 'BILL-1', 300000, 'HCM');
SELECT pg_temp.err($$SELECT loyalty.wallet_spend('sv_wallet', 'W1', 'BILL-1', 1)$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_spend('sv_wallet', 'W1', 'BILL-2', 5000000)$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_spend('sv_wallet', 'W2', 'BILL-3', 1)$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_spend('sv_wallet', 'W1', 'BILL-3', -5)$$);
-- the whole balance can be spent, not a hundredth more
SELECT * FROM loyalty.wallet_spend('sv_wallet', 'W1', 'BILL-4', 1525000.50, 'HN');
SELECT pg_temp.err($$SELECT loyalty.wallet_spend('sv_wallet', 'W1', 'BILL-5', 0.01)$$);

-- refunds: exactly once
SELECT * FROM loyalty.wallet_refund('sv_wallet', 'BILL-1', 'HCM');
SELECT * FROM loyalty.wallet_refund('sv_wallet', 'BILL-1', 'HCM');
SELECT pg_temp.err($$SELECT loyalty.wallet_refund('sv_wallet', 'NO-BILL')$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_refund('sv_wallet', 'TOP-1')$$);

-- a blocked wallet takes nothing
UPDATE loyalty.wallet SET status = 'blocked' WHERE member_id = loyalty.member_id('sv_wallet', 'W1');
SELECT pg_temp.err($$SELECT loyalty.wallet_spend('sv_wallet', 'W1', 'BILL-6', 1)$$);
UPDATE loyalty.wallet SET status = 'active' WHERE member_id = loyalty.member_id('sv_wallet', 'W1');

-- cash-back at the level held before the bill, then level-up by revenue
SELECT cashback, level, balance, vip_card IS NOT NULL AS vip FROM loyalty.wallet_cashback('sv_wallet', 'W3', 'B-1', 1500000, 'HCM');
SELECT cashback, level, balance, vip_card IS NOT NULL AS vip FROM loyalty.wallet_cashback('sv_wallet', 'W3', 'B-2', 1000000, 'HCM');
SELECT cashback, level, balance, vip_card IS NOT NULL AS vip FROM loyalty.wallet_cashback('sv_wallet', 'W3', 'B-2', 1000000, 'HCM');
SELECT pg_temp.err($$SELECT loyalty.wallet_cashback('sv_wallet', 'W3', 'B-2', 1)$$);
SELECT pg_temp.err($$SELECT loyalty.wallet_cashback('sv_wallet', 'W3', 'B-9', -1)$$);
-- Gold converts the wallet card into a VIP card, once
SELECT cashback, level, balance, vip_card ~ '^V1P-' AS vip FROM loyalty.wallet_cashback('sv_wallet', 'W3', 'B-3', 3000000, 'HN');
SELECT cashback, level, balance, vip_card IS NOT NULL AS vip FROM loyalty.wallet_cashback('sv_wallet', 'W3', 'B-4', 100000, 'HN');
SELECT c.level_rank, c.document, k.series, k.status
  FROM loyalty.wallet_vip_conversion c JOIN loyalty.card k ON k.card_no = c.card_no
 WHERE c.member_id = loyalty.member_id('sv_wallet', 'W3');
SELECT revenue, level_rank, balance FROM loyalty.wallet WHERE member_id = loyalty.member_id('sv_wallet', 'W3');
-- cash-back is spendable on the next visit
SELECT * FROM loyalty.wallet_spend('sv_wallet', 'W3', 'B-5', 100000, 'HN');

-- every movement: time, branch, bill
SELECT k.customer_key, l.kind, l.document, l.ref_document, l.branch, l.amount, l.bill_amount, l.created_at IS NOT NULL AS has_time
  FROM loyalty.wallet_ledger l JOIN loyalty.member k ON k.member_id = l.member_id
 WHERE l.program_id = (SELECT program_id FROM loyalty.program WHERE code = 'sv_wallet')
 ORDER BY k.customer_key, l.document, l.kind;

-- the ledger is append-only
SELECT pg_temp.err($$UPDATE loyalty.wallet_ledger SET amount = amount + 1$$);
SELECT pg_temp.err($$DELETE FROM loyalty.wallet_ledger$$);
SELECT pg_temp.err($$TRUNCATE loyalty.wallet_ledger$$);
-- a balance that disagrees with the ledger shows up in the check
BEGIN;
UPDATE loyalty.wallet SET balance = balance + 1 WHERE member_id = loyalty.member_id('sv_wallet', 'W3');
SELECT invariant, detail FROM loyalty.check_stored_value();
ROLLBACK;

-- the prepaid float
SELECT * FROM loyalty.wallet_float WHERE program = 'sv_wallet';

-- wallet money never touches points
SELECT count(*) AS point_entries FROM loyalty.ledger l JOIN loyalty.member m USING (member_id)
 WHERE m.program_id = (SELECT program_id FROM loyalty.program WHERE code = 'sv_wallet');
SELECT loyalty.stored_percent_of(33333.33, 12.5) AS pct;
SELECT * FROM loyalty.check_stored_value();
SELECT * FROM loyalty.check_ledger();
