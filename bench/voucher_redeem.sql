-- pgbench: use one voucher (100,000 VND) on a bill with loyalty.voucher_redeem().
-- The driver issues the codes first (shop.bench_voucher); each transaction
-- takes the next unused one.  Skipped when voucher_redeem is not installed.
\set branch random(1, 20)
SELECT (loyalty.voucher_redeem(v.code, 'BV' || nextval('shop.doc_seq'), 'B' || :branch::text, 500000)).*
  FROM (SELECT code FROM shop.bench_voucher WHERE n = (SELECT nextval('shop.voucher_pick'))) v;
