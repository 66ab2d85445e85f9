--
-- loyalty.code: check-summed voucher, coupon and card numbers
--
\set VERBOSITY terse
-- The operators live in the extension's schema
SET search_path = public, loyalty;

-- Show what the input function makes of a text: the code, or the error
CREATE FUNCTION pg_temp.try_code(input text,
	OUT result text, OUT state text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	result := input::loyalty.code::text;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS result = MESSAGE_TEXT, state = RETURNED_SQLSTATE,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END $$;

-- Show what new_code makes of a series: the series it stored, or the error
CREATE FUNCTION pg_temp.try_series(series text,
	OUT result text, OUT state text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	result := coalesce(loyalty.code_series(loyalty.new_code(series)), '(none)');
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS result = MESSAGE_TEXT, state = RETURNED_SQLSTATE,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END $$;

-- Feed raw bytes to the binary input function through COPY (FORMAT binary)
CREATE TEMP TABLE code_bin (c loyalty.code);
CREATE FUNCTION pg_temp.recv_code(payload bytea,
	OUT result text, OUT state text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
	f text := format('/tmp/pg_loyalty_code_test_%s.bin', pg_backend_pid());
BEGIN
	EXECUTE format('COPY (SELECT %L::bytea) TO %L (FORMAT binary)', payload, f);
	TRUNCATE code_bin;
	BEGIN
		EXECUTE format('COPY code_bin FROM PROGRAM %L (FORMAT binary)',
					   format('cat %s; rm -f %s', f, f));
		SELECT c::text INTO result FROM code_bin;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS result = MESSAGE_TEXT, state = RETURNED_SQLSTATE,
			detail = PG_EXCEPTION_DETAIL;
	END;
END $$;

--
-- Text round trips: the printed form reads back as itself
--
SELECT c AS input, c::loyalty.code AS code, c::loyalty.code::text = c AS round_trip
FROM (VALUES ('7K3M-Q9TZ-XW2H-P4RC'),
			 ('0000-0000-0000-000V'),
			 ('1111-1111-1111-111F'),
			 ('ZZZZ-ZZZZ-ZZZZ-ZZZE'),
			 ('1234-5678-9ABC-DEFD'),
			 ('HJKM-NPQR-STVW-XYZA'),
			 ('A-7K3M-Q9TZ-XW2H-P4RH'),
			 ('B7-7K3M-Q9TZ-XW2H-P4R3'),
			 ('XYZ-7K3M-Q9TZ-XW2H-P4R3'),
			 ('VP01-7K3M-Q9TZ-XW2H-P4RF'),
			 ('1001-7K3M-Q9TZ-XW2H-P4R6'),
			 ('ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZP')) v(c);

--
-- Normalization: case, spaces, hyphens, O read as 0, I and L read as 1
--
SELECT input, (pg_temp.try_code(input)).result
FROM (VALUES ('7k3m-q9tz-xw2h-p4rc'),
			 ('7K3MQ9TZXW2HP4RC'),
			 ('7k3m q9tz xw2h p4rc'),
			 ('  7K3M--Q9TZ - XW2H-P4RC  '),
			 (E'7K3M\tQ9TZ\nXW2H\rP4RC'),
			 ('-7-K-3-M-Q-9-T-Z-X-W-2-H-P-4-R-C-'),
			 ('oooo-OOOO-0o0O-ooov'),
			 ('iLl1-IiLl-1111-111f'),
			 ('vp-o1 7k3m q9tz xw2h p4rf'),
			 ('vpol-7k3m-q9tz-xw2h-p4rf'),
			 ('1OOI-7K3M-Q9TZ-XW2H-P4R6')) v(input);

-- Equal however they were typed
SELECT 'vp-o1 7k3m q9tz xw2h p4rf'::loyalty.code = 'VP01-7K3M-Q9TZ-XW2H-P4RF'::loyalty.code AS equal;

--
-- Series prefix: symbols beyond 16 are the series
--
SELECT c, loyalty.code_series(c), loyalty.code_suffix(c)
FROM (VALUES ('7K3M-Q9TZ-XW2H-P4RC'::loyalty.code),
			 ('A-7K3M-Q9TZ-XW2H-P4RH'),
			 ('B7-7K3M-Q9TZ-XW2H-P4R3'),
			 ('XYZ-7K3M-Q9TZ-XW2H-P4R3'),
			 ('VP01-7K3M-Q9TZ-XW2H-P4RF')) v(c);

-- The same body in different series is a different code
SELECT count(DISTINCT c) AS distinct_codes
FROM (VALUES ('A-7K3M-Q9TZ-XW2H-P4RH'::loyalty.code),
			 ('B7-7K3M-Q9TZ-XW2H-P4R3'),
			 ('XYZ-7K3M-Q9TZ-XW2H-P4R3'),
			 ('7K3M-Q9TZ-XW2H-P4RC')) v(c);

-- A leading 0 is not silently absorbed into a series (the check is seeded)
SELECT loyalty.code_is_valid('0-7K3M-Q9TZ-XW2H-P4RC') AS zero_in_front,
	   loyalty.code_is_valid('0-0000-0000-0000-000V') AS zero_in_front_of_zeros;

--
-- Errors: length, characters outside the alphabet, check symbol
--
SELECT input, t.*
FROM (VALUES (''),
			 ('   '),
			 ('7K3M-Q9TZ-XW2H-P4R'),
			 ('7K3M'),
			 ('VP01X-7K3M-Q9TZ-XW2H-P4RF'),
			 ('7K3M-Q9TZ-XW2H-P4RC-7K3M-Q9TZ-XW2H-P4RC'),
			 ('7K3M-Q9TZ-XW2U-P4RC'),
			 ('u'),
			 ('7K3M_Q9TZ_XW2H_P4RC'),
			 ('7K3M.Q9TZ.XW2H.P4RC'),
			 ('7K3M-Q9TZ-XW2H-P4R*'),
			 ('7K3M-Q9TZ-XW2H-P4RÇ'),
			 ('7K3M-Q9TZ-XW2H-P4R€'),
			 ('7K3M-Q9TZ-XW2H-P4RT'),
			 ('7K3M-Q9TZ-XW2H-P4CR'),
			 ('VP01-7K3M-Q9TZ-XW2H-P4RC')) v(input),
	 LATERAL pg_temp.try_code(input) t;

-- The plain error, as a client sees it
\set VERBOSITY default
SELECT '7K3M-Q9TZ-XW2H-P4RT'::loyalty.code;
\set VERBOSITY sqlstate
SELECT 'U000-0000-0000-0000'::loyalty.code;
\set VERBOSITY terse

--
-- Binary send/recv
--
SELECT c, loyalty.code_send(c)
FROM (VALUES ('7K3M-Q9TZ-XW2H-P4RC'::loyalty.code),
			 ('0000-0000-0000-000V'),
			 ('ZZZZ-ZZZZ-ZZZZ-ZZZE'),
			 ('VP01-7K3M-Q9TZ-XW2H-P4RF'),
			 ('A-7K3M-Q9TZ-XW2H-P4RH')) v(c);

-- send then recv gives the code back
SELECT c, r.result, r.result = c::text AS round_trip
FROM (VALUES ('7K3M-Q9TZ-XW2H-P4RC'::loyalty.code),
			 ('ZZZZ-ZZZZ-ZZZZ-ZZZE'),
			 ('VP01-7K3M-Q9TZ-XW2H-P4RF'),
			 ('B7-7K3M-Q9TZ-XW2H-P4R3')) v(c),
	 LATERAL pg_temp.recv_code(loyalty.code_send(c)) r;

-- recv refuses reserved bits, bad series bytes and short input
SELECT label, r.*
FROM (VALUES ('all zero', '\x00000000000000000000000000000000'::bytea),
			 ('body_hi bit 60', '\x10000000000000000000000000000000'),
			 ('body_lo bit 15', '\x00000000000000008000000000000000'),
			 ('reserved set', '\x00000000000000000000000000000001'),
			 ('lower-case series', '\x00000000000000000000767030310000'),
			 ('series U', '\x00000000000000000000550000000000'),
			 ('series gap', '\x00000000000000000000410041000000'),
			 ('15 bytes', '\x000000000000000000000000000000'),
			 ('17 bytes', '\x0000000000000000000000000000000000')) v(label, payload),
	 LATERAL pg_temp.recv_code(payload) r;

--
-- The check symbol catches every single substitution and every swap of two
-- different neighbours, on 200 generated codes with series of 0 to 4 symbols
--
CREATE TEMP TABLE sample AS
SELECT i, replace(loyalty.new_code(CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'A'
									WHEN 2 THEN 'B7' WHEN 3 THEN 'XYZ'
									ELSE 'VP01' END)::text, '-', '') AS s
FROM generate_series(1, 200) i;

SELECT count(*) AS codes, sum(length(s)) AS symbols,
	   count(*) FILTER (WHERE loyalty.code_is_valid(s)) AS valid
FROM sample;

-- every position, every other symbol of the alphabet
SELECT count(*) AS mutations_tested,
	   count(*) FILTER (WHERE loyalty.code_is_valid(overlay(s PLACING sym FROM pos FOR 1))) AS accepted
FROM sample,
	 generate_series(1, length(s)) pos,
	 regexp_split_to_table('0123456789ABCDEFGHJKMNPQRSTVWXYZ', '') sym
WHERE sym <> substr(s, pos, 1);

-- every pair of neighbours (equal neighbours swap to the same code)
SELECT count(*) AS neighbour_pairs,
	   count(*) FILTER (WHERE substr(s, pos, 1) <> substr(s, pos + 1, 1)
						AND loyalty.code_is_valid(overlay(s PLACING substr(s, pos + 1, 1) || substr(s, pos, 1)
														  FROM pos FOR 2))) AS accepted
FROM sample, generate_series(1, length(s) - 1) pos;

-- the same, in the printed form with the hyphens kept and lower case
SELECT count(*) AS mutations_tested,
	   count(*) FILTER (WHERE loyalty.code_is_valid(lower(overlay(p PLACING sym FROM pos FOR 1)))) AS accepted
FROM (SELECT loyalty.new_code()::text AS p FROM generate_series(1, 50)) g,
	 generate_series(1, 19) pos,
	 regexp_split_to_table('0123456789ABCDEFGHJKMNPQRSTVWXYZ', '') sym
WHERE substr(p, pos, 1) <> '-' AND sym <> substr(p, pos, 1);

--
-- Generated codes: unique, well-formed, in the requested series
--
SELECT count(DISTINCT c) = 1000000 AS unique_codes
FROM (SELECT loyalty.new_code() c FROM generate_series(1, 1000000)) s;

SELECT count(*) FILTER (WHERE c::text ~ '^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$') AS well_formed,
	   count(*) FILTER (WHERE c::text::loyalty.code = c) AS round_trip,
	   count(*) FILTER (WHERE loyalty.code_series(c) IS NULL) AS without_series,
	   count(*) FILTER (WHERE loyalty.code_suffix(c) = right(c::text, 4)) AS suffix_ok
FROM (SELECT loyalty.new_code() c FROM generate_series(1, 1000)) s;

SELECT count(*) FILTER (WHERE c::text ~ '^VP01(-[0-9A-HJKMNP-TV-Z]{4}){4}$') AS well_formed,
	   count(*) FILTER (WHERE loyalty.code_series(c) = 'VP01') AS in_series,
	   count(*) FILTER (WHERE c::text::loyalty.code = c) AS round_trip
FROM (SELECT loyalty.new_code('VP01') c FROM generate_series(1, 1000)) s;

-- all 32 symbols turn up in every body position (75 random bits)
SELECT count(DISTINCT (pos, substr(replace(c::text, '-', ''), pos, 1))) AS position_symbol_pairs
FROM (SELECT loyalty.new_code() c FROM generate_series(1, 5000)) s,
	 generate_series(1, 15) pos;

-- series are normalized like codes; bad ones are refused with 22023
SELECT series, t.*
FROM (VALUES (NULL), ('VP01'), ('vp01'), ('vp-o1'), ('VPOL'), ('x'), (' 9 '),
			 (''), ('-'), ('VP012'), ('VPU1'), ('V*'), ('Ü')) v(series),
	 LATERAL pg_temp.try_series(series) t;

SELECT loyalty.new_code() IS NOT NULL AS default_series,
	   loyalty.code_series(loyalty.new_code()) IS NULL AS no_series;

--
-- code_is_valid: true or false, never an error
--
SELECT input, loyalty.code_is_valid(input)
FROM (VALUES ('7K3M-Q9TZ-XW2H-P4RC'),
			 ('7k3m q9tz xw2h p4rc'),
			 ('VP01-7K3M-Q9TZ-XW2H-P4RF'),
			 ('7K3M-Q9TZ-XW2H-P4RT'),
			 (''),
			 (' '),
			 ('-'),
			 ('7K3M'),
			 ('7K3M-Q9TZ-XW2H-P4R'),
			 ('VP01X-7K3M-Q9TZ-XW2H-P4RF'),
			 ('7K3M-Q9TZ-XW2U-P4RC'),
			 ('7K3M-Q9TZ-XW2H-P4R*'),
			 ('7K3M-Q9TZ-XW2H-P4R€'),
			 ('７K3M-Q9TZ-XW2H-P4RC'),
			 ('🎟️'),
			 (E'7K3M-Q9TZ-XW2H-P4RC\\'),
			 ('7K3M-Q9TZ-XW2H-P4RC;'),
			 ('''7K3M-Q9TZ-XW2H-P4RC''')) v(input);

SELECT loyalty.code_is_valid(NULL) AS null_input;

SELECT loyalty.code_is_valid(repeat('7', 100000)) AS long_symbols,
	   loyalty.code_is_valid(repeat('-', 100000)) AS long_hyphens,
	   loyalty.code_is_valid(repeat(' ', 100000) || '7K3M-Q9TZ-XW2H-P4RC') AS long_padding,
	   loyalty.code_is_valid(repeat('€', 100000)) AS long_unicode,
	   loyalty.code_is_valid(repeat('7K3M-Q9TZ-XW2H-P4RC', 5000)) AS long_repeat;

--
-- Comparison and order: by series (none first), then body
--
SELECT c
FROM (VALUES ('ZZZZ-ZZZZ-ZZZZ-ZZZE'::loyalty.code),
			 ('VP01-7K3M-Q9TZ-XW2H-P4RF'),
			 ('0000-0000-0000-000V'),
			 ('XYZ-7K3M-Q9TZ-XW2H-P4R3'),
			 ('A-7K3M-Q9TZ-XW2H-P4RH'),
			 ('7K3M-Q9TZ-XW2H-P4RC'),
			 ('1001-7K3M-Q9TZ-XW2H-P4R6'),
			 ('B7-7K3M-Q9TZ-XW2H-P4R3')) v(c)
ORDER BY c;

SELECT a < b AS lt, a <= b AS le, a = b AS eq, a <> b AS ne, a >= b AS ge, a > b AS gt,
	   loyalty.code_cmp(a, b) AS cmp
FROM (VALUES ('7K3M-Q9TZ-XW2H-P4RC'::loyalty.code, '7k3m q9tz xw2h p4rc'::loyalty.code),
			 ('0000-0000-0000-000V', '7K3M-Q9TZ-XW2H-P4RC'),
			 ('A-7K3M-Q9TZ-XW2H-P4RH', '7K3M-Q9TZ-XW2H-P4RC')) v(a, b);

-- equal codes hash equally, however they were typed
SELECT loyalty.code_hash('7K3M-Q9TZ-XW2H-P4RC') = loyalty.code_hash('7k3m q9tz xw2h p4rc') AS hash_equal,
	   loyalty.code_hash_extended('7K3M-Q9TZ-XW2H-P4RC', 42) = loyalty.code_hash_extended('7k3m q9tz xw2h p4rc', 42) AS hash_extended_equal,
	   loyalty.code_hash_extended('7K3M-Q9TZ-XW2H-P4RC', 0) <> loyalty.code_hash_extended('7K3M-Q9TZ-XW2H-P4RC', 1) AS seed_matters;

--
-- Indexes and constraints
--
CREATE TEMP TABLE voucher (id int, code loyalty.code UNIQUE);
INSERT INTO voucher SELECT i, loyalty.new_code() FROM generate_series(1, 2000) i;
INSERT INTO voucher VALUES (0, 'VP01-7K3M-Q9TZ-XW2H-P4RF');
-- the same code typed differently is a duplicate
INSERT INTO voucher VALUES (-1, 'vp o1 7k3m q9tz xw2h p4rf');
ANALYZE voucher;

SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM voucher WHERE code = 'vpo1-7k3m-q9tz-xw2h-p4rf';
SELECT id FROM voucher WHERE code = 'vpo1-7k3m-q9tz-xw2h-p4rf';
EXPLAIN (COSTS OFF) SELECT id FROM voucher WHERE code >= 'VP01-0000-0000-0000-000R' ORDER BY code;
SELECT id FROM voucher WHERE code >= 'VP01-0000-0000-0000-000R' ORDER BY code;
ALTER TABLE voucher DROP CONSTRAINT voucher_code_key;
CREATE INDEX voucher_code_hash ON voucher USING hash (code);
EXPLAIN (COSTS OFF) SELECT id FROM voucher WHERE code = 'vpo1-7k3m-q9tz-xw2h-p4rf';
SELECT id FROM voucher WHERE code = 'vpo1-7k3m-q9tz-xw2h-p4rf';
RESET enable_seqscan;
RESET enable_bitmapscan;

-- hash aggregation and hash joins use the hash opclass
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT count(*) AS groups FROM (SELECT code FROM voucher GROUP BY code) g;
SELECT count(*) AS groups FROM (SELECT code FROM voucher GROUP BY code) g;
RESET enable_sort;
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM voucher a JOIN voucher b USING (code);
SELECT count(*) FROM voucher a JOIN voucher b USING (code);
RESET enable_mergejoin;
RESET enable_nestloop;

-- code <-> text through I/O conversion
SELECT 'VP01-7K3M-Q9TZ-XW2H-P4RF'::loyalty.code::text AS as_text,
	   'vp01 7k3m q9tz xw2h p4rf'::text::loyalty.code AS from_text,
	   pg_typeof(loyalty.new_code()) AS type;
