-- pgbench: quote + redeem at the till.  loyalty.quote() for a bill of a
-- random member, then loyalty.redeem() of up to 20 points of what the quote
-- allows (skipped when it allows none), each its own transaction.
\set cust random(1, :customers)
\set total random(50, 2000) * 1000
SELECT max_points AS maxp FROM loyalty.quote('bench', :cust::text, total => :total::numeric) \gset
SELECT r.points_used
  FROM loyalty.redeem('bench', :cust::text, 'BP' || nextval('shop.doc_seq'),
                      least(:maxp::numeric, 20)::loyalty.points, total => :total::numeric) r
 WHERE :maxp::numeric > 0;
