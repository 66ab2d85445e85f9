-- pgbench: pay 10,000 VND of a bill from a member's wallet with
-- loyalty.wallet_spend().  The driver tops up the wallets of customers
-- 1 .. :wallets first; skipped when wallet_spend is not installed.
\set cust random(1, :wallets)
\set branch random(1, 20)
SELECT spent FROM loyalty.wallet_spend('bench', :cust::text, 'BW' || nextval('shop.doc_seq'), 10000,
                                       'B' || :branch::text);
