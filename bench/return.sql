-- pgbench: a partial return (1,000 VND of goods) of a random historical
-- order with loyalty.return_order(); every 33rd order of the history was
-- returned whole (bench/generate.sql), so those are skipped.
-- Needs -D orders=N (the number of historical orders).
\set d random(1, :orders - 1)
\set d :d + (case when :d % 33 = 0 then 1 else 0 end)
SELECT loyalty.return_order('bench', :d::text, 'BR' || nextval('shop.doc_seq'), amount => 1000);
