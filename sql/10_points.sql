-- loyalty.points: exact fixed-point amounts of points (scale 2)
\set VERBOSITY terse
SET search_path = loyalty, public;
SET extra_float_digits = 0;

-- Runs a statement and reports its SQLSTATE, message, detail and hint
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hnt text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	RETURN st || ': ' || msg
		|| coalesce(' DETAIL: ' || nullif(det, ''), '')
		|| coalesce(' HINT: ' || nullif(hnt, ''), '');
END $$;

--
-- Input and output
--
SELECT s AS input, s::points AS points, s::points::numeric AS as_numeric
FROM (VALUES ('0'), ('-0'), ('0.00'), ('5.5'), ('6'), ('-0.25'), (' 5.5 '),
             ('+5'), ('.5'), ('5.'), ('5.500'), ('007.10'), ('0.01'), ('-0.01'),
             ('123456.78'), ('92233720368547758.07'),
             ('-92233720368547758.08')) v(s);

-- Invalid syntax: 22P02
SELECT s AS input, pg_temp.err(format('SELECT %L::loyalty.points', s)) AS result
FROM (VALUES ('NaN'), ('nan'), ('Infinity'), ('-Infinity'), ('inf'), ('abc'),
             (''), ('   '), ('1e3'), ('1E-2'), ('1.2.3'), ('--1'), ('+'), ('-'),
             ('.'), ('1 2'), ('0x10'), ('5,5'), ('1_000')) v(s);

-- Too many decimals: 22P02 with a detail; never truncated
SELECT s AS input, pg_temp.err(format('SELECT %L::loyalty.points', s)) AS result
FROM (VALUES ('1.234'), ('5.555'), ('0.001'), ('-0.005'), ('5.5001')) v(s);

-- Out of range: 22003
SELECT s AS input, pg_temp.err(format('SELECT %L::loyalty.points', s)) AS result
FROM (VALUES ('92233720368547758.08'), ('-92233720368547758.09'),
             ('99999999999999999999')) v(s);

-- The same errors as psql shows them
SELECT '1.234'::points;
SELECT 'NaN'::points;

--
-- Binary send/receive: the wire format is int8 hundredths
--
DO $$
DECLARE
	v text;
BEGIN
	FOREACH v IN ARRAY ARRAY['0', '5.5', '-0.25', '92233720368547758.07',
							 '-92233720368547758.08'] LOOP
		IF loyalty.points_send(v::loyalty.points) <>
		   int8send((v::numeric * 100)::bigint) THEN
			RAISE EXCEPTION 'points_send(%) differs from int8send', v;
		END IF;
	END LOOP;
	RAISE NOTICE 'points_send matches int8send';
END $$;

CREATE TEMP TABLE bin_src (p points);
INSERT INTO bin_src VALUES ('0'), ('5.5'), ('-0.25'), ('6'), (NULL),
	('92233720368547758.07'), ('-92233720368547758.08');
CREATE TEMP TABLE bin_dst (p points);
\getenv abs_builddir PG_ABS_BUILDDIR
\set binfile :abs_builddir '/results/10_points.bin'
COPY bin_src TO :'binfile' (FORMAT binary);
COPY bin_dst FROM :'binfile' (FORMAT binary);
SELECT p AS received FROM bin_dst ORDER BY p;
-- No value is lost or changed (EXCEPT ALL treats NULLs as equal)
SELECT count(*) AS differences FROM (
	(SELECT p FROM bin_src EXCEPT ALL SELECT p FROM bin_dst)
	UNION ALL
	(SELECT p FROM bin_dst EXCEPT ALL SELECT p FROM bin_src)) d;

--
-- Arithmetic
--
SELECT '5.5'::points + '0.75' AS add, '5.5'::points - '6' AS sub,
       -'5.5'::points AS neg, -'-0.25'::points AS neg_neg;
-- Integers convert implicitly
SELECT '5.5'::points + 1 AS add_int, 1 + '5.5'::points AS int_add,
       '5.5'::points - 10 AS sub_int, '5.5'::points + 2::bigint AS add_bigint;
SELECT '5.5'::points * 2 AS mul_int, 3 * '5.5'::points AS int_mul,
       '5.5'::points * 4::bigint AS mul_bigint, 5::bigint * '-0.25'::points AS bigint_mul;
-- numeric factors and divisors: rounded half away from zero to 0.01
SELECT '5.5'::points * 1.5 AS mul_numeric, 1.5 * '5.5'::points AS numeric_mul,
       '0.05'::points * 0.5 AS half_up, '-0.05'::points * 0.5 AS half_down,
       '0.05'::points * 0.49 AS below_half, '10'::points * 0.333 AS thirds,
       '1'::points * 0 AS zero;
SELECT '1'::points / 3 AS third, '2'::points / 3 AS two_thirds,
       '-2'::points / 3 AS neg_two_thirds, '0.01'::points / 2 AS half_cent,
       '-0.01'::points / 2 AS neg_half_cent, '0.01'::points / -2 AS half_cent_neg,
       '1'::points / 8 AS eighth, '10'::points / 4::bigint AS quarter;
SELECT '1'::points / 0.3 AS by_numeric, '-1'::points / 0.3 AS neg_by_numeric,
       '0.01'::points / 2.0 AS half, '5'::points / -0.5 AS negative_divisor,
       '92233720368547758.07'::points / 1.0 AS max_by_one;
SELECT '10'::points / '4'::points AS ratio, '-1'::points / '3'::points AS neg_ratio,
       pg_typeof('10'::points / '4'::points) AS ratio_type;
SELECT pg_typeof('5.5'::points + 1) AS add_type, pg_typeof('5.5'::points * 1.5) AS mul_type,
       pg_typeof('5.5'::points / 2) AS div_type;

-- Core integer and numeric arithmetic is unchanged by the implicit casts
SELECT 2 * 1.5 AS int_numeric, 1.5 * 2 AS numeric_int, 3 / 1.5 AS int_div_numeric,
       2::bigint * 1.5 AS bigint_numeric, 1.5 * 2::bigint AS numeric_bigint,
       3::bigint / 1.5 AS bigint_div_numeric, pg_typeof(2 * 1.5) AS type,
       7 / 2 AS int_div, 1 + 1 AS int_add;

-- Overflow: 22003
SELECT pg_temp.err(stmt) AS result FROM (VALUES
	($$SELECT '92233720368547758.07'::loyalty.points OPERATOR(loyalty.+) '0.01'$$),
	($$SELECT '-92233720368547758.08'::loyalty.points OPERATOR(loyalty.-) '0.01'$$),
	($$SELECT OPERATOR(loyalty.-) '-92233720368547758.08'::loyalty.points$$),
	($$SELECT '92233720368547758.07'::loyalty.points OPERATOR(loyalty.*) 2$$),
	($$SELECT '50000000000000000'::loyalty.points OPERATOR(loyalty.*) (-2)::bigint$$),
	($$SELECT '1'::loyalty.points OPERATOR(loyalty.*) 1e20$$),
	($$SELECT '1'::loyalty.points OPERATOR(loyalty./) 1e-20$$),
	($$SELECT '-92233720368547758.08'::loyalty.points OPERATOR(loyalty./) (-1)$$)
) v(stmt);

-- Division by zero: 22012
SELECT pg_temp.err(stmt) AS result FROM (VALUES
	($$SELECT '5'::loyalty.points OPERATOR(loyalty./) 0$$),
	($$SELECT '5'::loyalty.points OPERATOR(loyalty./) 0::bigint$$),
	($$SELECT '5'::loyalty.points OPERATOR(loyalty./) 0.0$$),
	($$SELECT '5'::loyalty.points OPERATOR(loyalty./) '0'::loyalty.points$$)
) v(stmt);

-- NaN and infinity as factors: 22P02
SELECT pg_temp.err(stmt) AS result FROM (VALUES
	($$SELECT '5'::loyalty.points OPERATOR(loyalty.*) 'NaN'::numeric$$),
	($$SELECT '5'::loyalty.points OPERATOR(loyalty./) 'Infinity'::numeric$$)
) v(stmt);

--
-- Comparison
--
SELECT '5.5'::points = '5.50' AS eq, '5.5'::points <> '5.5' AS ne,
       '5.5'::points < '6' AS lt, '-5.5'::points < '-5' AS neg_lt,
       '5.5'::points <= '5.5' AS le, '5.5'::points > 0 AS gt_int,
       '5.5'::points >= 6 AS ge_int, 0 < '0.01'::points AS int_lt;
SELECT p FROM (VALUES ('5.5'::points), ('-0.25'), ('6'), ('0'), ('-6'), ('5.49'),
                      ('92233720368547758.07'), ('-92233720368547758.08')) v(p)
ORDER BY p;
SELECT p FROM (VALUES ('5.5'::points), ('-0.25'), ('6'), ('0')) v(p) ORDER BY p DESC;
SELECT CASE WHEN true THEN '1.5'::points ELSE 0 END AS case_int,
       COALESCE(NULL::points, 0) AS coalesce_int,
       GREATEST('1.5'::points, 2) AS greatest_int;

--
-- Casts
--
SELECT castsource::regtype AS source, casttarget::regtype AS target,
       CASE castcontext WHEN 'i' THEN 'implicit' WHEN 'a' THEN 'assignment'
                        ELSE 'explicit' END AS context
FROM pg_cast
WHERE castsource = 'loyalty.points'::regtype OR casttarget = 'loyalty.points'::regtype
ORDER BY castsource::regtype::text, casttarget::regtype::text;
SELECT 5::points AS int4, 5000000000::bigint::points AS int8,
       5.50::numeric::points AS numeric, 5.5000::points AS numeric_zeros,
       '-0.25'::points::numeric AS to_numeric, '6'::points::numeric AS whole_to_numeric;
SELECT p AS points, p::bigint AS rounded
FROM (VALUES ('5.5'::points), ('5.49'), ('-5.5'), ('-5.49'), ('0.5'), ('-0.5'),
             ('92233720368547758.07'), ('-92233720368547758.08')) v(p);
SELECT pg_temp.err(stmt) AS result FROM (VALUES
	($$SELECT 5.555::loyalty.points$$),
	($$SELECT 0.001::loyalty.points$$),
	($$SELECT 'NaN'::numeric::loyalty.points$$),
	($$SELECT 'Infinity'::numeric::loyalty.points$$),
	($$SELECT '-Infinity'::numeric::loyalty.points$$),
	($$SELECT 1e30::loyalty.points$$),
	($$SELECT 92233720368547758.08::loyalty.points$$),
	($$SELECT 9223372036854775807::bigint::loyalty.points$$),
	($$SELECT 92233720368547759::bigint::loyalty.points$$)
) v(stmt);
-- Assignment casts work in INSERT; points -> bigint needs an explicit cast
CREATE TEMP TABLE cast_t (p points, n numeric, b bigint);
INSERT INTO cast_t (p, n) VALUES (1.25, '7.5'::points);
INSERT INTO cast_t (p) VALUES (3), (4::bigint);
SELECT * FROM cast_t ORDER BY p;
SELECT pg_temp.err($$INSERT INTO cast_t (p) VALUES (1.255)$$) AS numeric_scale;
SELECT pg_temp.err($$INSERT INTO cast_t (b) VALUES ('5.5'::loyalty.points)$$) AS to_bigint;
SELECT pg_temp.err($$SELECT 5.5::numeric + '1'::loyalty.points$$) AS numeric_plus;

--
-- Rounding to whole points
--
SELECT p AS points, round(p) AS "default", round(p, 'nearest') AS nearest,
       round(p, 'down') AS down, round(p, 'up') AS up, round(p, 'keep') AS keep
FROM (VALUES ('5.5'::points), ('5.49'), ('5.1'), ('5'), ('0.5'), ('0.01'), ('0'),
             ('-0.01'), ('-0.5'), ('-5'), ('-5.1'), ('-5.49'), ('-5.5')) v(p);
SELECT round('5.5'::points, 'UP') AS upper_case;
SELECT round('5.5') AS numeric_literal, round(5) AS integer_literal,
       pg_typeof(round(5)) AS integer_literal_type;
SELECT pg_temp.err(stmt) AS result FROM (VALUES
	($$SELECT loyalty.round('5.5', 'sideways')$$),
	($$SELECT loyalty.round('92233720368547758.07', 'up')$$),
	($$SELECT loyalty.round('-92233720368547758.08', 'nearest')$$)
) v(stmt);
SELECT round('92233720368547758.07'::points, 'down') AS max_down,
       round('92233720368547758.07'::points) AS max_nearest;
SELECT abs('-5.5'::points) AS abs_neg, abs('0.25'::points) AS abs_pos;
SELECT pg_temp.err($$SELECT loyalty.abs('-92233720368547758.08')$$) AS abs_min;

--
-- Aggregates
--
CREATE TEMP TABLE agg_t (g int, p points);
INSERT INTO agg_t VALUES (1, '0.01'), (1, '0.02'), (2, '-0.01'), (2, '-0.02'),
	(3, '1'), (3, '2'), (3, '2'), (4, '5.5'), (4, NULL), (5, NULL);
SELECT g, sum(p), avg(p), min(p), max(p), count(p)
FROM agg_t GROUP BY g ORDER BY g;
SELECT sum(p), avg(p), min(p), max(p) FROM agg_t;
SELECT sum(p), avg(p), min(p), max(p) FROM agg_t WHERE false;
SELECT pg_typeof(sum(p)) AS sum_type, pg_typeof(avg(p)) AS avg_type FROM agg_t;
-- avg does not overflow while summing
SELECT avg(p) AS avg_max FROM (VALUES ('92233720368547758.07'::points),
                                      ('92233720368547758.07')) v(p);
SELECT avg(p) AS avg_max_and_cent FROM (VALUES ('92233720368547758.07'::points),
                                               ('0.01')) v(p);
SELECT avg(p) AS avg_min FROM (VALUES ('-92233720368547758.08'::points),
                                      ('-92233720368547758.08'), ('-0.01')) v(p);
SELECT pg_temp.err($$SELECT loyalty.sum(p) FROM (VALUES ('92233720368547758.07'::loyalty.points), ('0.01')) v(p)$$) AS sum_overflow;

-- Aggregates are found through search_path, or called qualified
SET search_path = public;
SELECT loyalty.sum(p), loyalty.avg(p), loyalty.min(p), loyalty.max(p) FROM agg_t;
SELECT pg_temp.err($$SELECT sum(p) FROM agg_t$$) AS unqualified;
SELECT pg_temp.err($$SELECT p + p FROM agg_t$$) AS unqualified_operator;
SELECT sum(i), avg(i), min(i), max(i) FROM generate_series(1, 4) i;
SET search_path = loyalty, public;
SELECT sum(p), avg(p), min(p), max(p) FROM agg_t;
SELECT sum(i), avg(i), min(i), max(i) FROM generate_series(1, 4) i;

-- Parallel aggregation uses the combine, serialize and deserialize functions
CREATE TABLE points_par (p points);
INSERT INTO points_par SELECT (i % 1000)::points / 7 FROM generate_series(1, 20000) i;
ANALYZE points_par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT sum(p), avg(p), min(p), max(p) FROM points_par;
SELECT sum(p), avg(p), min(p), max(p) FROM points_par;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT sum(p), avg(p), min(p), max(p) FROM points_par;
DROP TABLE points_par;

--
-- Indexes, DISTINCT and GROUP BY
--
CREATE TEMP TABLE idx_t (id int, p points);
INSERT INTO idx_t SELECT i, (i % 500)::points / 4 FROM generate_series(1, 5000) i;
ANALYZE idx_t;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
CREATE INDEX idx_t_btree ON idx_t USING btree (p);
EXPLAIN (COSTS OFF) SELECT count(*) FROM idx_t WHERE p BETWEEN '10' AND '10.5';
SELECT count(*) FROM idx_t WHERE p BETWEEN '10' AND '10.5';
EXPLAIN (COSTS OFF) SELECT p FROM idx_t ORDER BY p DESC LIMIT 3;
SELECT p FROM idx_t ORDER BY p DESC LIMIT 3;
DROP INDEX idx_t_btree;
CREATE INDEX idx_t_hash ON idx_t USING hash (p);
EXPLAIN (COSTS OFF) SELECT count(*) FROM idx_t WHERE p = '10.25';
SELECT count(*) FROM idx_t WHERE p = '10.25';
SELECT count(*) FROM idx_t WHERE p = 41;
RESET enable_seqscan;
RESET enable_bitmapscan;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT p, count(*) FROM idx_t GROUP BY p;
SELECT count(*) AS groups, sum(n) AS rows FROM (SELECT p, count(*) AS n FROM idx_t GROUP BY p) s;
EXPLAIN (COSTS OFF) SELECT DISTINCT p FROM idx_t;
SELECT count(*) AS distinct_values FROM (SELECT DISTINCT p FROM idx_t) s;
RESET enable_sort;
-- Hash and sort agree on which values are equal
SELECT count(DISTINCT p) AS sorted_distinct FROM idx_t;
-- Hash join
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM idx_t a JOIN idx_t b ON a.p = b.p WHERE a.id < 10;
SELECT count(*) FROM idx_t a JOIN idx_t b ON a.p = b.p WHERE a.id < 10;
RESET enable_mergejoin;
RESET enable_nestloop;
RESET search_path;
