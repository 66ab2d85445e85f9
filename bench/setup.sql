-- pg_loyalty benchmark: a point-of-sale host schema and a loyalty program.
-- Run by bench/run.sh with psql variables :customers and :products; then
-- bench/generate.sql enrolls every customer and loads the history.
--
-- Products are generated from their id with the same formulas the pgbench
-- scripts use, so a script can name a product's sku, group and price
-- without reading this table:
--   sku   = 'SKU-' || id
--   group = 'G' || ((id - 1) % 50 + 1)            (50 groups, G1 .. G50)
--   price = 1000 * (10 + (id * 37) % 491)           (10,000 .. 500,000 VND)
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION pg_loyalty;

CREATE SCHEMA shop;

CREATE TABLE shop.customers (
    customer_id bigint PRIMARY KEY,
    name        text NOT NULL,
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO shop.customers (customer_id, name, phone)
SELECT g, 'Customer ' || g, '+84' || (900000000 + g)
  FROM generate_series(1, :customers) g;

CREATE TABLE shop.products (
    product_id bigint PRIMARY KEY,
    sku        text NOT NULL UNIQUE,
    grp        text NOT NULL,
    name       text NOT NULL,
    price      numeric(14,2) NOT NULL
);
INSERT INTO shop.products (product_id, sku, grp, name, price)
SELECT g, 'SKU-' || g, 'G' || ((g - 1) % 50 + 1), 'Product ' || g, 1000 * (10 + (g * 37) % 491)
  FROM generate_series(1, :products) g;

CREATE SEQUENCE shop.order_seq;

CREATE TABLE shop.orders (
    order_id    bigint PRIMARY KEY,
    customer_id bigint,
    total       numeric(14,2),
    branch      text,
    created_at  timestamptz DEFAULT now(),
    status      text DEFAULT 'paid'
);

CREATE TABLE shop.order_lines (
    order_id bigint,
    line_no  int,
    sku      text,
    grp      text,
    qty      numeric,
    price    numeric,
    discount numeric DEFAULT 0,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_order_idx ON shop.order_lines (order_id);

-- The program and its rules: 1% of the goods' value at 1 point = 1000 VND,
-- 5 points per unit of group G7, nothing for group G13, 1 point per visit.
INSERT INTO loyalty.program (code, name, currency, point_value, points_lifetime)
VALUES ('bench', 'Benchmark program', 'VND', 1000, interval '1 year');

INSERT INTO loyalty.rule (program_id, name, kind, percent)
SELECT program_id, '1% of all goods', 'percent', 1 FROM loyalty.program WHERE code = 'bench';
INSERT INTO loyalty.rule (program_id, name, kind, points, item_group, priority)
SELECT program_id, '5 points per unit of G7', 'per_quantity', '5', 'G7', 10
  FROM loyalty.program WHERE code = 'bench';
INSERT INTO loyalty.rule (program_id, name, kind, item_group, priority)
SELECT program_id, 'G13 (tobacco) earns nothing', 'exclude', 'G13', 100
  FROM loyalty.program WHERE code = 'bench';
INSERT INTO loyalty.rule (program_id, name, kind, points)
SELECT program_id, '1 point per visit', 'per_order', '1' FROM loyalty.program WHERE code = 'bench';

-- Members and two years of history: bench/generate.sql (run next by bench/run.sh).

-- Which order ids each benchmark run inserted, for the correctness check.
CREATE TABLE shop.bench_run (
    run_no    int PRIMARY KEY,
    operation text NOT NULL,
    first_id  bigint NOT NULL,   -- order ids after first_id ...
    last_id   bigint,            -- ... up to last_id belong to this run
    source    text               -- ledger source the run posts under (NULL: none)
);

-- Redemption, return and voucher documents of the benchmark runs.
CREATE SEQUENCE shop.doc_seq;

