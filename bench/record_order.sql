-- pgbench: the extension's own intake, loyalty.record_order(), for the same
-- 3-line order as order_insert.sql, without a host insert.  The document is
-- drawn from shop.order_seq so every run's documents form a range.
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
SELECT member_id, points
  FROM loyalty.record_order('bench', :cust::text, nextval('shop.order_seq')::text,
       jsonb_build_array(
         jsonb_build_object('line', 1, 'sku', 'SKU-' || :p1::text, 'group', 'G' || :g1::text,
                            'qty', :q1::numeric, 'price', :pr1::numeric),
         jsonb_build_object('line', 2, 'sku', 'SKU-' || :p2::text, 'group', 'G' || :g2::text,
                            'qty', :q2::numeric, 'price', :pr2::numeric),
         jsonb_build_object('line', 3, 'sku', 'SKU-' || :p3::text, 'group', 'G' || :g3::text,
                            'qty', :q3::numeric, 'price', :pr3::numeric)),
       total => :total::numeric, branch => 'B' || :branch::text, source => 'pos');
