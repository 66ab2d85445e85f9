-- Prepaid product cards: issue, use up to the per-visit limit as a bill
-- line at price 0, top up extra units, validity, history
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

INSERT INTO loyalty.program (code, name) VALUES ('sv_cards', 'Spa and beer');
SELECT count(*) AS enrolled FROM (SELECT loyalty.enroll('sv_cards', k) FROM unnest(ARRAY['P1', 'P2']) k) e;

-- 10 spa sessions (2 a visit, extra sessions 250K), a buffet pass (1 a visit,
-- valid 30 days, no top-ups), a beer card (given away), one already expired
INSERT INTO loyalty.product_card_type (program_id, code, name, item_sku, units, visit_limit, price, extra_unit_price, validity_days)
SELECT p.program_id, t.* FROM loyalty.program p,
 (VALUES ('SPA10', '10 spa sessions', 'SPA-60', 10, 2, 2000000, 250000, 365),
         ('BUFFET', 'Buffet pass', 'BUFFET', 5, 1, 1000000, NULL, 30),
         ('BEER', 'Beer card', 'BEER-05', 24, NULL, 0, 30000, NULL))
 AS t(code, name, item_sku, units, visit_limit, price, extra_unit_price, validity_days)
WHERE p.code = 'sv_cards';

CREATE TEMP TABLE cards (tag text, code loyalty.code);
INSERT INTO cards SELECT 'spa', loyalty.product_card_issue('sv_cards', 'P1', 'SPA10', 'SALE-1', 'SP');
INSERT INTO cards SELECT 'buffet', loyalty.product_card_issue('sv_cards', 'P1', 'BUFFET', 'SALE-2');
INSERT INTO cards SELECT 'beer', loyalty.product_card_issue('sv_cards', NULL, 'BEER', 'GIFT-1');
SELECT tag, loyalty.code_series(code) AS series FROM cards ORDER BY tag;
-- issuing again with the same document returns the same card
SELECT c.code OPERATOR(loyalty.=) loyalty.product_card_issue('sv_cards', 'P1', 'SPA10', 'SALE-1', 'SP') AS same_card
  FROM cards c WHERE tag = 'spa';
SELECT pg_temp.err($$SELECT loyalty.product_card_issue('sv_cards', 'P2', 'SPA10', 'SALE-1')$$);
SELECT pg_temp.err($$SELECT loyalty.product_card_issue('sv_cards', 'P1', 'NOPE', 'SALE-9')$$);
SELECT pg_temp.err($$SELECT loyalty.product_card_issue('sv_cards', 'nobody', 'SPA10', 'SALE-9')$$);
SELECT pg_temp.err($$SELECT loyalty.product_card_issue('nope', NULL, 'SPA10', 'SALE-9')$$);
SELECT pg_temp.err($$SELECT loyalty.product_card_issue('sv_cards', 'P1', 'SPA10', NULL)$$);
SELECT t.code, c.units_left, c.member_id IS NOT NULL AS has_holder,
       round(extract(epoch FROM c.valid_to - c.issued_at) / 86400) AS valid_days
  FROM loyalty.product_card c JOIN loyalty.product_card_type t USING (type_id) ORDER BY t.code;

-- uses: the bill line at price 0
SELECT u.* FROM cards c, loyalty.product_card_use(c.code, 2, 'VISIT-1', 'HCM') u WHERE tag = 'spa';
SELECT u.* FROM cards c, loyalty.product_card_use(c.code, 1, 'VISIT-2', 'HN') u WHERE tag = 'spa';
-- a retry of the same visit answers the same and takes nothing
SELECT u.* FROM cards c, loyalty.product_card_use(c.code, 1, 'VISIT-2', 'HN') u WHERE tag = 'spa';
SELECT pg_temp.err(format('SELECT loyalty.product_card_use(%L, 2, ''VISIT-2'')', code)) FROM cards WHERE tag = 'spa';
-- more than the per-visit limit
SELECT left(pg_temp.err(format('SELECT loyalty.product_card_use(%L, 3, ''VISIT-3'')', code)), 80) FROM cards WHERE tag = 'spa';
SELECT left(pg_temp.err(format('SELECT loyalty.product_card_use(%L, 0, ''VISIT-3'')', code)), 80) FROM cards WHERE tag = 'spa';
-- an unknown card, a malformed number
SELECT pg_temp.err(format('SELECT loyalty.product_card_use(%L, 1, ''VISIT-3'')', loyalty.new_code())) ~ '^LS020: product card .* does not exist$' AS unknown;
SELECT pg_temp.err($$SELECT loyalty.product_card_use('HELLO', 1, 'VISIT-3')$$);
-- the beer card has no per-visit limit: take all 24, then one more is refused
SELECT u.* FROM cards c, loyalty.product_card_use(c.code, 24, 'PARTY', 'HCM') u WHERE tag = 'beer';
SELECT regexp_replace(pg_temp.err(format('SELECT loyalty.product_card_use(%L, 1, ''PARTY-2'')', code)), '[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}', 'X')
  FROM cards WHERE tag = 'beer';
-- top up: extra units at the set price
SELECT t.* FROM cards c, loyalty.product_card_top_up(c.code, 6, 'TOPUP-1', 'HCM') t WHERE tag = 'beer';
SELECT t.* FROM cards c, loyalty.product_card_top_up(c.code, 6, 'TOPUP-1', 'HCM') t WHERE tag = 'beer';
SELECT left(pg_temp.err(format('SELECT loyalty.product_card_top_up(%L, 7, ''TOPUP-1'')', code)), 60) FROM cards WHERE tag = 'beer';
SELECT regexp_replace(pg_temp.err(format('SELECT loyalty.product_card_top_up(%L, 1, ''TOPUP-2'')', code)), '[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}', 'X')
  FROM cards WHERE tag = 'buffet';
SELECT pg_temp.err(format('SELECT loyalty.product_card_top_up(%L, -1, ''TOPUP-3'')', code)) FROM cards WHERE tag = 'beer';
SELECT u.* FROM cards c, loyalty.product_card_use(c.code, 6, 'PARTY-3', 'HN') u WHERE tag = 'beer';

-- validity: an expired card is refused
SELECT u.* FROM cards c, loyalty.product_card_use(c.code, 1, 'LUNCH-1', 'HCM') u WHERE tag = 'buffet';
BEGIN;
-- (simulate the passing of time: valid_to is not history, the movements are)
UPDATE loyalty.product_card SET valid_to = now() - interval '1 day'
 WHERE code OPERATOR(loyalty.=) (SELECT code FROM cards WHERE tag = 'buffet');
SELECT pg_temp.err(format('SELECT loyalty.product_card_use(%L, 1, ''LUNCH-2'')', code)) ~ '^LS021: product card expired on' AS expired,
       pg_temp.err(format('SELECT loyalty.product_card_top_up(%L, 1, ''TOPUP-9'')', code)) ~ '^(LS021|22023)' AS no_top_up
  FROM cards WHERE tag = 'buffet';
ROLLBACK;

-- history per card
SELECT c.tag, h.card_type, h.kind, h.units, h.sku, h.amount, h.document, h.branch
  FROM loyalty.product_card_history h JOIN cards c ON c.code::text = h.card_code
 ORDER BY c.tag, h.created_at, h.kind DESC, h.document;
SELECT t.code, c.units_left FROM loyalty.product_card c JOIN loyalty.product_card_type t USING (type_id) ORDER BY t.code;

-- movements are append-only; units never below zero
SELECT pg_temp.err($$UPDATE loyalty.product_card_move SET units = 100$$);
SELECT pg_temp.err($$DELETE FROM loyalty.product_card_move$$);
SELECT pg_temp.err($$UPDATE loyalty.product_card SET units_left = -1$$);
BEGIN;
UPDATE loyalty.product_card SET units_left = units_left + 1
 WHERE code OPERATOR(loyalty.=) (SELECT code FROM cards WHERE tag = 'spa');
SELECT invariant FROM loyalty.check_stored_value();
ROLLBACK;
SELECT * FROM loyalty.check_stored_value();
SELECT * FROM loyalty.check_ledger();
