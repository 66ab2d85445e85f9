-- pgbench: the host's insert of one paid order with 3 lines (as
-- order_insert.sql) plus loyalty.apply_discounts() for it in the same
-- transaction: what a till does while a campaign with a discount policy runs.
-- Run with shop.orders attached and campaign bench-promo running.
\set cust random(1, :customers)
\set branch random(1, 20)
\set p1 random(1, :products)
\set p2 random(1, :products)
\set p3 random(1, :products)
\set q1 random(1, 3)
\set q2 random(1, 3)
\set q3 random(1, 3)
\set g1 (:p1 - 1) % 50 + 1
\set g2 (:p2 - 1) % 50 + 1
\set g3 (:p3 - 1) % 50 + 1
\set pr1 1000 * (10 + (:p1 * 37) % 491)
\set pr2 1000 * (10 + (:p2 * 37) % 491)
\set pr3 1000 * (10 + (:p3 * 37) % 491)
\set total :pr1 * :q1 + :pr2 * :q2 + :pr3 * :q3
BEGIN;
INSERT INTO shop.orders (order_id, customer_id, total, branch)
VALUES (nextval('shop.order_seq'), :cust::bigint, :total::numeric, 'B' || :branch::text)
RETURNING order_id AS oid \gset
INSERT INTO shop.order_lines (order_id, line_no, sku, grp, qty, price)
VALUES (:oid::bigint, 1, 'SKU-' || :p1::text, 'G' || :g1::text, :q1::numeric, :pr1::numeric),
       (:oid::bigint, 2, 'SKU-' || :p2::text, 'G' || :g2::text, :q2::numeric, :pr2::numeric),
       (:oid::bigint, 3, 'SKU-' || :p3::text, 'G' || :g3::text, :q3::numeric, :pr3::numeric);
SELECT count(*) FROM loyalty.apply_discounts('bench', :cust::text, :oid::text,
       jsonb_build_array(
         jsonb_build_object('line', 1, 'sku', 'SKU-' || :p1::text, 'group', 'G' || :g1::text,
                            'qty', :q1::numeric, 'price', :pr1::numeric),
         jsonb_build_object('line', 2, 'sku', 'SKU-' || :p2::text, 'group', 'G' || :g2::text,
                            'qty', :q2::numeric, 'price', :pr2::numeric),
         jsonb_build_object('line', 3, 'sku', 'SKU-' || :p3::text, 'group', 'G' || :g3::text,
                            'qty', :q3::numeric, 'price', :pr3::numeric)),
       source => 'shop.orders');
COMMIT;
