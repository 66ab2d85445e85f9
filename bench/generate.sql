-- pg_loyalty benchmark: members and two years of history of a retail chain,
-- bulk-loaded with INSERT ... SELECT (no per-order function calls).
-- Run by bench/run.sh after bench/setup.sql, with psql variables
--   :customers  members (every shop.customers row; 10% organisations)
--   :orders     historical orders, spread evenly over the last 730 days
--   :products   products (5,000 in 50 groups, see setup.sql)
--   :branches   branches B1 .. Bn
--   :backlog    days of expiries the expiry job has not processed yet
--
-- The loyalty rows are written directly, as the engine would have written
-- them, so loyalty.check_ledger() is clean afterwards:
--   * every order: loyalty.member_order (lines in the row), one 'earn' ledger
--     entry (entry_checksum() applied to the row in the INSERT), one lot;
--   * 3% of orders are returned whole a day later: a 'reverse' entry, the
--     order marked returned, a member_return row, the lot emptied;
--   * 8% of the other orders' points are spent a few days later, each
--     redemption spending exactly that order's lot (redemption,
--     redemption_lot, 'redeem' entry, lot emptied);
--   * lots that expired more than :backlog days ago were burnt the day after
--     they expired ('expire' entry per lot, lot emptied); lots expired within
--     the last :backlog days are left open: the expiry job's backlog;
--   * loyalty.balance is the sum of each member's entries (= its open lots).
-- Earning follows the program's rules (setup.sql): 1% of the value at 1,000
-- VND a point, 5 points per unit of G7, G13 earns nothing, 1 point a visit,
-- rounded to the nearest point.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET synchronous_commit = off;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';
SET pg_loyalty.accrual_enabled = off;
SELECT setseed(0.42);

SELECT program_id AS pid FROM loyalty.program WHERE code = 'bench' \gset
SELECT rule_id AS r_pct FROM loyalty.rule WHERE program_id = :pid AND kind = 'percent' \gset
SELECT rule_id AS r_g7 FROM loyalty.rule WHERE program_id = :pid AND kind = 'per_quantity' AND item_group = 'G7' \gset
SELECT rule_id AS r_g13 FROM loyalty.rule WHERE program_id = :pid AND kind = 'exclude' AND item_group = 'G13' \gset

-- Members ----------------------------------------------------------------------
INSERT INTO loyalty.member (member_id, program_id, customer_key, kind, name, phone, home_branch,
                            groups, birthday, enrolled_at)
SELECT loyalty.generate_id(), :pid, c.customer_id::text,
       CASE WHEN c.customer_id % 10 = 0 THEN 'organisation' ELSE 'person' END,
       c.name, c.phone, 'B' || (1 + c.customer_id % :branches),
       CASE WHEN c.customer_id % 10 = 0 THEN '{wholesale}'::text[] ELSE '{retail}'::text[] END,
       CASE WHEN c.customer_id % 10 <> 0 THEN date '1960-01-01' + (c.customer_id * 7919 % 16000)::int END,
       now() - interval '3 years' + c.customer_id * interval '1 second'
  FROM shop.customers c ORDER BY c.customer_id;
INSERT INTO loyalty.member_key (program_id, customer_key, member_id)
SELECT program_id, customer_key, member_id FROM loyalty.member WHERE program_id = :pid;

CREATE UNLOGGED TABLE shop.gen_member AS
SELECT customer_key::bigint AS customer_id, member_id FROM loyalty.member WHERE program_id = :pid;
ALTER TABLE shop.gen_member ADD PRIMARY KEY (customer_id);

-- Orders: customer skewed towards low ids (10% of customers place ~30% of the
-- orders), 1-8 lines, chronological order ids, the last two days
-- before now (returns are dated a day after their order and must not lie in the future).
CREATE UNLOGGED TABLE shop.gen_order AS
SELECT o AS order_id,
       1 + floor(:customers * random() ^ 1.5)::bigint AS customer_id,
       now() - interval '732 days' + (o - 1) * (interval '730 days' / :orders)
             + random() * interval '10 minutes' AS ordered_at,
       'B' || (1 + floor(random() * :branches)::int) AS branch,
       1 + floor(random() * 8)::int AS nlines,
       random() AS fate
  FROM generate_series(1, :orders::bigint) o;

CREATE UNLOGGED TABLE shop.gen_line AS
SELECT s.order_id, s.line_no, s.p, s.qty,
       'SKU-' || s.p AS sku, 'G' || ((s.p - 1) % 50 + 1) AS grp,
       1000 * (10 + (s.p * 37) % 491)::numeric AS price,
       s.qty * 1000 * (10 + (s.p * 37) % 491)::numeric AS amount
  FROM (SELECT h.order_id, g AS line_no, 1 + floor(random() * :products)::int AS p,
               CASE WHEN h.customer_id % 10 = 0 THEN 5 + floor(random() * 16)::int
                    ELSE 1 + floor(random() * 3)::int END AS qty
          FROM shop.gen_order h, generate_series(1, h.nlines) g) s;

-- Each line's points and rule, as the rule engine decides them.
CREATE UNLOGGED TABLE shop.gen_line_points AS
SELECT l.*,
       CASE WHEN l.grp = 'G13' THEN 0::numeric
            WHEN l.grp = 'G7' THEN 5 * l.qty::numeric
            ELSE round(l.amount / 100000, 2) END AS pts,
       CASE WHEN l.grp = 'G13' THEN :r_g13::bigint
            WHEN l.grp = 'G7' THEN :r_g7::bigint
            ELSE :r_pct::bigint END AS rule_id
  FROM shop.gen_line l;

CREATE UNLOGGED TABLE shop.gen_hist AS
SELECT h.order_id, h.customer_id, m.member_id, h.ordered_at, h.branch,
       a.line_pts + 1 AS exact_pts, round(a.line_pts + 1) AS points, a.*,
       CASE WHEN h.order_id % 33 = 0 THEN 'returned'
            WHEN h.fate < 0.08 THEN 'redeemed'
            WHEN loyalty.lot_expiry(:pid, h.ordered_at) < now() - make_interval(days => :backlog) THEN 'expired'
            ELSE 'open' END AS outcome,
       loyalty.lot_expiry(:pid, h.ordered_at) AS expires_at,
       loyalty.generate_id() AS earn_id, loyalty.generate_id() AS out_id,
       least(h.ordered_at + (1 + floor(h.fate * 3000)::int) * interval '1 day', now() - interval '1 hour')
           AS redeemed_at
  FROM shop.gen_order h
  JOIN shop.gen_member m USING (customer_id)
  JOIN (SELECT order_id AS oid,
               sum(amount) AS amount, sum(pts) AS line_pts,
               array_agg(line_no ORDER BY line_no) AS line_nos,
               array_agg(sku ORDER BY line_no) AS line_skus,
               array_agg(grp ORDER BY line_no) AS line_groups,
               array_agg(qty::numeric ORDER BY line_no) AS line_quantities,
               array_agg(amount ORDER BY line_no) AS line_amounts,
               array_agg(pts::loyalty.points ORDER BY line_no) AS line_points,
               array_agg(rule_id ORDER BY line_no) AS line_rules,
               array_agg(0::numeric ORDER BY line_no) AS line_zero,
               array_agg(0::loyalty.points ORDER BY line_no) AS line_zero_points
          FROM shop.gen_line_points GROUP BY order_id) a ON a.oid = h.order_id;
ALTER TABLE shop.gen_hist DROP COLUMN oid;

-- The host's tables ------------------------------------------------------------
INSERT INTO shop.orders (order_id, customer_id, total, branch, created_at, status)
SELECT order_id, customer_id, amount, branch, ordered_at,
       CASE WHEN outcome = 'returned' THEN 'returned' ELSE 'paid' END
  FROM shop.gen_hist ORDER BY order_id;
INSERT INTO shop.order_lines (order_id, line_no, sku, grp, qty, price)
SELECT order_id, line_no, sku, grp, qty, price FROM shop.gen_line ORDER BY order_id, line_no;
SELECT setval('shop.order_seq', :orders);

-- Loyalty rows ------------------------------------------------------------------
INSERT INTO loyalty.member_order (member_id, program_id, source, document, branch, channel, ordered_at,
    amount, points, visit_points, rounding, returned_amount, reversed_points, status, entry_id,
    line_nos, line_skus, line_groups, line_quantities, line_amounts, line_points, line_rules,
    line_returned, line_reversed)
SELECT member_id, :pid, 'pos', order_id::text, branch, 'store', ordered_at,
       amount, points::loyalty.points, 1::loyalty.points, (points - exact_pts)::loyalty.points,
       CASE WHEN outcome = 'returned' THEN amount ELSE 0 END,
       CASE WHEN outcome = 'returned' THEN points ELSE 0 END::loyalty.points,
       CASE WHEN outcome = 'returned' THEN 'returned' ELSE 'open' END, earn_id,
       line_nos, line_skus, line_groups, line_quantities, line_amounts, line_points, line_rules,
       CASE WHEN outcome = 'returned' THEN line_quantities ELSE line_zero END,
       CASE WHEN outcome = 'returned' THEN line_points ELSE line_zero_points END
  FROM shop.gen_hist ORDER BY order_id;

-- Ledger entries in time order; each row is built as a loyalty.ledger value
-- and inserted with its checksum computed from it.
WITH e AS (
    SELECT ROW(member_id, earn_id, :pid, 'earn', points::loyalty.points, 'pos', order_id::text, NULL,
               branch, NULL, NULL, ordered_at, expires_at, NULL, 0)::loyalty.ledger AS r, ordered_at AS t
      FROM shop.gen_hist
    UNION ALL
    SELECT ROW(member_id, out_id, :pid, 'reverse', (-points)::loyalty.points, 'pos', 'R' || order_id,
               order_id::text, branch, NULL, NULL, ordered_at + interval '1 day', NULL, 'return', 0)::loyalty.ledger,
           ordered_at + interval '1 day'
      FROM shop.gen_hist WHERE outcome = 'returned'
    UNION ALL
    SELECT ROW(member_id, out_id, :pid, 'redeem', (-points)::loyalty.points, 'pos', 'P' || order_id,
               NULL, branch, NULL, NULL, redeemed_at, NULL, NULL, 0)::loyalty.ledger, redeemed_at
      FROM shop.gen_hist WHERE outcome = 'redeemed'
    UNION ALL
    SELECT ROW(member_id, out_id, :pid, 'expire', (-points)::loyalty.points, 'expiry', 'expire-' || out_id,
               NULL, NULL, NULL, NULL, expires_at + interval '1 day', NULL, 'lifetime', 0)::loyalty.ledger,
           expires_at + interval '1 day'
      FROM shop.gen_hist WHERE outcome = 'expired'
)
INSERT INTO loyalty.ledger (member_id, entry_id, program_id, kind, amount, source, document, ref_document,
                            branch, rule_id, campaign_id, created_at, expires_at, note, checksum)
SELECT (r).member_id, (r).entry_id, (r).program_id, (r).kind, (r).amount, (r).source, (r).document,
       (r).ref_document, (r).branch, (r).rule_id, (r).campaign_id, (r).created_at, (r).expires_at,
       (r).note, loyalty.entry_checksum(r)
  FROM e ORDER BY t;

INSERT INTO loyalty.lot (member_id, lot_id, program_id, earned, remaining, earned_at, expires_at)
SELECT member_id, earn_id, :pid, points::loyalty.points,
       CASE WHEN outcome = 'open' THEN points ELSE 0 END::loyalty.points, ordered_at, expires_at
  FROM shop.gen_hist ORDER BY order_id;

INSERT INTO loyalty.member_return (member_id, program_id, source, return_document, document, digest,
                                   due, taken, created_at)
SELECT member_id, :pid, 'pos', 'R' || order_id, order_id::text, 'whole', points::loyalty.points,
       points::loyalty.points, ordered_at + interval '1 day'
  FROM shop.gen_hist WHERE outcome = 'returned' ORDER BY order_id;

INSERT INTO loyalty.redemption (member_id, redemption_id, program_id, source, document, points, amount,
                                bill_total, eligible_amount, branch, entry_id, status, created_at)
SELECT member_id, out_id, :pid, 'pos', 'P' || order_id, points::loyalty.points, points * 1000,
       points * 1000 * 4, points * 1000 * 4, branch, out_id, 'spent', redeemed_at
  FROM shop.gen_hist WHERE outcome = 'redeemed' ORDER BY redeemed_at;
INSERT INTO loyalty.redemption_lot (member_id, redemption_id, lot_id, points)
SELECT member_id, out_id, earn_id, points::loyalty.points
  FROM shop.gen_hist WHERE outcome = 'redeemed' ORDER BY redeemed_at;

INSERT INTO loyalty.balance (member_id, program_id, points, earned_total, reversed_total, orders,
                             last_order_at, updated_at)
SELECT m.member_id, :pid, coalesce(s.open_points, 0)::loyalty.points, coalesce(s.earned, 0)::loyalty.points,
       coalesce(s.reversed, 0)::loyalty.points, coalesce(s.n, 0), s.last_at, coalesce(s.last_at, now())
  FROM shop.gen_member m
  LEFT JOIN (SELECT member_id, sum(points) FILTER (WHERE outcome = 'open') AS open_points,
                    sum(points) AS earned, sum(points) FILTER (WHERE outcome = 'returned') AS reversed,
                    count(*) AS n, max(ordered_at) AS last_at
               FROM shop.gen_hist GROUP BY member_id) s USING (member_id)
 ORDER BY m.member_id;

-- What the history holds, for the driver.
CREATE TABLE shop.gen_summary AS
SELECT count(*) AS orders,
       count(*) FILTER (WHERE outcome = 'returned') AS returned,
       count(*) FILTER (WHERE outcome = 'redeemed') AS redeemed,
       count(*) FILTER (WHERE outcome = 'expired') AS expired,
       count(*) FILTER (WHERE outcome = 'open' AND expires_at <= now()) AS backlog_lots,
       (SELECT count(*) FROM shop.gen_line) AS lines
  FROM shop.gen_hist;

DROP TABLE shop.gen_line_points, shop.gen_line, shop.gen_order;
-- shop.gen_hist stays (unlogged): the return benchmark picks orders that were
-- not returned from it.  shop.gen_member maps customers to members.
CREATE UNIQUE INDEX ON shop.gen_hist (order_id);
