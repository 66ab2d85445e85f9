-- loyalty.attach(): accrual on the host's own orders and order lines tables
\set VERBOSITY terse

-- a program with three rules: 1 point per 10 000, double on fresh food, no points on gift cards
INSERT INTO loyalty.program (code, name, point_value) VALUES ('shop', 'Demo shop', 1000);
INSERT INTO loyalty.rule (program_id, name, kind, points, per_amount)
SELECT program_id, 'base', 'per_amount', 1, 10000 FROM loyalty.program WHERE code = 'shop';
INSERT INTO loyalty.rule (program_id, name, kind, points, per_amount, item_group, priority)
SELECT program_id, 'fresh double', 'per_amount', 2, 10000, 'fresh', 10 FROM loyalty.program WHERE code = 'shop';
INSERT INTO loyalty.rule (program_id, name, kind, item_sku, priority)
SELECT program_id, 'no points on gift cards', 'exclude', 'GIFT', 20 FROM loyalty.program WHERE code = 'shop';
SELECT count(*) AS enrolled FROM (SELECT loyalty.enroll('shop', k) FROM unnest(ARRAY['1001', '1002']) k) e;

-- the host's point-of-sale schema
CREATE SCHEMA shop;
CREATE TABLE shop.orders (
    order_id    bigint PRIMARY KEY,
    customer_id bigint,
    total       numeric,
    branch      text,
    created_at  timestamptz DEFAULT now(),
    status      text DEFAULT 'paid'
);
CREATE TABLE shop.order_lines (
    order_id    bigint,
    line_no     int,
    sku         text,
    grp         text,
    qty         numeric,
    price       numeric,
    discount    numeric DEFAULT 0
);
CREATE INDEX ON shop.order_lines (order_id);

-- what a customer has and what the ledger says, without ids and times
CREATE VIEW shop.points AS
SELECT k.customer_key, b.points, b.orders
  FROM loyalty.balance b
  JOIN loyalty.member_key k USING (member_id, program_id)
  JOIN loyalty.program p USING (program_id)
 WHERE p.code = 'shop';
CREATE VIEW shop.entries AS
SELECT l.document, k.customer_key, l.kind, l.amount, l.source, l.branch
  FROM loyalty.ledger l
  JOIN loyalty.member_key k USING (member_id, program_id)
  JOIN loyalty.program p USING (program_id)
 WHERE p.code = 'shop';

-- attach errors: a missing column, a wrong type, no amount, line columns without lines
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'client_id',
                      amount_column => 'total');
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      amount_column => 'branch');
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      time_column => 'status', amount_column => 'total');
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id');
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      lines => 'shop.order_lines', price_column => 'price', quantity_column => 'qty');
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      amount_column => 'total', sku_column => 'sku');
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      lines => 'shop.order_lines', line_order_column => 'order_id',
                      price_column => 'sku', quantity_column => 'qty');
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      lines => 'shop.order_lines', line_order_column => 'sku',
                      price_column => 'price', quantity_column => 'qty');
SELECT loyalty.attach('no_such_program', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      amount_column => 'total');
SELECT loyalty.attach('shop', 'shop.no_such_table', id_column => 'order_id', customer_column => 'customer_id',
                      amount_column => 'total');
SELECT count(*) AS attachments FROM loyalty.attachment;

-- attach the orders table and its lines
SELECT loyalty.attach('shop', 'shop.orders',
                      id_column => 'order_id', customer_column => 'customer_id',
                      amount_column => 'total', branch_column => 'branch',
                      time_column => 'created_at', status_column => 'status',
                      lines => 'shop.order_lines', line_order_column => 'order_id',
                      line_no_column => 'line_no', sku_column => 'sku', group_column => 'grp',
                      quantity_column => 'qty', price_column => 'price',
                      discount_column => 'discount');
SELECT orders, lines, columns, cancelled_values, source FROM loyalty.attachment;
SELECT tgname, tgdeferrable, tginitdeferred,
       regexp_replace(pg_get_triggerdef(oid), 'program=[0-9]+', 'program=N') AS definition
  FROM pg_trigger WHERE tgrelid = 'shop.orders'::regclass ORDER BY tgname;

-- only one attachment per orders table
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      amount_column => 'total');

-- an order and its lines in one transaction earn at commit: 10 + 2 x 2.5 + 0 (gift card)
BEGIN;
INSERT INTO shop.orders (order_id, customer_id, total, branch) VALUES (1, 1001, 175000, 'HN01');
INSERT INTO shop.order_lines (order_id, line_no, sku, grp, qty, price, discount) VALUES
    (1, 1, 'RICE', 'dry', 2, 50000, 0),
    (1, 2, 'FISH', 'fresh', 1, 30000, 5000),
    (1, 3, 'GIFT', 'cards', 1, 50000, 0);
SELECT count(*) AS entries_before_commit FROM shop.entries;
COMMIT;
SELECT * FROM shop.points ORDER BY customer_key;
SELECT document, line_no, sku, item_group, quantity, amount, points
  FROM loyalty.member_order_line WHERE source = 'shop.orders' ORDER BY document, line_no;

-- an order without lines earns on its header amount (48 000 -> 4.8 -> 5)
INSERT INTO shop.orders (order_id, customer_id, total, branch) VALUES (2, 1002, 48000, 'HN02');
-- a guest order is saved and earns nothing; so does a customer who is not a member
INSERT INTO shop.orders (order_id, customer_id, total) VALUES (3, NULL, 90000), (4, 9999, 90000);
-- an order that is cancelled when it is inserted earns nothing
INSERT INTO shop.orders (order_id, customer_id, total, status) VALUES (5, 1001, 90000, 'cancelled');
SELECT order_id, customer_id, total, status FROM shop.orders ORDER BY order_id;
SELECT * FROM shop.entries ORDER BY document, kind;

-- cancelling an order through its status reverses its points
INSERT INTO shop.orders (order_id, customer_id, total, branch) VALUES (6, 1002, 120000, 'HN02');
SELECT * FROM shop.points ORDER BY customer_key;
UPDATE shop.orders SET status = 'cancelled' WHERE order_id = 6;
UPDATE shop.orders SET status = 'cancelled' WHERE order_id = 6;
SELECT * FROM shop.entries WHERE document = '6' ORDER BY kind;
-- deleting the cancelled order takes nothing more
DELETE FROM shop.orders WHERE order_id = 6;
SELECT * FROM shop.points ORDER BY customer_key;

-- deleting an order reverses its points
INSERT INTO shop.orders (order_id, customer_id, total) VALUES (7, 1001, 60000);
DELETE FROM shop.orders WHERE order_id = 7;
SELECT * FROM shop.entries WHERE document = '7' ORDER BY kind;

-- insert, cancel and delete in one transaction fire in that order at commit
BEGIN;
INSERT INTO shop.orders (order_id, customer_id, total) VALUES (8, 1001, 70000);
UPDATE shop.orders SET status = 'cancelled' WHERE order_id = 8;
DELETE FROM shop.orders WHERE order_id = 8;
COMMIT;
BEGIN;
INSERT INTO shop.orders (order_id, customer_id, total) VALUES (9, 1002, 80000);
DELETE FROM shop.orders WHERE order_id = 9;
COMMIT;
SELECT * FROM shop.entries WHERE document IN ('8', '9') ORDER BY document, kind;
SELECT * FROM shop.points ORDER BY customer_key;

-- with pg_loyalty.accrual_enabled off the order is saved without points
SET pg_loyalty.accrual_enabled = off;
INSERT INTO shop.orders (order_id, customer_id, total) VALUES (10, 1001, 100000);
RESET pg_loyalty.accrual_enabled;
SELECT count(*) AS entries_for_10 FROM shop.entries WHERE document = '10';

-- the cashier's role needs no rights on the loyalty schema
CREATE ROLE regress_loyalty_clerk;
GRANT USAGE ON SCHEMA shop TO regress_loyalty_clerk;
GRANT INSERT ON shop.orders, shop.order_lines TO regress_loyalty_clerk;
SET ROLE regress_loyalty_clerk;
BEGIN;
INSERT INTO shop.orders (order_id, customer_id, total) VALUES (11, 1002, 30000);
INSERT INTO shop.order_lines (order_id, line_no, sku, grp, qty, price) VALUES (11, 1, 'SALMON', 'fresh', 0.5, 60000);
COMMIT;
RESET ROLE;
-- attach, detach and the trigger function are not for PUBLIC
SELECT p.oid::regprocedure AS function, has_function_privilege('regress_loyalty_clerk', p.oid, 'EXECUTE') AS clerk_may_run
  FROM pg_proc p WHERE p.pronamespace = 'loyalty'::regnamespace
   AND p.proname IN ('attach', 'detach', 'accrue_order_trigger') ORDER BY p.proname;
SELECT * FROM shop.entries WHERE document = '11';

-- a column renamed after attach fails the commit, and works again once renamed back
ALTER TABLE shop.order_lines RENAME COLUMN grp TO item_group;
BEGIN;
INSERT INTO shop.orders (order_id, customer_id, total) VALUES (12, 1001, 20000);
COMMIT;
ALTER TABLE shop.order_lines RENAME COLUMN item_group TO grp;
INSERT INTO shop.orders (order_id, customer_id, total) VALUES (12, 1001, 20000);
SELECT * FROM shop.entries WHERE document = '12';

-- detach: the triggers go, points already posted stay, new orders earn nothing
SELECT loyalty.detach('shop.orders');
SELECT count(*) AS attachments FROM loyalty.attachment;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'shop.orders'::regclass;
INSERT INTO shop.orders (order_id, customer_id, total) VALUES (13, 1001, 500000);
SELECT * FROM shop.points ORDER BY customer_key;
SELECT loyalty.detach('shop.orders');
SELECT loyalty.detach('shop.order_lines');

-- attach again: header amounts only, other cancelled statuses, a source of its own
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      amount_column => 'total', status_column => 'status',
                      cancelled_values => '{void,refunded}', source => 'pos');
INSERT INTO shop.orders (order_id, customer_id, total, status) VALUES (14, 1001, 40000, 'paid');
UPDATE shop.orders SET status = 'refunded' WHERE order_id = 14;
SELECT * FROM shop.entries WHERE document = '14' ORDER BY kind;
SELECT loyalty.detach('shop.orders');

-- a table dropped without detach() does not stay attached
CREATE TABLE shop.old_orders (id int, customer text, amount int);
SELECT loyalty.attach('shop', 'shop.old_orders', id_column => 'id', customer_column => 'customer',
                      amount_column => 'amount');
DROP TABLE shop.old_orders;
SELECT loyalty.attach('shop', 'shop.orders', id_column => 'order_id', customer_column => 'customer_id',
                      amount_column => 'total');
SELECT orders, lines, columns, cancelled_values, source FROM loyalty.attachment;
SELECT loyalty.detach('shop.orders');

-- the lines are read through an index led by the order column when the
-- table has one, else through a query: both give the same lines, in line
-- number order (unnumbered lines last), with the same points
CREATE TABLE shop.till_lines (bill text, n smallint, sku text, grp text, qty int, price bigint);
CREATE TABLE shop.till_bills (bill varchar PRIMARY KEY, customer text, branch text);
CREATE INDEX till_lines_bill_idx ON shop.till_lines (bill);
SELECT loyalty.attach('shop', 'shop.till_bills', id_column => 'bill', customer_column => 'customer',
                      branch_column => 'branch', lines => 'shop.till_lines', line_order_column => 'bill',
                      line_no_column => 'n', sku_column => 'sku', group_column => 'grp',
                      quantity_column => 'qty', price_column => 'price');
BEGIN;
INSERT INTO shop.till_bills VALUES ('T-1', '1001', 'HN01');
INSERT INTO shop.till_lines VALUES ('T-1', 3, 'FISH', 'fresh', 1, 30000), ('T-1', NULL, 'SALT', 'dry', 1, 10000),
                                   ('T-1', 1, 'RICE', 'dry', 2, 50000), ('T-2', 1, 'TEA', 'dry', 9, 90000),
                                   ('T-1', 2, 'GIFT', 'cards', 1, 50000);
SET CONSTRAINTS ALL IMMEDIATE;
SELECT pg_stat_get_xact_numscans('shop.till_lines_bill_idx'::regclass) AS lines_index_scans;
COMMIT;
DROP INDEX shop.till_lines_bill_idx;
BEGIN;
INSERT INTO shop.till_bills VALUES ('T-3', '1001', 'HN01');
INSERT INTO shop.till_lines VALUES ('T-3', 3, 'FISH', 'fresh', 1, 30000), ('T-3', NULL, 'SALT', 'dry', 1, 10000),
                                   ('T-3', 1, 'RICE', 'dry', 2, 50000), ('T-3', 2, 'GIFT', 'cards', 1, 50000);
COMMIT;
SELECT document, line_no, sku, quantity, amount, points
  FROM loyalty.member_order_line WHERE source = 'shop.till_bills' ORDER BY document, line_no;
SELECT document, amount, points FROM loyalty.member_order WHERE source = 'shop.till_bills' ORDER BY document;
SELECT loyalty.detach('shop.till_bills');

-- the ledger is consistent
SELECT * FROM loyalty.check_ledger();

DROP SCHEMA shop CASCADE;
DROP ROLE regress_loyalty_clerk;
