-- pg_loyalty install script, assembled from src/sql/*.sql in name order.
\echo Use "CREATE EXTENSION pg_loyalty" to load this file. \quit

COMMENT ON SCHEMA @extschema@ IS 'pg_loyalty: points, vouchers, wallets, tiers, campaigns and their report views';

-- loyalty.points: an exact amount of points with two decimals, stored as an
-- int64 count of hundredths (src/points.c, doc/types-points.md).

CREATE TYPE @extschema@.points;

CREATE FUNCTION @extschema@.points_in(cstring) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_out(@extschema@.points) RETURNS cstring
	AS 'MODULE_PATHNAME', 'points_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_recv(internal) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_send(@extschema@.points) RETURNS bytea
	AS 'MODULE_PATHNAME', 'points_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.points (
	INPUT = @extschema@.points_in,
	OUTPUT = @extschema@.points_out,
	RECEIVE = @extschema@.points_recv,
	SEND = @extschema@.points_send,
	INTERNALLENGTH = 8,
	PASSEDBYVALUE,
	ALIGNMENT = double,
	STORAGE = plain,
	CATEGORY = 'N'
);

COMMENT ON TYPE @extschema@.points IS 'exact amount of loyalty points with at most 2 decimals (int64 hundredths), e.g. 5.5';
COMMENT ON FUNCTION @extschema@.points_in(cstring) IS 'text input of loyalty.points: optional sign, digits, at most 2 significant decimals; no exponents, NaN or infinity';
COMMENT ON FUNCTION @extschema@.points_out(@extschema@.points) IS 'text output of loyalty.points in the shortest exact form (5.5, 6, -0.25)';
COMMENT ON FUNCTION @extschema@.points_recv(internal) IS 'binary input of loyalty.points: an int8 count of hundredths';
COMMENT ON FUNCTION @extschema@.points_send(@extschema@.points) IS 'binary output of loyalty.points: an int8 count of hundredths';

-- Arithmetic

CREATE FUNCTION @extschema@.points_pl(@extschema@.points, @extschema@.points) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_pl'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_mi(@extschema@.points, @extschema@.points) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_mi'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_um(@extschema@.points) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_um'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_mul_int4(@extschema@.points, integer) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_mul_int4'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.int4_mul_points(integer, @extschema@.points) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'int4_mul_points'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_mul_int8(@extschema@.points, bigint) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_mul_int8'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.int8_mul_points(bigint, @extschema@.points) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'int8_mul_points'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_mul_numeric(@extschema@.points, numeric) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_mul_numeric'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.numeric_mul_points(numeric, @extschema@.points) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'numeric_mul_points'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_div_int4(@extschema@.points, integer) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_div_int4'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_div_int8(@extschema@.points, bigint) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_div_int8'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_div_numeric(@extschema@.points, numeric) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_div_numeric'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_div_points(@extschema@.points, @extschema@.points) RETURNS numeric
	AS 'MODULE_PATHNAME', 'points_div_points'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.points_pl(@extschema@.points, @extschema@.points) IS 'implementation of points + points; error 22003 on overflow';
COMMENT ON FUNCTION @extschema@.points_mi(@extschema@.points, @extschema@.points) IS 'implementation of points - points; error 22003 on overflow';
COMMENT ON FUNCTION @extschema@.points_um(@extschema@.points) IS 'implementation of - points';
COMMENT ON FUNCTION @extschema@.points_mul_int4(@extschema@.points, integer) IS 'implementation of points * integer; error 22003 on overflow';
COMMENT ON FUNCTION @extschema@.int4_mul_points(integer, @extschema@.points) IS 'implementation of integer * points; error 22003 on overflow';
COMMENT ON FUNCTION @extschema@.points_mul_int8(@extschema@.points, bigint) IS 'implementation of points * bigint; error 22003 on overflow';
COMMENT ON FUNCTION @extschema@.int8_mul_points(bigint, @extschema@.points) IS 'implementation of bigint * points; error 22003 on overflow';
COMMENT ON FUNCTION @extschema@.points_mul_numeric(@extschema@.points, numeric) IS 'implementation of points * numeric, rounded half away from zero to 0.01';
COMMENT ON FUNCTION @extschema@.numeric_mul_points(numeric, @extschema@.points) IS 'implementation of numeric * points, rounded half away from zero to 0.01';
COMMENT ON FUNCTION @extschema@.points_div_int4(@extschema@.points, integer) IS 'implementation of points / integer, rounded half away from zero to 0.01';
COMMENT ON FUNCTION @extschema@.points_div_int8(@extschema@.points, bigint) IS 'implementation of points / bigint, rounded half away from zero to 0.01';
COMMENT ON FUNCTION @extschema@.points_div_numeric(@extschema@.points, numeric) IS 'implementation of points / numeric, rounded half away from zero to 0.01';
COMMENT ON FUNCTION @extschema@.points_div_points(@extschema@.points, @extschema@.points) IS 'implementation of points / points: the ratio as numeric';

CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.points, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.points_pl, COMMUTATOR = OPERATOR(@extschema@.+)
);
CREATE OPERATOR @extschema@.- (
	LEFTARG = @extschema@.points, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.points_mi
);
CREATE OPERATOR @extschema@.- (
	RIGHTARG = @extschema@.points, FUNCTION = @extschema@.points_um
);
CREATE OPERATOR @extschema@.* (
	LEFTARG = @extschema@.points, RIGHTARG = integer,
	FUNCTION = @extschema@.points_mul_int4, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.* (
	LEFTARG = integer, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.int4_mul_points, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.* (
	LEFTARG = @extschema@.points, RIGHTARG = bigint,
	FUNCTION = @extschema@.points_mul_int8, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.* (
	LEFTARG = bigint, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.int8_mul_points, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.* (
	LEFTARG = @extschema@.points, RIGHTARG = numeric,
	FUNCTION = @extschema@.points_mul_numeric, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.* (
	LEFTARG = numeric, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.numeric_mul_points, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@./ (
	LEFTARG = @extschema@.points, RIGHTARG = integer,
	FUNCTION = @extschema@.points_div_int4
);
CREATE OPERATOR @extschema@./ (
	LEFTARG = @extschema@.points, RIGHTARG = bigint,
	FUNCTION = @extschema@.points_div_int8
);
CREATE OPERATOR @extschema@./ (
	LEFTARG = @extschema@.points, RIGHTARG = numeric,
	FUNCTION = @extschema@.points_div_numeric
);
CREATE OPERATOR @extschema@./ (
	LEFTARG = @extschema@.points, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.points_div_points
);

COMMENT ON OPERATOR @extschema@.+ (@extschema@.points, @extschema@.points) IS 'add points';
COMMENT ON OPERATOR @extschema@.- (@extschema@.points, @extschema@.points) IS 'subtract points';
COMMENT ON OPERATOR @extschema@.- (NONE, @extschema@.points) IS 'negate points';
COMMENT ON OPERATOR @extschema@.* (@extschema@.points, integer) IS 'multiply points by an integer';
COMMENT ON OPERATOR @extschema@.* (integer, @extschema@.points) IS 'multiply points by an integer';
COMMENT ON OPERATOR @extschema@.* (@extschema@.points, bigint) IS 'multiply points by an integer';
COMMENT ON OPERATOR @extschema@.* (bigint, @extschema@.points) IS 'multiply points by an integer';
COMMENT ON OPERATOR @extschema@.* (@extschema@.points, numeric) IS 'multiply points by a number, rounded half away from zero to 0.01';
COMMENT ON OPERATOR @extschema@.* (numeric, @extschema@.points) IS 'multiply points by a number, rounded half away from zero to 0.01';
COMMENT ON OPERATOR @extschema@./ (@extschema@.points, integer) IS 'divide points by an integer, rounded half away from zero to 0.01';
COMMENT ON OPERATOR @extschema@./ (@extschema@.points, bigint) IS 'divide points by an integer, rounded half away from zero to 0.01';
COMMENT ON OPERATOR @extschema@./ (@extschema@.points, numeric) IS 'divide points by a number, rounded half away from zero to 0.01';
COMMENT ON OPERATOR @extschema@./ (@extschema@.points, @extschema@.points) IS 'ratio of two amounts of points, as numeric';

-- Comparison

CREATE FUNCTION @extschema@.points_eq(@extschema@.points, @extschema@.points) RETURNS boolean
	AS 'MODULE_PATHNAME', 'points_eq'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.points_ne(@extschema@.points, @extschema@.points) RETURNS boolean
	AS 'MODULE_PATHNAME', 'points_ne'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.points_lt(@extschema@.points, @extschema@.points) RETURNS boolean
	AS 'MODULE_PATHNAME', 'points_lt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.points_le(@extschema@.points, @extschema@.points) RETURNS boolean
	AS 'MODULE_PATHNAME', 'points_le'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.points_gt(@extschema@.points, @extschema@.points) RETURNS boolean
	AS 'MODULE_PATHNAME', 'points_gt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.points_ge(@extschema@.points, @extschema@.points) RETURNS boolean
	AS 'MODULE_PATHNAME', 'points_ge'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.points_cmp(@extschema@.points, @extschema@.points) RETURNS integer
	AS 'MODULE_PATHNAME', 'points_cmp'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.points_sortsupport(internal) RETURNS void
	AS 'MODULE_PATHNAME', 'points_sortsupport'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_hash(@extschema@.points) RETURNS integer
	AS 'MODULE_PATHNAME', 'points_hash'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.points_hash_extended(@extschema@.points, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'points_hash_extended'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

COMMENT ON FUNCTION @extschema@.points_eq(@extschema@.points, @extschema@.points) IS 'implementation of points = points';
COMMENT ON FUNCTION @extschema@.points_ne(@extschema@.points, @extschema@.points) IS 'implementation of points <> points';
COMMENT ON FUNCTION @extschema@.points_lt(@extschema@.points, @extschema@.points) IS 'implementation of points < points';
COMMENT ON FUNCTION @extschema@.points_le(@extschema@.points, @extschema@.points) IS 'implementation of points <= points';
COMMENT ON FUNCTION @extschema@.points_gt(@extschema@.points, @extschema@.points) IS 'implementation of points > points';
COMMENT ON FUNCTION @extschema@.points_ge(@extschema@.points, @extschema@.points) IS 'implementation of points >= points';
COMMENT ON FUNCTION @extschema@.points_cmp(@extschema@.points, @extschema@.points) IS 'B-tree comparison of points: -1, 0 or 1';
COMMENT ON FUNCTION @extschema@.points_sortsupport(internal) IS 'B-tree sort support for points';
COMMENT ON FUNCTION @extschema@.points_hash(@extschema@.points) IS 'hash of points, for hash indexes, hash joins and hash aggregation';
COMMENT ON FUNCTION @extschema@.points_hash_extended(@extschema@.points, bigint) IS 'seeded 64-bit hash of points, for hash partitioning';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.points, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.points_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.points, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.points_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.points, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.points_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.points, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.points_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.points, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.points_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.points, RIGHTARG = @extschema@.points,
	FUNCTION = @extschema@.points_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

COMMENT ON OPERATOR @extschema@.= (@extschema@.points, @extschema@.points) IS 'equal';
COMMENT ON OPERATOR @extschema@.<> (@extschema@.points, @extschema@.points) IS 'not equal';
COMMENT ON OPERATOR @extschema@.< (@extschema@.points, @extschema@.points) IS 'less than';
COMMENT ON OPERATOR @extschema@.<= (@extschema@.points, @extschema@.points) IS 'less than or equal';
COMMENT ON OPERATOR @extschema@.> (@extschema@.points, @extschema@.points) IS 'greater than';
COMMENT ON OPERATOR @extschema@.>= (@extschema@.points, @extschema@.points) IS 'greater than or equal';

CREATE OPERATOR CLASS @extschema@.points_ops
	DEFAULT FOR TYPE @extschema@.points USING btree AS
		OPERATOR 1 @extschema@.< ,
		OPERATOR 2 @extschema@.<= ,
		OPERATOR 3 @extschema@.= ,
		OPERATOR 4 @extschema@.>= ,
		OPERATOR 5 @extschema@.> ,
		FUNCTION 1 @extschema@.points_cmp(@extschema@.points, @extschema@.points),
		FUNCTION 2 @extschema@.points_sortsupport(internal);

CREATE OPERATOR CLASS @extschema@.points_hash_ops
	DEFAULT FOR TYPE @extschema@.points USING hash AS
		OPERATOR 1 @extschema@.= ,
		FUNCTION 1 @extschema@.points_hash(@extschema@.points),
		FUNCTION 2 @extschema@.points_hash_extended(@extschema@.points, bigint);

COMMENT ON OPERATOR CLASS @extschema@.points_ops USING btree IS 'default B-tree operator class for loyalty.points';
COMMENT ON OPERATOR CLASS @extschema@.points_hash_ops USING hash IS 'default hash operator class for loyalty.points';

-- Functions

CREATE FUNCTION @extschema@.points_larger(@extschema@.points, @extschema@.points) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_larger'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_smaller(@extschema@.points, @extschema@.points) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_smaller'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.abs(@extschema@.points) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_abs'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.round(p @extschema@.points, mode text DEFAULT 'nearest') RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_round'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.points_larger(@extschema@.points, @extschema@.points) IS 'larger of two amounts of points (max() transition)';
COMMENT ON FUNCTION @extschema@.points_smaller(@extschema@.points, @extschema@.points) IS 'smaller of two amounts of points (min() transition)';
COMMENT ON FUNCTION @extschema@.abs(@extschema@.points) IS 'absolute value of points';
COMMENT ON FUNCTION @extschema@.round(@extschema@.points, text) IS 'round points to whole points; mode nearest (half away from zero, the default), down (toward zero), up (away from zero) or keep';

-- Casts

CREATE FUNCTION @extschema@.points(integer) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'int4_to_points'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points(bigint) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'int8_to_points'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points(numeric) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'numeric_to_points'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_to_numeric(@extschema@.points) RETURNS numeric
	AS 'MODULE_PATHNAME', 'points_to_numeric'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_to_int8(@extschema@.points) RETURNS bigint
	AS 'MODULE_PATHNAME', 'points_to_int8'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.points(integer) IS 'whole points from an integer';
COMMENT ON FUNCTION @extschema@.points(bigint) IS 'whole points from a bigint; error 22003 if out of range';
COMMENT ON FUNCTION @extschema@.points(numeric) IS 'exact points from numeric; error 22P02 for NaN, infinity or more than 2 non-zero decimals, 22003 if out of range';
COMMENT ON FUNCTION @extschema@.points_to_numeric(@extschema@.points) IS 'exact numeric value of points, with scale 2';
COMMENT ON FUNCTION @extschema@.points_to_int8(@extschema@.points) IS 'whole points as bigint, rounded half away from zero';

CREATE CAST (integer AS @extschema@.points)
	WITH FUNCTION @extschema@.points(integer) AS IMPLICIT;
CREATE CAST (bigint AS @extschema@.points)
	WITH FUNCTION @extschema@.points(bigint) AS IMPLICIT;
CREATE CAST (numeric AS @extschema@.points)
	WITH FUNCTION @extschema@.points(numeric) AS ASSIGNMENT;
CREATE CAST (@extschema@.points AS numeric)
	WITH FUNCTION @extschema@.points_to_numeric(@extschema@.points) AS ASSIGNMENT;
CREATE CAST (@extschema@.points AS bigint)
	WITH FUNCTION @extschema@.points_to_int8(@extschema@.points);

COMMENT ON CAST (integer AS @extschema@.points) IS 'whole points (implicit)';
COMMENT ON CAST (bigint AS @extschema@.points) IS 'whole points (implicit)';
COMMENT ON CAST (numeric AS @extschema@.points) IS 'exact conversion (assignment); never truncates';
COMMENT ON CAST (@extschema@.points AS numeric) IS 'exact conversion with scale 2 (assignment)';
COMMENT ON CAST (@extschema@.points AS bigint) IS 'whole points rounded half away from zero (explicit)';

-- Aggregates

CREATE FUNCTION @extschema@.points_avg_accum(internal, @extschema@.points) RETURNS internal
	AS 'MODULE_PATHNAME', 'points_avg_accum'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_avg_combine(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'points_avg_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_avg_serialize(internal) RETURNS bytea
	AS 'MODULE_PATHNAME', 'points_avg_serialize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_avg_deserialize(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'points_avg_deserialize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.points_avg_final(internal) RETURNS @extschema@.points
	AS 'MODULE_PATHNAME', 'points_avg_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.points_avg_accum(internal, @extschema@.points) IS 'avg(points) transition: count and 128-bit sum';
COMMENT ON FUNCTION @extschema@.points_avg_combine(internal, internal) IS 'avg(points) combine function for parallel aggregation';
COMMENT ON FUNCTION @extschema@.points_avg_serialize(internal) IS 'avg(points) state serialization for parallel aggregation';
COMMENT ON FUNCTION @extschema@.points_avg_deserialize(bytea, internal) IS 'avg(points) state deserialization for parallel aggregation';
COMMENT ON FUNCTION @extschema@.points_avg_final(internal) IS 'avg(points) final function: the mean rounded half away from zero to 0.01';

CREATE AGGREGATE @extschema@.sum(@extschema@.points) (
	SFUNC = @extschema@.points_pl,
	STYPE = @extschema@.points,
	COMBINEFUNC = @extschema@.points_pl,
	PARALLEL = SAFE
);

CREATE AGGREGATE @extschema@.min(@extschema@.points) (
	SFUNC = @extschema@.points_smaller,
	STYPE = @extschema@.points,
	COMBINEFUNC = @extschema@.points_smaller,
	SORTOP = OPERATOR(@extschema@.<),
	PARALLEL = SAFE
);

CREATE AGGREGATE @extschema@.max(@extschema@.points) (
	SFUNC = @extschema@.points_larger,
	STYPE = @extschema@.points,
	COMBINEFUNC = @extschema@.points_larger,
	SORTOP = OPERATOR(@extschema@.>),
	PARALLEL = SAFE
);

CREATE AGGREGATE @extschema@.avg(@extschema@.points) (
	SFUNC = @extschema@.points_avg_accum,
	STYPE = internal,
	SSPACE = 32,
	FINALFUNC = @extschema@.points_avg_final,
	COMBINEFUNC = @extschema@.points_avg_combine,
	SERIALFUNC = @extschema@.points_avg_serialize,
	DESERIALFUNC = @extschema@.points_avg_deserialize,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@.sum(@extschema@.points) IS 'sum of points; NULL for no rows, error 22003 on overflow';
COMMENT ON AGGREGATE @extschema@.min(@extschema@.points) IS 'smallest amount of points';
COMMENT ON AGGREGATE @extschema@.max(@extschema@.points) IS 'largest amount of points';
COMMENT ON AGGREGATE @extschema@.avg(@extschema@.points) IS 'mean of points rounded half away from zero to 0.01; NULL for no rows';

-- Disambiguation
--
-- The implicit integer -> points casts make "integer * numeric" match both
-- numeric * numeric and points * numeric, which PostgreSQL reports as "operator
-- is not unique" whenever loyalty is in search_path.  These exact-match
-- operators do what the core operators do (convert the integer to numeric) and
-- are inlined by the planner, so results and plans are those of core.

CREATE FUNCTION @extschema@.int4_mul_numeric(integer, numeric) RETURNS numeric
	AS $$ SELECT $1::pg_catalog.numeric OPERATOR(pg_catalog.*) $2 $$
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.numeric_mul_int4(numeric, integer) RETURNS numeric
	AS $$ SELECT $1 OPERATOR(pg_catalog.*) $2::pg_catalog.numeric $$
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.int8_mul_numeric(bigint, numeric) RETURNS numeric
	AS $$ SELECT $1::pg_catalog.numeric OPERATOR(pg_catalog.*) $2 $$
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.numeric_mul_int8(numeric, bigint) RETURNS numeric
	AS $$ SELECT $1 OPERATOR(pg_catalog.*) $2::pg_catalog.numeric $$
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.int4_div_numeric(integer, numeric) RETURNS numeric
	AS $$ SELECT $1::pg_catalog.numeric OPERATOR(pg_catalog./) $2 $$
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.int8_div_numeric(bigint, numeric) RETURNS numeric
	AS $$ SELECT $1::pg_catalog.numeric OPERATOR(pg_catalog./) $2 $$
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.int4_mul_numeric(integer, numeric) IS 'integer * numeric as core computes it; keeps the operator unambiguous next to points * numeric';
COMMENT ON FUNCTION @extschema@.numeric_mul_int4(numeric, integer) IS 'numeric * integer as core computes it; keeps the operator unambiguous next to numeric * points';
COMMENT ON FUNCTION @extschema@.int8_mul_numeric(bigint, numeric) IS 'bigint * numeric as core computes it; keeps the operator unambiguous next to points * numeric';
COMMENT ON FUNCTION @extschema@.numeric_mul_int8(numeric, bigint) IS 'numeric * bigint as core computes it; keeps the operator unambiguous next to numeric * points';
COMMENT ON FUNCTION @extschema@.int4_div_numeric(integer, numeric) IS 'integer / numeric as core computes it; keeps the operator unambiguous next to points / numeric';
COMMENT ON FUNCTION @extschema@.int8_div_numeric(bigint, numeric) IS 'bigint / numeric as core computes it; keeps the operator unambiguous next to points / numeric';

CREATE OPERATOR @extschema@.* (
	LEFTARG = integer, RIGHTARG = numeric,
	FUNCTION = @extschema@.int4_mul_numeric, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.* (
	LEFTARG = numeric, RIGHTARG = integer,
	FUNCTION = @extschema@.numeric_mul_int4, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.* (
	LEFTARG = bigint, RIGHTARG = numeric,
	FUNCTION = @extschema@.int8_mul_numeric, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.* (
	LEFTARG = numeric, RIGHTARG = bigint,
	FUNCTION = @extschema@.numeric_mul_int8, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@./ (
	LEFTARG = integer, RIGHTARG = numeric,
	FUNCTION = @extschema@.int4_div_numeric
);
CREATE OPERATOR @extschema@./ (
	LEFTARG = bigint, RIGHTARG = numeric,
	FUNCTION = @extschema@.int8_div_numeric
);

COMMENT ON OPERATOR @extschema@.* (integer, numeric) IS 'multiply (same as core; present so that integer * numeric stays unambiguous)';
COMMENT ON OPERATOR @extschema@.* (numeric, integer) IS 'multiply (same as core; present so that numeric * integer stays unambiguous)';
COMMENT ON OPERATOR @extschema@.* (bigint, numeric) IS 'multiply (same as core; present so that bigint * numeric stays unambiguous)';
COMMENT ON OPERATOR @extschema@.* (numeric, bigint) IS 'multiply (same as core; present so that numeric * bigint stays unambiguous)';
COMMENT ON OPERATOR @extschema@./ (integer, numeric) IS 'divide (same as core; present so that integer / numeric stays unambiguous)';
COMMENT ON OPERATOR @extschema@./ (bigint, numeric) IS 'divide (same as core; present so that bigint / numeric stays unambiguous)';

-- loyalty.code: check-summed serial numbers for vouchers, coupons, gift
-- certificates, prize codes and cards (src/code.c, doc/types-code.md).

CREATE TYPE @extschema@.code;

CREATE FUNCTION @extschema@.code_in(cstring) RETURNS @extschema@.code
	AS 'MODULE_PATHNAME', 'loyalty_code_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.code_out(@extschema@.code) RETURNS cstring
	AS 'MODULE_PATHNAME', 'loyalty_code_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.code_recv(internal) RETURNS @extschema@.code
	AS 'MODULE_PATHNAME', 'loyalty_code_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.code_send(@extschema@.code) RETURNS bytea
	AS 'MODULE_PATHNAME', 'loyalty_code_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.code (
	INPUT = @extschema@.code_in,
	OUTPUT = @extschema@.code_out,
	RECEIVE = @extschema@.code_recv,
	SEND = @extschema@.code_send,
	INTERNALLENGTH = 16,
	ALIGNMENT = double,
	STORAGE = plain
);

COMMENT ON TYPE @extschema@.code IS 'voucher, coupon, gift certificate or card number: optional 1-4 symbol series, 15 random Crockford base32 symbols and a check symbol, e.g. VP01-7K3M-Q9TZ-XW2H-P4RF';
COMMENT ON FUNCTION @extschema@.code_in(cstring) IS 'text input of loyalty.code: case-insensitive, ignores spaces and hyphens, reads O as 0 and I/L as 1, verifies the check symbol';
COMMENT ON FUNCTION @extschema@.code_out(@extschema@.code) IS 'text output of loyalty.code: series, then groups of four symbols joined by hyphens';
COMMENT ON FUNCTION @extschema@.code_recv(internal) IS 'binary input of loyalty.code';
COMMENT ON FUNCTION @extschema@.code_send(@extschema@.code) IS 'binary output of loyalty.code';

-- Comparison

CREATE FUNCTION @extschema@.code_eq(@extschema@.code, @extschema@.code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'loyalty_code_eq'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.code_ne(@extschema@.code, @extschema@.code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'loyalty_code_ne'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.code_lt(@extschema@.code, @extschema@.code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'loyalty_code_lt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.code_le(@extschema@.code, @extschema@.code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'loyalty_code_le'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.code_gt(@extschema@.code, @extschema@.code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'loyalty_code_gt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.code_ge(@extschema@.code, @extschema@.code) RETURNS boolean
	AS 'MODULE_PATHNAME', 'loyalty_code_ge'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.code_cmp(@extschema@.code, @extschema@.code) RETURNS integer
	AS 'MODULE_PATHNAME', 'loyalty_code_cmp'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.code_hash(@extschema@.code) RETURNS integer
	AS 'MODULE_PATHNAME', 'loyalty_code_hash'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION @extschema@.code_hash_extended(@extschema@.code, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'loyalty_code_hash_extended'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

COMMENT ON FUNCTION @extschema@.code_eq(@extschema@.code, @extschema@.code) IS 'implementation of = for loyalty.code';
COMMENT ON FUNCTION @extschema@.code_ne(@extschema@.code, @extschema@.code) IS 'implementation of <> for loyalty.code';
COMMENT ON FUNCTION @extschema@.code_lt(@extschema@.code, @extschema@.code) IS 'implementation of < for loyalty.code';
COMMENT ON FUNCTION @extschema@.code_le(@extschema@.code, @extschema@.code) IS 'implementation of <= for loyalty.code';
COMMENT ON FUNCTION @extschema@.code_gt(@extschema@.code, @extschema@.code) IS 'implementation of > for loyalty.code';
COMMENT ON FUNCTION @extschema@.code_ge(@extschema@.code, @extschema@.code) IS 'implementation of >= for loyalty.code';
COMMENT ON FUNCTION @extschema@.code_cmp(@extschema@.code, @extschema@.code) IS 'btree comparison of loyalty.code: by series, then by body';
COMMENT ON FUNCTION @extschema@.code_hash(@extschema@.code) IS 'hash of loyalty.code';
COMMENT ON FUNCTION @extschema@.code_hash_extended(@extschema@.code, bigint) IS 'seeded 64-bit hash of loyalty.code';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.code, RIGHTARG = @extschema@.code,
	FUNCTION = @extschema@.code_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);

CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.code, RIGHTARG = @extschema@.code,
	FUNCTION = @extschema@.code_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);

CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.code, RIGHTARG = @extschema@.code,
	FUNCTION = @extschema@.code_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);

CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.code, RIGHTARG = @extschema@.code,
	FUNCTION = @extschema@.code_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);

CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.code, RIGHTARG = @extschema@.code,
	FUNCTION = @extschema@.code_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.code, RIGHTARG = @extschema@.code,
	FUNCTION = @extschema@.code_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

COMMENT ON OPERATOR @extschema@.= (@extschema@.code, @extschema@.code) IS 'equal';
COMMENT ON OPERATOR @extschema@.<> (@extschema@.code, @extschema@.code) IS 'not equal';
COMMENT ON OPERATOR @extschema@.< (@extschema@.code, @extschema@.code) IS 'less than (by series, then body)';
COMMENT ON OPERATOR @extschema@.<= (@extschema@.code, @extschema@.code) IS 'less than or equal (by series, then body)';
COMMENT ON OPERATOR @extschema@.> (@extschema@.code, @extschema@.code) IS 'greater than (by series, then body)';
COMMENT ON OPERATOR @extschema@.>= (@extschema@.code, @extschema@.code) IS 'greater than or equal (by series, then body)';

CREATE OPERATOR CLASS @extschema@.code_ops
	DEFAULT FOR TYPE @extschema@.code USING btree AS
		OPERATOR 1 @extschema@.<,
		OPERATOR 2 @extschema@.<=,
		OPERATOR 3 @extschema@.=,
		OPERATOR 4 @extschema@.>=,
		OPERATOR 5 @extschema@.>,
		FUNCTION 1 @extschema@.code_cmp(@extschema@.code, @extschema@.code);

CREATE OPERATOR CLASS @extschema@.code_hash_ops
	DEFAULT FOR TYPE @extschema@.code USING hash AS
		OPERATOR 1 @extschema@.=,
		FUNCTION 1 @extschema@.code_hash(@extschema@.code),
		FUNCTION 2 @extschema@.code_hash_extended(@extschema@.code, bigint);

COMMENT ON OPERATOR CLASS @extschema@.code_ops USING btree IS 'default btree operator class for loyalty.code';
COMMENT ON OPERATOR CLASS @extschema@.code_hash_ops USING hash IS 'default hash operator class for loyalty.code';

-- Functions

CREATE FUNCTION @extschema@.new_code(series text DEFAULT NULL) RETURNS @extschema@.code
	AS 'MODULE_PATHNAME', 'loyalty_code_new'
	LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION @extschema@.code_series(@extschema@.code) RETURNS text
	AS 'MODULE_PATHNAME', 'loyalty_code_series'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.code_suffix(@extschema@.code) RETURNS text
	AS 'MODULE_PATHNAME', 'loyalty_code_suffix'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.code_is_valid(text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'loyalty_code_is_valid'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.new_code(text) IS 'a new random loyalty.code (75 random bits from the strong random source), optionally in a series of 1 to 4 symbols';
COMMENT ON FUNCTION @extschema@.code_series(@extschema@.code) IS 'the series prefix of a loyalty.code, or NULL when it has none';
COMMENT ON FUNCTION @extschema@.code_suffix(@extschema@.code) IS 'the last four printed symbols of a loyalty.code, for masked display such as ****-P4RC';
COMMENT ON FUNCTION @extschema@.code_is_valid(text) IS 'whether a text reads as a valid loyalty.code (length, alphabet and check symbol); never raises an error';
-- Programs, members and cards.
--
-- Configuration tables (program, rule) are small and could become
-- reference tables on a sharded cluster.  Member-scoped tables carry
-- member_id in every primary and unique key; member_key and card are
-- directories that map a host key or a card number to a member.

CREATE SEQUENCE @extschema@.id_seq MAXVALUE 281474976710655 CACHE 32;
COMMENT ON SEQUENCE @extschema@.id_seq IS 'Local part of generate_id(); the node id (pg_loyalty.node_id) is added above it';

CREATE FUNCTION @extschema@.generate_id()
RETURNS bigint
AS 'MODULE_PATHNAME', 'generate_id'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.generate_id() IS
'A new id for member-scoped rows: pg_loyalty.node_id in the top bits, then the local sequence, so sharded servers never collide';

CREATE TABLE @extschema@.program (
    program_id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name            text NOT NULL,
    currency        text NOT NULL DEFAULT 'VND' CHECK (currency ~ '^[A-Z]{3}$'),
    point_value     numeric NOT NULL DEFAULT 1000 CHECK (point_value > 0),
    time_zone       text NOT NULL DEFAULT 'UTC',
    rounding        text NOT NULL DEFAULT 'nearest'
                    CHECK (rounding IN ('nearest', 'down', 'up', 'keep')),
    earn_on_discounted_items boolean NOT NULL DEFAULT true,
    earn_on_points_paid text NOT NULL DEFAULT 'money_part'
                    CHECK (earn_on_points_paid IN ('none', 'money_part')),
    earn_with_bill_discount boolean NOT NULL DEFAULT true,
    services_earn   boolean NOT NULL DEFAULT true,
    min_item_price  numeric NOT NULL DEFAULT 0 CHECK (min_item_price >= 0),
    min_bill        numeric NOT NULL DEFAULT 0 CHECK (min_bill >= 0),
    unknown_customer text NOT NULL DEFAULT 'ignore'
                    CHECK (unknown_customer IN ('ignore', 'enroll', 'error')),
    points_lifetime interval CHECK (points_lifetime > interval '0'),
    expiry_rounding text NOT NULL DEFAULT 'exact'
                    CHECK (expiry_rounding IN ('exact', 'end_of_month', 'end_of_quarter', 'end_of_year')),
    return_when_spent text NOT NULL DEFAULT 'allow_negative'
                    CHECK (return_when_spent IN ('allow_negative', 'cap_at_balance')),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.program IS
'A loyalty program (one per brand or chain): currency, point value, time zone, rounding and the earning switches';
COMMENT ON COLUMN @extschema@.program.point_value IS 'Money one point is worth, in the program currency (e.g. 1000 VND)';
COMMENT ON COLUMN @extschema@.program.rounding IS 'Rounding of an order''s fractional points: nearest (5.5 -> 6), down (5.5 -> 5), up, or keep (5.5)';
COMMENT ON COLUMN @extschema@.program.earn_on_discounted_items IS 'Whether lines with an item discount earn points';
COMMENT ON COLUMN @extschema@.program.earn_on_points_paid IS 'Bills partly paid with points: none (earn nothing) or money_part (earn on the part paid in money)';
COMMENT ON COLUMN @extschema@.program.earn_with_bill_discount IS 'Whether a bill with a bill-level discount earns points';
COMMENT ON COLUMN @extschema@.program.services_earn IS 'Whether service lines earn like products';
COMMENT ON COLUMN @extschema@.program.min_item_price IS 'Lines whose unit price is under this earn nothing';
COMMENT ON COLUMN @extschema@.program.min_bill IS 'Bills under this total earn nothing';
COMMENT ON COLUMN @extschema@.program.unknown_customer IS 'An order whose customer is not a member: ignore (no points), enroll (create the member), or error';
COMMENT ON COLUMN @extschema@.program.points_lifetime IS 'How long earned points live (NULL: forever)';
COMMENT ON COLUMN @extschema@.program.expiry_rounding IS 'Move a lot''s expiry to the end of its month, quarter or year';
COMMENT ON COLUMN @extschema@.program.return_when_spent IS 'A return whose points were already spent: allow_negative (balance may go below zero) or cap_at_balance (take what is there, record the rest)';

CREATE TABLE @extschema@.member (
    member_id       bigint NOT NULL DEFAULT @extschema@.generate_id(),
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    customer_key    text NOT NULL,
    kind            text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'organisation')),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'closed')),
    name            text,
    phone           text,
    email           text,
    home_branch     text,
    birthday        date,
    groups          text[] NOT NULL DEFAULT '{}',
    enrolled_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id)
);
CREATE INDEX member_groups_idx ON @extschema@.member USING gin (groups);
COMMENT ON TABLE @extschema@.member IS
'A member of a program, linked to the host''s customer key; persons and organisations (wholesale counterparties) both earn';
COMMENT ON COLUMN @extschema@.member.customer_key IS 'The host system''s customer key (a bigint key is stored as its text)';
COMMENT ON COLUMN @extschema@.member.groups IS 'Customer groups (retail, wholesale, VIP, ...) that earning rules can target';

CREATE TABLE @extschema@.member_key (
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    customer_key    text NOT NULL,
    member_id       bigint NOT NULL,
    PRIMARY KEY (program_id, customer_key)
);
COMMENT ON TABLE @extschema@.member_key IS
'Directory from a host customer key to its member; on a sharded cluster it is distributed by customer key';

CREATE TABLE @extschema@.card (
    card_no         text PRIMARY KEY,
    member_id       bigint NOT NULL,
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    series          text,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'lost')),
    issued_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX card_member_idx ON @extschema@.card (member_id);
COMMENT ON TABLE @extschema@.card IS
'Membership cards: a loyalty.code printed by us or an imported card number, with its card series';
-- The points ledger: append-only entries, lots, balances and member orders.

CREATE TABLE @extschema@.ledger (
    member_id       bigint NOT NULL,
    entry_id        bigint NOT NULL DEFAULT @extschema@.generate_id(),
    program_id      bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('earn', 'reverse', 'adjust', 'redeem', 'restore',
                                                  'expire', 'bonus', 'reward')),
    amount          @extschema@.points NOT NULL,
    source          text NOT NULL DEFAULT 'pos',
    document        text NOT NULL,
    ref_document    text,
    branch          text,
    rule_id         bigint,
    campaign_id     bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    note            text,
    checksum        bigint NOT NULL,
    PRIMARY KEY (member_id, entry_id)
);
-- One posting per (program, source, document, kind).  Earning entries are
-- kept unique by loyalty.member_order's key (an order posts its earning in
-- the same statement), so the hot path does not pay for a second index.
CREATE UNIQUE INDEX ledger_posting_key ON @extschema@.ledger (member_id, program_id, source, document, kind)
    WHERE kind <> 'earn';
CREATE INDEX ledger_created_idx ON @extschema@.ledger USING brin (created_at);
COMMENT ON TABLE @extschema@.ledger IS
'Every movement of points, append-only; one posting per (program, source, document, kind)';
COMMENT ON COLUMN @extschema@.ledger.amount IS 'Points moved: positive credits the member, negative debits';
COMMENT ON COLUMN @extschema@.ledger.document IS 'The business document that caused the entry (order, return, redemption)';
COMMENT ON COLUMN @extschema@.ledger.ref_document IS 'The original order of a return or reversal';
COMMENT ON COLUMN @extschema@.ledger.expires_at IS 'Expiry of the lot an earning entry opened';
COMMENT ON COLUMN @extschema@.ledger.checksum IS 'Checksum of the entry''s content; check_ledger() recomputes it to find changed entries';

CREATE TABLE @extschema@.lot (
    member_id       bigint NOT NULL,
    lot_id          bigint NOT NULL,
    program_id      bigint NOT NULL,
    earned          @extschema@.points NOT NULL,
    remaining       @extschema@.points NOT NULL CHECK (remaining >= 0),
    earned_at       timestamptz NOT NULL,
    expires_at      timestamptz,
    PRIMARY KEY (member_id, lot_id)
);
CREATE INDEX lot_open_idx ON @extschema@.lot (member_id, expires_at) WHERE remaining > 0;
COMMENT ON TABLE @extschema@.lot IS
'Points lots: what is left of each earning, spent soonest-to-expire first; lot_id is the earning ledger entry';

CREATE TABLE @extschema@.balance (
    member_id       bigint NOT NULL,
    program_id      bigint NOT NULL,
    points          @extschema@.points NOT NULL DEFAULT 0,
    earned_total    @extschema@.points NOT NULL DEFAULT 0,
    reversed_total  @extschema@.points NOT NULL DEFAULT 0,
    unrecovered     @extschema@.points NOT NULL DEFAULT 0,
    orders          bigint NOT NULL DEFAULT 0,
    last_order_at   timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, program_id)
);
COMMENT ON TABLE @extschema@.balance IS
'Balance per member, kept in the same transaction as each ledger entry; always equals the sum of the member''s entries';
COMMENT ON COLUMN @extschema@.balance.unrecovered IS 'Points a return could not take back because they were spent (cap_at_balance programs)';

CREATE TABLE @extschema@.member_order (
    member_id       bigint NOT NULL,
    program_id      bigint NOT NULL,
    source          text NOT NULL,
    document        text NOT NULL,
    branch          text,
    channel         text,
    ordered_at      timestamptz NOT NULL,
    amount          numeric NOT NULL,
    points          @extschema@.points NOT NULL,
    visit_points    @extschema@.points NOT NULL DEFAULT 0,
    rounding        @extschema@.points NOT NULL DEFAULT 0,
    returned_amount numeric NOT NULL DEFAULT 0,
    reversed_points @extschema@.points NOT NULL DEFAULT 0,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'returned', 'cancelled')),
    entry_id        bigint,
    line_nos        integer[] NOT NULL DEFAULT '{}',
    line_skus       text[] NOT NULL DEFAULT '{}',
    line_groups     text[] NOT NULL DEFAULT '{}',
    line_quantities numeric[] NOT NULL DEFAULT '{}',
    line_amounts    numeric[] NOT NULL DEFAULT '{}',
    line_points     @extschema@.points[] NOT NULL DEFAULT '{}',
    line_rules      bigint[] NOT NULL DEFAULT '{}',
    line_returned   numeric[] NOT NULL DEFAULT '{}',
    line_reversed   @extschema@.points[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (member_id, program_id, source, document),
    CHECK (cardinality(line_nos) = cardinality(line_points)
           AND cardinality(line_nos) = cardinality(line_returned)
           AND cardinality(line_nos) = cardinality(line_reversed))
);
COMMENT ON TABLE @extschema@.member_order IS
'Orders of members as accrual saw them: amount, points earned, what returns took back, and per line (in the line_* arrays, read through loyalty.member_order_line) the rule that applied';
COMMENT ON COLUMN @extschema@.member_order.visit_points IS 'Points of the per-visit rule';
COMMENT ON COLUMN @extschema@.member_order.rounding IS 'The order rounding: points minus the lines'' and the visit''s exact points';
COMMENT ON COLUMN @extschema@.member_order.line_points IS 'Points each line earned, in line order; the lines live in the row so an order is one row to write';

CREATE VIEW @extschema@.member_order_line AS
SELECT o.member_id, o.program_id, o.source, o.document, u.line_no, u.sku, u.item_group,
       u.quantity, u.amount, u.points, u.rule_id, u.returned_quantity, u.reversed_points
  FROM @extschema@.member_order o,
       unnest(o.line_nos, o.line_skus, o.line_groups, o.line_quantities, o.line_amounts,
              o.line_points, o.line_rules, o.line_returned, o.line_reversed)
         AS u(line_no, sku, item_group, quantity, amount, points, rule_id, returned_quantity, reversed_points);
COMMENT ON VIEW @extschema@.member_order_line IS
'Per-line accrual, one row per order line: the rule that applied, the points, and what returns took back';

CREATE INDEX member_order_document_idx ON @extschema@.member_order (program_id, source, document);

CREATE TABLE @extschema@.member_return (
    member_id       bigint NOT NULL,
    program_id      bigint NOT NULL,
    source          text NOT NULL,
    return_document text NOT NULL,
    document        text NOT NULL,
    digest          text NOT NULL,
    due             @extschema@.points NOT NULL,
    taken           @extschema@.points NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, program_id, source, return_document)
);
COMMENT ON TABLE @extschema@.member_return IS
'Returns and cancellations: what each took back (due) and what the balance could give (taken); a retry with the same content is a no-op';
COMMENT ON COLUMN @extschema@.member_return.digest IS 'What was returned (lines and quantities, an amount, or the whole order), to tell a retry from a conflicting return';
-- Earning rules, evaluated by the C rule engine from a per-backend cache.

CREATE TABLE @extschema@.rule (
    rule_id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('per_amount', 'percent', 'per_quantity', 'per_order', 'exclude')),
    points          @extschema@.points,
    per_amount      numeric CHECK (per_amount > 0),
    percent         numeric CHECK (percent >= 0 AND percent <= 1000),
    item_sku        text,
    item_group      text,
    customer_group  text,
    card_series     text,
    branch          text,
    channel         text,
    priority        integer NOT NULL DEFAULT 0,
    min_bill        numeric NOT NULL DEFAULT 0 CHECK (min_bill >= 0),
    min_item_price  numeric NOT NULL DEFAULT 0 CHECK (min_item_price >= 0),
    valid_from      timestamptz NOT NULL DEFAULT '-infinity',
    valid_to        timestamptz NOT NULL DEFAULT 'infinity',
    campaign_id     bigint,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_from < valid_to),
    CHECK (CASE kind
             WHEN 'per_amount' THEN points IS NOT NULL AND points >= 0 AND per_amount IS NOT NULL AND percent IS NULL
             WHEN 'percent' THEN percent IS NOT NULL AND points IS NULL AND per_amount IS NULL
             WHEN 'per_quantity' THEN points IS NOT NULL AND points >= 0 AND per_amount IS NULL AND percent IS NULL
             WHEN 'per_order' THEN points IS NOT NULL AND points >= 0 AND per_amount IS NULL AND percent IS NULL
                              AND item_sku IS NULL AND item_group IS NULL
             WHEN 'exclude' THEN points IS NULL AND per_amount IS NULL AND percent IS NULL
           END)
);
CREATE INDEX rule_program_idx ON @extschema@.rule (program_id);
COMMENT ON TABLE @extschema@.rule IS
'Earning rules: per amount, percent of value at the point value, per quantity, per order (visit), or exclusion; scoped, prioritised and dated';
COMMENT ON COLUMN @extschema@.rule.kind IS 'per_amount: points per per_amount spent; percent: percent of the line value converted at the point value; per_quantity: points per unit; per_order: points per visit; exclude: the line earns nothing';
COMMENT ON COLUMN @extschema@.rule.priority IS 'Among rules matching a line, the highest priority wins; ties go to the most specific scope (item, then group, then all goods), then the lowest rule_id';
COMMENT ON COLUMN @extschema@.rule.customer_group IS 'Only members of this customer group (NULL: everyone)';
COMMENT ON COLUMN @extschema@.rule.card_series IS 'Only members holding a card of this series (NULL: everyone)';
COMMENT ON COLUMN @extschema@.rule.valid_from IS 'The rule applies to orders placed from this time (inclusive)';
COMMENT ON COLUMN @extschema@.rule.valid_to IS 'The rule applies to orders placed before this time (exclusive)';
-- Order intake, returns, enrollment, ledger checks and the cache/immutability triggers.

CREATE FUNCTION @extschema@.invalidate_rule_cache()
RETURNS trigger
AS 'MODULE_PATHNAME', 'invalidate_rule_cache'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.invalidate_rule_cache() IS
'Trigger: tells every backend to reload its cached programs and rules when the transaction commits';

CREATE FUNCTION @extschema@.check_program_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM now() AT TIME ZONE NEW.time_zone;
    RETURN NEW;
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE EXCEPTION 'time zone "%" is not known', NEW.time_zone
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Use a name from pg_timezone_names, such as Asia/Ho_Chi_Minh or Europe/Moscow.';
END
$$;
COMMENT ON FUNCTION @extschema@.check_program_row() IS 'Trigger: a program''s time zone must be one PostgreSQL knows';

CREATE TRIGGER program_check BEFORE INSERT OR UPDATE OF time_zone ON @extschema@.program
    FOR EACH ROW EXECUTE FUNCTION @extschema@.check_program_row();
CREATE TRIGGER program_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.program
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();
CREATE TRIGGER rule_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.rule
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();

CREATE FUNCTION @extschema@.ledger_reject_change()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ledger_reject_change'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.ledger_reject_change() IS 'Trigger: ledger and history rows are append-only';

CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON @extschema@.ledger
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON @extschema@.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ledger_reject_change();
CREATE TRIGGER member_return_append_only BEFORE UPDATE OR DELETE ON @extschema@.member_return
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ledger_reject_change();

CREATE FUNCTION @extschema@.entry_checksum(@extschema@.ledger)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ledger_entry_checksum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.entry_checksum(@extschema@.ledger) IS
'Recomputes a ledger entry''s checksum from its content';

-- Members -------------------------------------------------------------------

CREATE FUNCTION @extschema@.enroll(
    program text,
    customer_key text,
    name text DEFAULT NULL,
    kind text DEFAULT 'person',
    groups text[] DEFAULT '{}',
    birthday date DEFAULT NULL,
    phone text DEFAULT NULL,
    email text DEFAULT NULL,
    home_branch text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_member bigint;
BEGIN
    IF customer_key IS NULL OR customer_key = '' THEN
        RAISE EXCEPTION 'a member needs a customer key' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
    END IF;
    v_member := @extschema@.generate_id();
    INSERT INTO @extschema@.member_key (program_id, customer_key, member_id)
    VALUES (v_program, enroll.customer_key, v_member)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT k.member_id INTO v_member FROM @extschema@.member_key k
         WHERE k.program_id = v_program AND k.customer_key = enroll.customer_key;
        RETURN v_member;
    END IF;
    INSERT INTO @extschema@.member (member_id, program_id, customer_key, name, kind, groups,
                                    birthday, phone, email, home_branch)
    VALUES (v_member, v_program, enroll.customer_key, enroll.name, enroll.kind,
            coalesce(enroll.groups, '{}'), enroll.birthday, enroll.phone, enroll.email,
            enroll.home_branch);
    INSERT INTO @extschema@.balance (member_id, program_id) VALUES (v_member, v_program);
    RETURN v_member;
END
$$;
COMMENT ON FUNCTION @extschema@.enroll(text, text, text, text, text[], date, text, text, text) IS
'Makes a customer a member of a program and returns the member id; enrolling again returns the same id';

CREATE FUNCTION @extschema@.member_id(program text, customer_key text)
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.member_id FROM @extschema@.member_key k
      JOIN @extschema@.program p ON p.program_id = k.program_id
     WHERE p.code = $1 AND k.customer_key = $2
$$;
COMMENT ON FUNCTION @extschema@.member_id(text, text) IS 'The member id of a customer in a program, or NULL';

CREATE FUNCTION @extschema@.issue_card(member_id bigint, series text DEFAULT NULL, card_no text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_card text;
BEGIN
    SELECT m.program_id INTO v_program FROM @extschema@.member m WHERE m.member_id = issue_card.member_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member % does not exist', issue_card.member_id USING ERRCODE = 'LY002';
    END IF;
    v_card := coalesce(issue_card.card_no, @extschema@.new_code(upper(series))::text);
    INSERT INTO @extschema@.card (card_no, member_id, program_id, series)
    VALUES (v_card, issue_card.member_id, v_program, upper(series));
    RETURN v_card;
END
$$;
COMMENT ON FUNCTION @extschema@.issue_card(bigint, text, text) IS
'Gives a member a card: a new loyalty.code in the series, or an imported card number';

-- Orders --------------------------------------------------------------------

CREATE TYPE @extschema@.order_line AS (
    line_no     integer,
    sku         text,
    item_group  text,
    quantity    numeric,
    price       numeric,
    discount    numeric,
    amount      numeric,
    is_service  boolean
);
COMMENT ON TYPE @extschema@.order_line IS
'An order line: quantity defaults to 1, discount to 0, amount to quantity * price - discount';

CREATE TYPE @extschema@.return_line AS (
    line_no     integer,
    quantity    numeric
);
COMMENT ON TYPE @extschema@.return_line IS 'A returned quantity of one line of an order';

CREATE FUNCTION @extschema@.record_order_lines(
    program text, customer_key text, document text,
    lines @extschema@.order_line[] DEFAULT '{}',
    total numeric DEFAULT NULL, branch text DEFAULT NULL, channel text DEFAULT NULL,
    ordered_at timestamptz DEFAULT NULL, source text DEFAULT 'pos',
    bill_discount numeric DEFAULT 0, paid_with_points numeric DEFAULT 0, card_no text DEFAULT NULL,
    OUT member_id bigint, OUT points @extschema@.points, OUT entry_id bigint, OUT replayed boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'record_order_lines'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.record_order_lines(text, text, text, @extschema@.order_line[], numeric, text, text, timestamptz, text, numeric, numeric, text) IS
'Records a member''s order and posts the points it earns in the same transaction; a retried document returns the first result';

CREATE FUNCTION @extschema@.lines_from_json(lines jsonb)
RETURNS @extschema@.order_line[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(ROW(coalesce((e->>'line')::integer, o::integer), e->>'sku', e->>'group',
                                  (e->>'qty')::numeric, (e->>'price')::numeric, (e->>'discount')::numeric,
                                  (e->>'amount')::numeric, (e->>'service')::boolean)::@extschema@.order_line
                              ORDER BY o), '{}')
      FROM jsonb_array_elements(coalesce($1, '[]')) WITH ORDINALITY AS t(e, o)
$$;
COMMENT ON FUNCTION @extschema@.lines_from_json(jsonb) IS
'Order lines from JSON: [{"line":1,"sku":"A1","group":"Shirts","qty":2,"price":150000,"discount":0,"amount":300000,"service":false}]';

CREATE FUNCTION @extschema@.record_order(
    program text, customer_key text, document text, lines jsonb DEFAULT '[]',
    total numeric DEFAULT NULL, branch text DEFAULT NULL, channel text DEFAULT NULL,
    ordered_at timestamptz DEFAULT NULL, source text DEFAULT 'pos',
    bill_discount numeric DEFAULT 0, paid_with_points numeric DEFAULT 0, card_no text DEFAULT NULL,
    OUT member_id bigint, OUT points @extschema@.points, OUT entry_id bigint, OUT replayed boolean)
RETURNS record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM @extschema@.record_order_lines($1, $2, $3, @extschema@.lines_from_json($4),
                                                 $5, $6, $7, $8, $9, $10, $11, $12)
$$;
COMMENT ON FUNCTION @extschema@.record_order(text, text, text, jsonb, numeric, text, text, timestamptz, text, numeric, numeric, text) IS
'Records a member''s order (lines as JSON) and posts the points it earns in the same transaction; a retried document returns the first result';

CREATE FUNCTION @extschema@.explain_accrual_lines(
    program text, customer_key text,
    lines @extschema@.order_line[] DEFAULT '{}',
    total numeric DEFAULT NULL, branch text DEFAULT NULL, channel text DEFAULT NULL,
    ordered_at timestamptz DEFAULT NULL, source text DEFAULT 'pos',
    bill_discount numeric DEFAULT 0, paid_with_points numeric DEFAULT 0, card_no text DEFAULT NULL)
RETURNS TABLE (line_no integer, sku text, amount numeric, rule_id bigint, rule_name text,
               points @extschema@.points, reason text)
AS 'MODULE_PATHNAME', 'explain_accrual_lines'
LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.explain_accrual_lines(text, text, @extschema@.order_line[], numeric, text, text, timestamptz, text, numeric, numeric, text) IS
'Shows, without writing anything, which rule decides each line of an order, the points, and why';

CREATE FUNCTION @extschema@.explain_accrual(
    program text, customer_key text, lines jsonb DEFAULT '[]',
    total numeric DEFAULT NULL, branch text DEFAULT NULL, channel text DEFAULT NULL,
    ordered_at timestamptz DEFAULT NULL, source text DEFAULT 'pos',
    bill_discount numeric DEFAULT 0, paid_with_points numeric DEFAULT 0, card_no text DEFAULT NULL)
RETURNS TABLE (line_no integer, sku text, amount numeric, rule_id bigint, rule_name text,
               points @extschema@.points, reason text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM @extschema@.explain_accrual_lines($1, $2, @extschema@.lines_from_json($3),
                                                    $4, $5, $6, $7, $8, $9, $10, $11)
$$;
COMMENT ON FUNCTION @extschema@.explain_accrual(text, text, jsonb, numeric, text, text, timestamptz, text, numeric, numeric, text) IS
'Shows, without writing anything, which rule decides each line of an order (lines as JSON), the points, and why';

CREATE FUNCTION @extschema@.return_order_lines(
    program text, document text, return_document text,
    lines @extschema@.return_line[] DEFAULT NULL, amount numeric DEFAULT NULL,
    source text DEFAULT 'pos', branch text DEFAULT NULL)
RETURNS @extschema@.points
AS 'MODULE_PATHNAME', 'return_order_lines'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.return_order_lines(text, text, text, @extschema@.return_line[], numeric, text, text) IS
'Takes back the points of a return (some lines, an amount, or the whole order) in proportion; returns the points taken';

CREATE FUNCTION @extschema@.return_order(
    program text, document text, return_document text, lines jsonb DEFAULT NULL,
    amount numeric DEFAULT NULL, source text DEFAULT 'pos', branch text DEFAULT NULL)
RETURNS @extschema@.points
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT @extschema@.return_order_lines($1, $2, $3,
        CASE WHEN $4 IS NOT NULL THEN
            (SELECT array_agg(ROW(r.line, coalesce(r.qty, 1))::@extschema@.return_line)
               FROM jsonb_to_recordset($4) AS r(line integer, qty numeric)) END,
        $5, $6, $7)
$$;
COMMENT ON FUNCTION @extschema@.return_order(text, text, text, jsonb, numeric, text, text) IS
'Takes back the points of a return: lines as JSON [{"line":1,"qty":1}], an amount, or (neither) the whole order';

CREATE FUNCTION @extschema@.cancel_order(program text, document text, source text DEFAULT 'pos')
RETURNS @extschema@.points
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT @extschema@.return_order_lines($1, $2, $2, NULL, NULL, $3, NULL)
$$;
COMMENT ON FUNCTION @extschema@.cancel_order(text, text, text) IS
'Takes back everything an order earned (less what returns already took); doing it twice changes nothing';

CREATE FUNCTION @extschema@.adjust(program text, customer_key text, points @extschema@.points,
                                   document text, note text DEFAULT NULL, branch text DEFAULT NULL)
RETURNS @extschema@.points
AS 'MODULE_PATHNAME', 'adjust_points'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.adjust(text, text, @extschema@.points, text, text, text) IS
'Corrects a member''s balance by a ledger entry of kind adjust (idempotent per document); a debit may not take the balance below zero';

CREATE FUNCTION @extschema@.balance(program text, customer_key text)
RETURNS @extschema@.points
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT b.points FROM @extschema@.balance b
                       JOIN @extschema@.member_key k ON k.member_id = b.member_id AND k.program_id = b.program_id
                       JOIN @extschema@.program p ON p.program_id = k.program_id
                      WHERE p.code = $1 AND k.customer_key = $2), 0::@extschema@.points)
$$;
COMMENT ON FUNCTION @extschema@.balance(text, text) IS 'A customer''s points balance in a program (0 when not a member)';

-- Invariants ----------------------------------------------------------------

CREATE FUNCTION @extschema@.greatest_points(@extschema@.points, @extschema@.points)
RETURNS @extschema@.points
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN $1 OPERATOR(@extschema@.>=) $2 THEN $1 ELSE $2 END $$;
COMMENT ON FUNCTION @extschema@.greatest_points(@extschema@.points, @extschema@.points) IS 'The larger of two points amounts';

CREATE FUNCTION @extschema@.check_points()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'balance equals the sum of entries', b.member_id,
           format('balance %s, entries %s', b.points, coalesce(s.total, 0))
      FROM @extschema@.balance b
      LEFT JOIN (SELECT l.member_id, l.program_id, @extschema@.sum(l.amount) AS total
                   FROM @extschema@.ledger l GROUP BY 1, 2) s
        ON s.member_id = b.member_id AND s.program_id = b.program_id
     WHERE b.points OPERATOR(@extschema@.<>) coalesce(s.total, 0)
    UNION ALL
    SELECT 'entries have a balance row', s.member_id, format('program %s', s.program_id)
      FROM (SELECT DISTINCT l.member_id, l.program_id FROM @extschema@.ledger l) s
     WHERE NOT EXISTS (SELECT 1 FROM @extschema@.balance b
                        WHERE b.member_id = s.member_id AND b.program_id = s.program_id)
    UNION ALL
    SELECT 'no entry changed', l.member_id, format('entry %s', l.entry_id)
      FROM @extschema@.ledger l
     WHERE l.checksum <> @extschema@.entry_checksum(l)
    UNION ALL
    SELECT 'open lots equal a positive balance', b.member_id,
           format('balance %s, lots %s', b.points, coalesce(s.total, 0))
      FROM @extschema@.balance b
      LEFT JOIN (SELECT o.member_id, o.program_id, @extschema@.sum(o.remaining) AS total
                   FROM @extschema@.lot o GROUP BY 1, 2) s
        ON s.member_id = b.member_id AND s.program_id = b.program_id
     WHERE coalesce(s.total, 0) OPERATOR(@extschema@.<>) @extschema@.greatest_points(b.points, 0)
    UNION ALL
    SELECT 'refunded <= earned per document', o.member_id,
           format('order %s earned %s, reversed %s', o.document, o.points, o.reversed_points)
      FROM @extschema@.member_order o
     WHERE o.reversed_points OPERATOR(@extschema@.>) o.points
        OR o.reversed_points OPERATOR(@extschema@.<) 0
    UNION ALL
    SELECT 'refunded <= earned per document', o.member_id,
           format('order %s earned %s, reverse entries %s', o.document, o.points, r.total)
      FROM @extschema@.member_order o
      JOIN (SELECT l.member_id, l.program_id, l.source, l.ref_document, @extschema@.sum(l.amount) AS total
              FROM @extschema@.ledger l WHERE l.kind = 'reverse' GROUP BY 1, 2, 3, 4) r
        ON r.member_id = o.member_id AND r.program_id = o.program_id
       AND r.source = o.source AND r.ref_document = o.document
     WHERE (OPERATOR(@extschema@.-) r.total) OPERATOR(@extschema@.>) o.points
    UNION ALL
    SELECT 'lines, visit and rounding add up to the order', o.member_id,
           format('order %s earned %s, lines %s, visit %s, rounding %s', o.document, o.points,
                  s.total, o.visit_points, o.rounding)
      FROM @extschema@.member_order o
      JOIN (SELECT x.member_id, x.program_id, x.source, x.document, @extschema@.sum(x.points) AS total
              FROM @extschema@.member_order_line x GROUP BY 1, 2, 3, 4) s
        ON s.member_id = o.member_id AND s.program_id = o.program_id
       AND s.source = o.source AND s.document = o.document
     WHERE (s.total OPERATOR(@extschema@.+) o.visit_points OPERATOR(@extschema@.+) o.rounding)
           OPERATOR(@extschema@.<>) o.points
    UNION ALL
    SELECT 'one posting per document and kind', l.member_id,
           format('%s %s of %s posted %s times', l.kind, l.document, l.source, count(*))
      FROM @extschema@.ledger l
     WHERE l.kind = 'earn'
     GROUP BY l.member_id, l.program_id, l.source, l.document, l.kind
    HAVING count(*) > 1
    UNION ALL
    SELECT 'earning entry matches its order', o.member_id,
           format('order %s earned %s, entry %s', o.document, o.points, l.amount)
      FROM @extschema@.member_order o
      JOIN @extschema@.ledger l ON l.member_id = o.member_id AND l.entry_id = o.entry_id
     WHERE l.amount OPERATOR(@extschema@.<>) o.points
$$;
COMMENT ON FUNCTION @extschema@.check_points() IS
'Every violated ledger invariant (empty when all is well): balances equal entries, no entry changed, lots match balances, nothing refunded beyond what was earned';

CREATE FUNCTION @extschema@.lot_expiry(program_id bigint, earned_at timestamptz)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'lot_expiry'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.lot_expiry(bigint, timestamptz) IS
'When points earned at a time expire under the program''s lifetime and expiry rounding (NULL: never)';
-- Spending points (issue 4): redemption policy, quotes, redemptions, holds,
-- refunds, one-time codes, the notification outbox and automatic rewards.
-- The C side is src/redeem.c, src/redeem_otp.c and src/redeem_reward.c.

CREATE TABLE @extschema@.redemption_policy (
    program_id      bigint PRIMARY KEY REFERENCES @extschema@.program ON DELETE CASCADE,
    min_balance     @extschema@.points NOT NULL DEFAULT 0 CHECK (min_balance >= 0),
    min_points      @extschema@.points NOT NULL DEFAULT 0 CHECK (min_points >= 0),
    max_bill_percent numeric NOT NULL DEFAULT 100 CHECK (max_bill_percent > 0 AND max_bill_percent <= 100),
    redeem_step     @extschema@.points NOT NULL DEFAULT 0.01 CHECK (redeem_step > 0),
    excluded_groups text[] NOT NULL DEFAULT '{}',
    excluded_skus   text[] NOT NULL DEFAULT '{}',
    hold_minutes    integer NOT NULL DEFAULT 15 CHECK (hold_minutes > 0),
    require_otp     boolean NOT NULL DEFAULT false,
    otp_minutes     integer NOT NULL DEFAULT 5 CHECK (otp_minutes > 0),
    otp_max_tries   integer NOT NULL DEFAULT 5 CHECK (otp_max_tries BETWEEN 1 AND 10),
    inactivity_days integer CHECK (inactivity_days > 0)
);
COMMENT ON TABLE @extschema@.redemption_policy IS
'How a program lets points be spent (B1-B3) and when idle points burn (B5); a program without a row has no limits beyond its balance';
COMMENT ON COLUMN @extschema@.redemption_policy.min_balance IS 'Points a member must have available before any can be used';
COMMENT ON COLUMN @extschema@.redemption_policy.min_points IS 'Fewest points one redemption may use';
COMMENT ON COLUMN @extschema@.redemption_policy.max_bill_percent IS 'Largest share of a bill (percent of its total) that points may pay';
COMMENT ON COLUMN @extschema@.redemption_policy.redeem_step IS 'Points are used in multiples of this (1 = whole points only)';
COMMENT ON COLUMN @extschema@.redemption_policy.excluded_groups IS 'Item groups that may not be paid with points';
COMMENT ON COLUMN @extschema@.redemption_policy.excluded_skus IS 'Items that may not be paid with points';
COMMENT ON COLUMN @extschema@.redemption_policy.hold_minutes IS 'How long a hold reserves points unless captured or released';
COMMENT ON COLUMN @extschema@.redemption_policy.require_otp IS 'Redemptions need a one-time code verified with verify_otp()';
COMMENT ON COLUMN @extschema@.redemption_policy.otp_minutes IS 'How long a one-time code is valid';
COMMENT ON COLUMN @extschema@.redemption_policy.otp_max_tries IS 'Wrong tries after which a one-time code request is locked';
COMMENT ON COLUMN @extschema@.redemption_policy.inactivity_days IS 'A member who buys nothing for this many days loses all points (NULL: never)';

CREATE TABLE @extschema@.redemption_hold (
    member_id       bigint NOT NULL,
    hold_id         bigint NOT NULL,
    program_id      bigint NOT NULL,
    source          text NOT NULL,
    document        text NOT NULL,
    points          @extschema@.points NOT NULL CHECK (points > 0),
    bill_total      numeric NOT NULL,
    eligible_amount numeric NOT NULL,
    branch          text,
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'captured', 'released', 'expired')),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    closed_at       timestamptz,
    captured        @extschema@.points,
    redemption_id   bigint,
    PRIMARY KEY (member_id, hold_id),
    UNIQUE (member_id, program_id, source, document)
);
CREATE INDEX redemption_hold_id_idx ON @extschema@.redemption_hold (hold_id);
CREATE INDEX redemption_hold_open_idx ON @extschema@.redemption_hold (expires_at) WHERE status = 'open';
COMMENT ON TABLE @extschema@.redemption_hold IS
'Points reserved for a bill (two-phase redemption): an open hold not yet expired keeps its points from being spent twice';
COMMENT ON COLUMN @extschema@.redemption_hold.captured IS 'Points the capture spent (at most the held points)';

CREATE TABLE @extschema@.redemption (
    member_id       bigint NOT NULL,
    redemption_id   bigint NOT NULL,
    program_id      bigint NOT NULL,
    source          text NOT NULL,
    document        text NOT NULL,
    points          @extschema@.points NOT NULL CHECK (points > 0),
    amount          numeric NOT NULL,
    bill_total      numeric NOT NULL,
    eligible_amount numeric NOT NULL,
    branch          text,
    hold_id         bigint,
    entry_id        bigint NOT NULL,
    status          text NOT NULL DEFAULT 'spent' CHECK (status IN ('spent', 'refunded')),
    created_at      timestamptz NOT NULL,
    refunded_at     timestamptz,
    restore_entry_id bigint,
    restored        @extschema@.points,
    PRIMARY KEY (member_id, redemption_id),
    UNIQUE (member_id, program_id, source, document)
);
CREATE INDEX redemption_document_idx ON @extschema@.redemption (program_id, source, document);
COMMENT ON TABLE @extschema@.redemption IS
'Points spent against a bill (one per bill), what they paid, and whether the bill was refunded';
COMMENT ON COLUMN @extschema@.redemption.amount IS 'Money the points paid (points times the program''s point value)';
COMMENT ON COLUMN @extschema@.redemption.restored IS 'Points a refund gave back (all of them, less what a negative balance absorbed)';

CREATE TABLE @extschema@.redemption_lot (
    member_id       bigint NOT NULL,
    redemption_id   bigint NOT NULL,
    lot_id          bigint NOT NULL,
    points          @extschema@.points NOT NULL CHECK (points > 0),
    restored        @extschema@.points NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, redemption_id, lot_id)
);
COMMENT ON TABLE @extschema@.redemption_lot IS
'Which lots a redemption used, so a refund gives the points back to the same lots with their original expiry';

-- One-time codes and the notification outbox -------------------------------

CREATE TABLE @extschema@.otp_request (
    member_id       bigint NOT NULL,
    otp_id          bigint NOT NULL,
    program_id      bigint NOT NULL,
    purpose         text NOT NULL,
    salt            bytea NOT NULL,
    code_hash       bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    tries           integer NOT NULL DEFAULT 0,
    max_tries       integer NOT NULL,
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'verified', 'used', 'locked', 'superseded')),
    verified_at     timestamptz,
    PRIMARY KEY (member_id, otp_id)
);
CREATE INDEX otp_request_purpose_idx ON @extschema@.otp_request (member_id, program_id, purpose, created_at);
COMMENT ON TABLE @extschema@.otp_request IS
'One-time codes sent to members: only a salted SHA-256 of the code is kept; wrong tries lock the request';
COMMENT ON COLUMN @extschema@.otp_request.purpose IS 'What the code confirms, usually the bill (document) of a redemption';

CREATE TABLE @extschema@.outbox (
    message_id      bigint NOT NULL DEFAULT @extschema@.generate_id() PRIMARY KEY,
    member_id       bigint,
    program_id      bigint,
    channel         text NOT NULL CHECK (channel IN ('sms', 'email', 'push', 'zalo', 'webhook')),
    kind            text NOT NULL,
    recipient       text,
    payload         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    send_after      timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    sent_at         timestamptz,
    last_error      text
);
CREATE INDEX outbox_pending_idx ON @extschema@.outbox (send_after) WHERE status = 'pending';
CREATE INDEX outbox_member_idx ON @extschema@.outbox (member_id, created_at);
COMMENT ON TABLE @extschema@.outbox IS
'Messages waiting for a sender (SMS gateway, mailer): written in the business transaction, picked up after commit';
COMMENT ON COLUMN @extschema@.outbox.kind IS 'Template of the message, e.g. otp, reward_coupon';
COMMENT ON COLUMN @extschema@.outbox.payload IS 'Template values; an otp message carries the code itself, so senders should clear sent payloads';

-- Automatic rewards ----------------------------------------------------------

CREATE TABLE @extschema@.reward_threshold (
    threshold_id    bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES @extschema@.program ON DELETE CASCADE,
    name            text NOT NULL,
    measure         text NOT NULL CHECK (measure IN ('balance', 'earned_total')),
    threshold       @extschema@.points NOT NULL CHECK (threshold > 0),
    action          text NOT NULL CHECK (action IN ('coupon', 'tier')),
    coupon_percent  numeric CHECK (coupon_percent > 0 AND coupon_percent <= 100),
    coupon_amount   numeric CHECK (coupon_amount > 0),
    coupon_series   text CHECK (coupon_series ~ '^[0-9A-Za-z]{1,4}$'),
    coupon_days     integer CHECK (coupon_days > 0),
    tier            text,
    deduct_points   boolean NOT NULL DEFAULT false,
    active          boolean NOT NULL DEFAULT true,
    CHECK (CASE action
             WHEN 'coupon' THEN (coupon_percent IS NULL) <> (coupon_amount IS NULL) AND tier IS NULL
             WHEN 'tier' THEN tier IS NOT NULL AND coupon_percent IS NULL AND coupon_amount IS NULL
           END)
);
CREATE INDEX reward_threshold_program_idx ON @extschema@.reward_threshold (program_id);
COMMENT ON TABLE @extschema@.reward_threshold IS
'Rewards that act by themselves when a balance or the lifetime earned total crosses a threshold upwards (B4)';
COMMENT ON COLUMN @extschema@.reward_threshold.deduct_points IS 'The reward costs the threshold''s points (a ledger entry of kind reward)';

CREATE TABLE @extschema@.reward_award (
    member_id       bigint NOT NULL,
    award_id        bigint NOT NULL,
    program_id      bigint NOT NULL,
    threshold_id    bigint NOT NULL,
    crossing        integer NOT NULL,
    measured        @extschema@.points NOT NULL,
    awarded_at      timestamptz NOT NULL,
    entry_id        bigint,
    PRIMARY KEY (member_id, award_id),
    UNIQUE (member_id, threshold_id, crossing)
);
COMMENT ON TABLE @extschema@.reward_award IS
'Every threshold crossing and the reward it gave, exactly once per crossing';
COMMENT ON COLUMN @extschema@.reward_award.crossing IS 'The n-th time this member crossed this threshold upwards';

CREATE TABLE @extschema@.reward_coupon (
    member_id       bigint NOT NULL,
    coupon          @extschema@.code NOT NULL,
    program_id      bigint NOT NULL,
    award_id        bigint NOT NULL,
    percent         numeric,
    amount          numeric,
    status          text NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'used', 'cancelled')),
    issued_at       timestamptz NOT NULL,
    valid_until     timestamptz,
    used_document   text,
    PRIMARY KEY (member_id, coupon)
);
COMMENT ON TABLE @extschema@.reward_coupon IS 'Coupons given by reward thresholds (e.g. 10% off the next bill)';

CREATE TABLE @extschema@.reward_tier (
    member_id       bigint NOT NULL,
    program_id      bigint NOT NULL,
    tier            text NOT NULL,
    threshold_id    bigint NOT NULL,
    awarded_at      timestamptz NOT NULL,
    PRIMARY KEY (member_id, program_id)
);
COMMENT ON TABLE @extschema@.reward_tier IS 'The tier (e.g. VIP) a reward threshold granted a member; the tiers issue may adopt it';

-- Functions -------------------------------------------------------------------

CREATE FUNCTION @extschema@.quote_lines(
    program text, customer_key text,
    lines @extschema@.order_line[] DEFAULT '{}', total numeric DEFAULT NULL,
    OUT available @extschema@.points, OUT max_points @extschema@.points, OUT max_amount numeric,
    OUT bill_total numeric, OUT eligible_amount numeric, OUT bound_by text)
RETURNS record
AS 'MODULE_PATHNAME', 'redeem_quote_lines'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.quote_lines(text, text, @extschema@.order_line[], numeric) IS
'How many points a member may use on a bill and what they pay; bound_by names the limit that decided (balance, min_balance, min_points, max_bill_percent, excluded_items, bill_total, member_status)';

CREATE FUNCTION @extschema@.quote(
    program text, customer_key text, lines jsonb DEFAULT '[]', total numeric DEFAULT NULL,
    OUT available @extschema@.points, OUT max_points @extschema@.points, OUT max_amount numeric,
    OUT bill_total numeric, OUT eligible_amount numeric, OUT bound_by text)
RETURNS record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM @extschema@.quote_lines($1, $2, @extschema@.lines_from_json($3), $4)
$$;
COMMENT ON FUNCTION @extschema@.quote(text, text, jsonb, numeric) IS
'How many points a member may use on a bill (lines as JSON, as record_order takes them) and what they pay, with the limit that decided';

CREATE FUNCTION @extschema@.redeem_lines(
    program text, customer_key text, document text, points @extschema@.points,
    lines @extschema@.order_line[] DEFAULT '{}', total numeric DEFAULT NULL,
    branch text DEFAULT NULL, otp text DEFAULT NULL, source text DEFAULT 'pos',
    OUT redemption_id bigint, OUT points_used @extschema@.points, OUT amount numeric, OUT replayed boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'redeem_lines'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.redeem_lines(text, text, text, @extschema@.points, @extschema@.order_line[], numeric, text, text, text) IS
'Spends points against a bill, soonest-expiring lots first; a retry of the same bill and points returns the first result';

CREATE FUNCTION @extschema@.redeem(
    program text, customer_key text, document text, points @extschema@.points,
    lines jsonb DEFAULT '[]', total numeric DEFAULT NULL,
    branch text DEFAULT NULL, otp text DEFAULT NULL, source text DEFAULT 'pos',
    OUT redemption_id bigint, OUT points_used @extschema@.points, OUT amount numeric, OUT replayed boolean)
RETURNS record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM @extschema@.redeem_lines($1, $2, $3, $4, @extschema@.lines_from_json($5), $6, $7, $8, $9)
$$;
COMMENT ON FUNCTION @extschema@.redeem(text, text, text, @extschema@.points, jsonb, numeric, text, text, text) IS
'Spends points against a bill (lines as JSON or a total); idempotent per bill, never more than the quote allows';

CREATE FUNCTION @extschema@.hold_lines(
    program text, customer_key text, document text, points @extschema@.points,
    lines @extschema@.order_line[] DEFAULT '{}', total numeric DEFAULT NULL,
    branch text DEFAULT NULL, otp text DEFAULT NULL, source text DEFAULT 'pos',
    minutes integer DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'redeem_hold_lines'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.hold_lines(text, text, text, @extschema@.points, @extschema@.order_line[], numeric, text, text, text, integer) IS
'Reserves points for a bill and returns the hold id; capture() spends them, release() frees them, and they free themselves after the hold time';

CREATE FUNCTION @extschema@.hold(
    program text, customer_key text, document text, points @extschema@.points,
    lines jsonb DEFAULT '[]', total numeric DEFAULT NULL,
    branch text DEFAULT NULL, otp text DEFAULT NULL, source text DEFAULT 'pos',
    minutes integer DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT @extschema@.hold_lines($1, $2, $3, $4, @extschema@.lines_from_json($5), $6, $7, $8, $9, $10)
$$;
COMMENT ON FUNCTION @extschema@.hold(text, text, text, @extschema@.points, jsonb, numeric, text, text, text, integer) IS
'Reserves points for a bill (lines as JSON or a total) and returns the hold id';

CREATE FUNCTION @extschema@.capture(hold bigint, points @extschema@.points DEFAULT NULL,
    OUT redemption_id bigint, OUT points_used @extschema@.points, OUT amount numeric, OUT replayed boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'redeem_capture'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.capture(bigint, @extschema@.points) IS
'Spends at most the held points of an open hold (all of them by default); capturing again with the same points returns the first result';

CREATE FUNCTION @extschema@.release(hold bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'redeem_release'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.release(bigint) IS
'Frees the points of an open hold; true when the hold is (now or already) released or expired';

CREATE FUNCTION @extschema@.release_expired_holds(as_of timestamptz DEFAULT now())
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH x AS (
        UPDATE @extschema@.redemption_hold h SET status = 'expired', closed_at = $1
         WHERE h.status = 'open' AND h.expires_at <= $1
        RETURNING 1)
    SELECT count(*) FROM x
$$;
COMMENT ON FUNCTION @extschema@.release_expired_holds(timestamptz) IS
'Job: marks holds past their expiry as expired (they already stopped reserving points when they expired); returns how many';

CREATE FUNCTION @extschema@.refund_redemption(program text, document text, source text DEFAULT 'pos')
RETURNS @extschema@.points
AS 'MODULE_PATHNAME', 'redeem_refund'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.refund_redemption(text, text, text) IS
'A cancelled or refunded bill gives its spent points back to the lots they came from (original expiry), exactly once; returns the points restored now';

CREATE FUNCTION @extschema@.available_points(program text, customer_key text)
RETURNS @extschema@.points
AS 'MODULE_PATHNAME', 'redeem_available'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.available_points(text, text) IS
'A member''s balance less the points held by open holds';

CREATE FUNCTION @extschema@.request_otp(program text, customer_key text, purpose text, channel text DEFAULT 'sms')
RETURNS bigint
AS 'MODULE_PATHNAME', 'redeem_request_otp'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.request_otp(text, text, text, text) IS
'Sends a member a 6-digit one-time code for a purpose (the bill): only its salted hash is stored, the message goes to loyalty.outbox; returns the request id';

CREATE FUNCTION @extschema@.verify_otp(program text, customer_key text, purpose text, code text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'redeem_verify_otp'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.verify_otp(text, text, text, text) IS
'Checks a one-time code in constant time: true marks the request verified, false counts a wrong try (the request locks after otp_max_tries); expired and locked requests raise errors';

CREATE FUNCTION @extschema@.reward_on_balance()
RETURNS trigger
AS 'MODULE_PATHNAME', 'redeem_reward_on_balance'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.reward_on_balance() IS
'Trigger: gives the rewards of thresholds a balance or earned total just crossed upwards, exactly once per crossing';

CREATE TRIGGER balance_reward_update AFTER UPDATE OF points, earned_total ON @extschema@.balance
    FOR EACH ROW
    WHEN (NEW.points OPERATOR(@extschema@.>) OLD.points OR NEW.earned_total OPERATOR(@extschema@.>) OLD.earned_total)
    EXECUTE FUNCTION @extschema@.reward_on_balance();
CREATE TRIGGER balance_reward_insert AFTER INSERT ON @extschema@.balance
    FOR EACH ROW
    WHEN (NEW.points OPERATOR(@extschema@.>) 0 OR NEW.earned_total OPERATOR(@extschema@.>) 0)
    EXECUTE FUNCTION @extschema@.reward_on_balance();

CREATE FUNCTION @extschema@.check_redemption()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'redemption equals its redeem entry', r.member_id,
           format('redemption %s of %s points, entry %s', r.document, r.points, l.amount)
      FROM @extschema@.redemption r
      LEFT JOIN @extschema@.ledger l ON l.member_id = r.member_id AND l.entry_id = r.entry_id
     WHERE l.entry_id IS NULL OR l.kind <> 'redeem'
        OR (OPERATOR(@extschema@.-) l.amount) OPERATOR(@extschema@.<>) r.points
    UNION ALL
    SELECT 'redemption lots add up to the redemption', r.member_id,
           format('redemption %s of %s points, lots %s', r.document, r.points, s.total)
      FROM @extschema@.redemption r
      LEFT JOIN (SELECT x.member_id, x.redemption_id, @extschema@.sum(x.points) AS total,
                        @extschema@.sum(x.restored) AS restored
                   FROM @extschema@.redemption_lot x GROUP BY 1, 2) s
        ON s.member_id = r.member_id AND s.redemption_id = r.redemption_id
     WHERE s.total IS NULL OR s.total OPERATOR(@extschema@.<>) r.points
        OR s.restored OPERATOR(@extschema@.<>) coalesce(r.restored, 0::@extschema@.points)
    UNION ALL
    SELECT 'refunded exactly once', r.member_id,
           format('redemption %s status %s, restore entry %s', r.document, r.status, l.amount)
      FROM @extschema@.redemption r
      LEFT JOIN @extschema@.ledger l ON l.member_id = r.member_id AND l.entry_id = r.restore_entry_id
     WHERE (r.status = 'refunded') <> (r.restore_entry_id IS NOT NULL)
        OR (r.status = 'refunded' AND (l.kind IS DISTINCT FROM 'restore'
            OR l.amount OPERATOR(@extschema@.<>) r.points
            OR r.restored OPERATOR(@extschema@.>) r.points))
    UNION ALL
    SELECT 'restore entries belong to refunds', l.member_id, format('entry %s of %s', l.entry_id, l.document)
      FROM @extschema@.ledger l
     WHERE l.kind = 'restore'
       AND NOT EXISTS (SELECT 1 FROM @extschema@.redemption r
                        WHERE r.member_id = l.member_id AND r.restore_entry_id = l.entry_id)
    UNION ALL
    SELECT 'captured within the hold', h.member_id,
           format('hold %s held %s, captured %s', h.document, h.points, h.captured)
      FROM @extschema@.redemption_hold h
     WHERE (h.status = 'captured') <> (h.captured IS NOT NULL AND h.redemption_id IS NOT NULL)
        OR h.captured OPERATOR(@extschema@.>) h.points
    UNION ALL
    SELECT 'one-time code tries within the limit', o.member_id, format('request %s tries %s', o.purpose, o.tries)
      FROM @extschema@.otp_request o
     WHERE o.tries > o.max_tries OR (o.tries >= o.max_tries AND o.status NOT IN ('locked', 'superseded'))
    UNION ALL
    SELECT 'reward deductions match their awards', a.member_id, format('award %s', a.award_id)
      FROM @extschema@.reward_award a
      LEFT JOIN @extschema@.ledger l ON l.member_id = a.member_id AND l.entry_id = a.entry_id
     WHERE a.entry_id IS NOT NULL AND (l.entry_id IS NULL OR l.kind <> 'reward')
$$;
COMMENT ON FUNCTION @extschema@.check_redemption() IS
'Every violated redemption invariant (empty when all is well): redemptions match their entries and lots, refunds happen once, captures stay within holds, code tries within the limit';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.redemption_policy', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.redemption_hold', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.redemption', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.redemption_lot', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.otp_request', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reward_threshold', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reward_threshold_threshold_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reward_award', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reward_coupon', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reward_tier', '');
-- Expiry of points (B5): lots past their lifetime, and all points of members
-- inactive beyond the policy's inactivity_days.  C side: src/redeem_expiry.c.

CREATE INDEX lot_expiring_idx ON @extschema@.lot (expires_at) WHERE remaining > 0;

CREATE FUNCTION @extschema@.expire_points(batch_size integer DEFAULT 10000, as_of timestamptz DEFAULT now(),
    program text DEFAULT NULL, OUT members bigint, OUT lots bigint, OUT points @extschema@.points)
RETURNS record
AS 'MODULE_PATHNAME', 'redeem_expire_points'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.expire_points(integer, timestamptz, text) IS
'Job: burns lots expired by as_of and all points of inactive members, at most batch_size members per call (call again until members = 0); program limits it to one program; a second or concurrent run writes nothing';

CREATE FUNCTION @extschema@.points_expiring(days integer)
RETURNS TABLE (member_id bigint, program text, customer_key text, points numeric, expires_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.member_id, p.code, m.customer_key, @extschema@.sum(l.remaining)::numeric, l.expires_at
      FROM @extschema@.lot l
      JOIN @extschema@.member m ON m.member_id = l.member_id
      JOIN @extschema@.program p ON p.program_id = l.program_id
     WHERE l.remaining OPERATOR(@extschema@.>) 0
       AND l.expires_at > now() AND l.expires_at <= now() + make_interval(days => $1)
     GROUP BY l.member_id, p.code, m.customer_key, l.expires_at
$$;
COMMENT ON FUNCTION @extschema@.points_expiring(integer) IS
'Points that expire within the next days, per member and expiry time (for reminders and reports)';
-- Wallet / stored-value card (issue 5, D1-D4): a money balance per member in
-- its own append-only ledger (never mixed with points), top-up bonuses,
-- spends that never go below zero, refunds, cash-back levels, conversion to
-- a VIP card, and the prepaid float.  See doc/stored.md.

CREATE FUNCTION @extschema@.stored_percent_of(amount numeric, percent numeric)
RETURNS numeric
AS 'MODULE_PATHNAME', 'stored_percent_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stored_percent_of(numeric, numeric) IS
'Exact percent of a money amount, rounded down to a hundredth (int64 hundredths arithmetic)';

CREATE FUNCTION @extschema@.stored_reject_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'LS004',
              DETAIL = 'Entries are never changed or removed; a correction is a new entry.';
END
$$;
COMMENT ON FUNCTION @extschema@.stored_reject_change() IS 'Trigger: stored-value ledgers and histories are append-only';

CREATE TABLE @extschema@.wallet (
    member_id    bigint NOT NULL PRIMARY KEY,
    program_id   bigint NOT NULL REFERENCES @extschema@.program,
    balance      numeric NOT NULL DEFAULT 0 CHECK (balance >= 0),
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'closed')),
    level_rank   integer,
    revenue      numeric NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.wallet IS
'A member''s money balance (stored-value card), kept apart from points; always the sum of the member''s wallet_ledger';
COMMENT ON COLUMN @extschema@.wallet.balance IS 'Money held for the member, in the program currency; never below zero';
COMMENT ON COLUMN @extschema@.wallet.level_rank IS 'The cash-back level reached (loyalty.wallet_level.rank); levels only go up';
COMMENT ON COLUMN @extschema@.wallet.revenue IS 'Sum of the bills recorded by wallet_cashback(); decides the level';

CREATE TABLE @extschema@.wallet_ledger (
    member_id     bigint NOT NULL,
    entry_id      bigint NOT NULL DEFAULT @extschema@.generate_id(),
    program_id    bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('top_up', 'bonus', 'spend', 'refund', 'cashback')),
    amount        numeric NOT NULL CHECK (amount <> 0),
    document      text NOT NULL,
    ref_document  text,
    branch        text,
    bill_amount   numeric,
    created_at    timestamptz NOT NULL DEFAULT now(),
    checksum      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, entry_id),
    UNIQUE (member_id, program_id, kind, document)
);
CREATE INDEX wallet_ledger_document_idx ON @extschema@.wallet_ledger (program_id, document);
COMMENT ON TABLE @extschema@.wallet_ledger IS
'Every movement of wallet money, append-only: time, branch and bill of each; one entry per (member, kind, document)';
COMMENT ON COLUMN @extschema@.wallet_ledger.amount IS 'Money moved: positive credits the wallet, negative debits it';
COMMENT ON COLUMN @extschema@.wallet_ledger.document IS 'The bill or payment document; a refund carries the spend''s document';
COMMENT ON COLUMN @extschema@.wallet_ledger.bill_amount IS 'The bill total behind a cash-back credit';
COMMENT ON COLUMN @extschema@.wallet_ledger.checksum IS 'Checksum of the entry''s content (wallet_entry_checksum), set on insert';

CREATE FUNCTION @extschema@.wallet_entry_checksum(e @extschema@.wallet_ledger)
RETURNS bigint
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT hashtextextended(concat_ws(chr(31), e.member_id, e.entry_id, e.program_id, e.kind, e.amount::text,
                                      e.document, coalesce(e.ref_document, '\N'), coalesce(e.branch, '\N'),
                                      coalesce(e.bill_amount::text, '\N'),
                                      extract(epoch FROM e.created_at)::text), 7809847)
$$;
COMMENT ON FUNCTION @extschema@.wallet_entry_checksum(@extschema@.wallet_ledger) IS
'Recomputes a wallet ledger entry''s checksum from its content';

CREATE FUNCTION @extschema@.wallet_ledger_seal()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.checksum := @extschema@.wallet_entry_checksum(NEW);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.wallet_ledger_seal() IS 'Trigger: stamps a new wallet ledger entry with its checksum';

CREATE TRIGGER wallet_ledger_seal BEFORE INSERT ON @extschema@.wallet_ledger
    FOR EACH ROW EXECUTE FUNCTION @extschema@.wallet_ledger_seal();
CREATE TRIGGER wallet_ledger_append_only BEFORE UPDATE OR DELETE ON @extschema@.wallet_ledger
    FOR EACH ROW EXECUTE FUNCTION @extschema@.stored_reject_change();
CREATE TRIGGER wallet_ledger_no_truncate BEFORE TRUNCATE ON @extschema@.wallet_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.stored_reject_change();

CREATE TABLE @extschema@.wallet_bonus_rule (
    rule_id        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id     bigint NOT NULL REFERENCES @extschema@.program,
    name           text NOT NULL,
    min_amount     numeric NOT NULL DEFAULT 0 CHECK (min_amount >= 0),
    max_amount     numeric CHECK (max_amount >= min_amount),
    bonus_amount   numeric CHECK (bonus_amount > 0),
    bonus_percent  numeric CHECK (bonus_percent > 0),
    valid_from     timestamptz,
    valid_to       timestamptz,
    CHECK (num_nonnulls(bonus_amount, bonus_percent) = 1)
);
COMMENT ON TABLE @extschema@.wallet_bonus_rule IS
'Top-up bonuses: a top-up between min_amount and max_amount within the dates earns bonus_amount or bonus_percent of it (pay 1 000 000, receive 1 500 000); the best matching rule applies';

CREATE TABLE @extschema@.wallet_level (
    program_id        bigint NOT NULL REFERENCES @extschema@.program,
    rank              integer NOT NULL CHECK (rank >= 0),
    name              text NOT NULL,
    min_revenue       numeric NOT NULL DEFAULT 0 CHECK (min_revenue >= 0),
    cashback_percent  numeric NOT NULL DEFAULT 0 CHECK (cashback_percent >= 0 AND cashback_percent <= 100),
    converts_to_vip   boolean NOT NULL DEFAULT false,
    card_series       text NOT NULL DEFAULT 'VIP',
    PRIMARY KEY (program_id, rank)
);
COMMENT ON TABLE @extschema@.wallet_level IS
'Cash-back levels of wallets (Member 5%, Potential 10%, ...): reached by revenue, never lost; a level with converts_to_vip turns the wallet card into a VIP card';
COMMENT ON COLUMN @extschema@.wallet_level.converts_to_vip IS 'Reaching this level converts the wallet card into a VIP card (loyalty.issue_card), once per member';
COMMENT ON COLUMN @extschema@.wallet_level.card_series IS 'Series given to issue_card() for the VIP card (a loyalty.code series reads I as 1: VIP prints as V1P)';

CREATE TABLE @extschema@.wallet_purchase (
    member_id    bigint NOT NULL,
    program_id   bigint NOT NULL,
    document     text NOT NULL,
    branch       text,
    bill_amount  numeric NOT NULL CHECK (bill_amount >= 0),
    cashback     numeric NOT NULL,
    level_rank   integer,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, program_id, document)
);
COMMENT ON TABLE @extschema@.wallet_purchase IS
'Bills recorded by wallet_cashback(): the revenue that decides a wallet''s level, and the cash-back each earned';

CREATE TABLE @extschema@.wallet_vip_conversion (
    member_id     bigint NOT NULL PRIMARY KEY,
    program_id    bigint NOT NULL,
    level_rank    integer NOT NULL,
    card_no       text NOT NULL,
    document      text NOT NULL,
    converted_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.wallet_vip_conversion IS
'Wallet cards converted into VIP cards: the level reached, the bill that reached it, and the card issued';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.wallet', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.wallet_ledger', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.wallet_bonus_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.wallet_bonus_rule_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.wallet_level', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.wallet_purchase', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.wallet_vip_conversion', '');

-- Resolve a program code and customer key to (program_id, member_id), or raise.
CREATE FUNCTION @extschema@.stored_member(program text, customer_key text, OUT program_id bigint, OUT member_id bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF program IS NULL OR customer_key IS NULL THEN
        RAISE EXCEPTION 'program and customer key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT p.program_id INTO stored_member.program_id FROM @extschema@.program p WHERE p.code = stored_member.program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
    END IF;
    SELECT k.member_id INTO stored_member.member_id FROM @extschema@.member_key k
     WHERE k.program_id = stored_member.program_id AND k.customer_key = stored_member.customer_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'customer "%" is not a member of loyalty program "%"', customer_key, program
            USING ERRCODE = 'LY002', HINT = 'Enroll the customer first with loyalty.enroll().';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.stored_member(text, text) IS
'Internal: the program and member of a customer key, raising LY005/LY002 when either is unknown';

CREATE FUNCTION @extschema@.wallet_top_up(program text, customer_key text, amount numeric, document text,
    branch text DEFAULT NULL, OUT paid numeric, OUT bonus numeric, OUT balance numeric)
AS 'MODULE_PATHNAME', 'stored_wallet_top_up'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.wallet_top_up(text, text, numeric, text, text) IS
'Puts money on a member''s wallet (opening it on the first top-up) plus the best matching top-up bonus; idempotent per document';

CREATE FUNCTION @extschema@.wallet_spend(program text, customer_key text, document text, amount numeric,
    branch text DEFAULT NULL, OUT spent numeric, OUT balance numeric)
AS 'MODULE_PATHNAME', 'stored_wallet_spend'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.wallet_spend(text, text, text, numeric, text) IS
'Pays a bill from a member''s wallet under the wallet row lock, never below zero (LS002); idempotent per document';

CREATE FUNCTION @extschema@.wallet_refund(program text, document text, branch text DEFAULT NULL,
    OUT refunded numeric, OUT balance numeric)
AS 'MODULE_PATHNAME', 'stored_wallet_refund'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.wallet_refund(text, text, text) IS
'Gives a wallet spend back, exactly once (a retry answers the same and moves nothing)';

CREATE FUNCTION @extschema@.wallet_cashback(program text, customer_key text, document text, bill_amount numeric,
    branch text DEFAULT NULL, OUT cashback numeric, OUT level text, OUT balance numeric, OUT vip_card text)
AS 'MODULE_PATHNAME', 'stored_wallet_cashback'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.wallet_cashback(text, text, text, numeric, text) IS
'Records a member''s bill: credits cash-back at the wallet''s current level for the next visit, raises the level by revenue, and converts the wallet card into a VIP card when a converts_to_vip level is reached; idempotent per document';

CREATE VIEW @extschema@.wallet_float AS
SELECT p.code AS program, p.currency, count(w.member_id) AS members,
       coalesce(sum(w.balance), 0)::numeric AS float
  FROM @extschema@.program p
  JOIN @extschema@.wallet w ON w.program_id = p.program_id
 GROUP BY p.code, p.currency;
COMMENT ON VIEW @extschema@.wallet_float IS 'The prepaid float: money owed to wallet holders, per program';
COMMENT ON COLUMN @extschema@.wallet_float.program IS 'Program code';
COMMENT ON COLUMN @extschema@.wallet_float.currency IS 'Program currency';
COMMENT ON COLUMN @extschema@.wallet_float.members IS 'Wallets open in the program';
COMMENT ON COLUMN @extschema@.wallet_float.float IS 'Sum of wallet balances: what the business owes its customers';
-- Prepaid product cards (issue 5, E1): 10 spa sessions, a buffet pass, a beer
-- card.  Units are sold or given on a card, used up to a per-visit limit as
-- bill lines at price 0, and topped up at the card's extra unit price.

CREATE TABLE @extschema@.product_card_type (
    type_id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id        bigint NOT NULL REFERENCES @extschema@.program,
    code              text NOT NULL CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name              text NOT NULL,
    item_sku          text NOT NULL,
    units             integer NOT NULL CHECK (units > 0),
    visit_limit       integer CHECK (visit_limit > 0),
    price             numeric NOT NULL DEFAULT 0 CHECK (price >= 0),
    extra_unit_price  numeric CHECK (extra_unit_price >= 0),
    validity_days     integer CHECK (validity_days > 0),
    active            boolean NOT NULL DEFAULT true,
    UNIQUE (program_id, code)
);
COMMENT ON TABLE @extschema@.product_card_type IS
'Kinds of prepaid product card: the item it pays for, the units sold, the per-visit limit, price, extra unit price and validity';
COMMENT ON COLUMN @extschema@.product_card_type.item_sku IS 'The host''s item the card pays for; each use puts it on the bill at price 0';
COMMENT ON COLUMN @extschema@.product_card_type.units IS 'Units on a new card (10 sessions, 30 beers, ...)';
COMMENT ON COLUMN @extschema@.product_card_type.visit_limit IS 'Most units one visit may take (NULL: no limit)';
COMMENT ON COLUMN @extschema@.product_card_type.price IS 'What the card is sold for (0 when it is given)';
COMMENT ON COLUMN @extschema@.product_card_type.extra_unit_price IS 'Price of each unit bought later with product_card_top_up() (NULL: no top-ups)';
COMMENT ON COLUMN @extschema@.product_card_type.validity_days IS 'Days a card is valid from its issue (NULL: forever)';

CREATE TABLE @extschema@.product_card (
    card_id          bigint NOT NULL DEFAULT @extschema@.generate_id() PRIMARY KEY,
    program_id       bigint NOT NULL REFERENCES @extschema@.program,
    type_id          bigint NOT NULL REFERENCES @extschema@.product_card_type,
    member_id        bigint,
    code             @extschema@.code NOT NULL UNIQUE,
    units_left       integer NOT NULL CHECK (units_left >= 0),
    issue_document   text NOT NULL,
    issued_at        timestamptz NOT NULL DEFAULT now(),
    valid_to         timestamptz,
    UNIQUE (program_id, issue_document)
);
CREATE INDEX product_card_member_idx ON @extschema@.product_card (member_id) WHERE member_id IS NOT NULL;
COMMENT ON TABLE @extschema@.product_card IS
'Prepaid product cards: the card number, its holder (NULL for a bearer card), the units left and the validity';
COMMENT ON COLUMN @extschema@.product_card.units_left IS 'Units still on the card: the sum of its movements, never below zero';

CREATE TABLE @extschema@.product_card_move (
    card_id     bigint NOT NULL,
    move_id     bigint NOT NULL DEFAULT @extschema@.generate_id(),
    kind        text NOT NULL CHECK (kind IN ('issue', 'use', 'top_up')),
    units       integer NOT NULL,
    sku         text NOT NULL,
    amount      numeric NOT NULL DEFAULT 0,
    document    text NOT NULL,
    branch      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (card_id, move_id),
    UNIQUE (card_id, kind, document)
);
COMMENT ON TABLE @extschema@.product_card_move IS
'Every movement of product card units, append-only: issue and top-up add units (amount is what was charged), a use takes them (the item and quantity the host''s stock follows)';

CREATE TRIGGER product_card_move_append_only BEFORE UPDATE OR DELETE ON @extschema@.product_card_move
    FOR EACH ROW EXECUTE FUNCTION @extschema@.stored_reject_change();
CREATE TRIGGER product_card_move_no_truncate BEFORE TRUNCATE ON @extschema@.product_card_move
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.stored_reject_change();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.product_card_type', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.product_card_type_type_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.product_card', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.product_card_move', '');

CREATE FUNCTION @extschema@.product_card_issue(program text, customer_key text, card_type text, document text,
    series text DEFAULT NULL)
RETURNS @extschema@.code
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_member bigint;
    t @extschema@.product_card_type;
    c @extschema@.product_card;
    v_card bigint;
BEGIN
    IF program IS NULL OR card_type IS NULL OR document IS NULL THEN
        RAISE EXCEPTION 'program, card type and document must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF customer_key IS NOT NULL THEN
        SELECT s.program_id, s.member_id INTO v_program, v_member FROM @extschema@.stored_member(program, customer_key) s;
    ELSE
        SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = product_card_issue.program;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
        END IF;
    END IF;
    SELECT * INTO t FROM @extschema@.product_card_type x
     WHERE x.program_id = v_program AND x.code = card_type AND x.active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product card type "%" does not exist in program "%"', card_type, program
            USING ERRCODE = 'LS006', HINT = 'Create it in loyalty.product_card_type first, or check that it is active.';
    END IF;
    v_card := @extschema@.generate_id();
    INSERT INTO @extschema@.product_card (card_id, program_id, type_id, member_id, code, units_left, issue_document, valid_to)
    VALUES (v_card, v_program, t.type_id, v_member, @extschema@.new_code(upper(series)), t.units, document,
            now() + make_interval(days => t.validity_days))
    ON CONFLICT ON CONSTRAINT product_card_program_id_issue_document_key DO NOTHING;
    IF NOT FOUND THEN
        SELECT * INTO c FROM @extschema@.product_card x
         WHERE x.program_id = v_program AND x.issue_document = product_card_issue.document;
        IF c.type_id <> t.type_id OR c.member_id IS DISTINCT FROM v_member THEN
            RAISE EXCEPTION 'document "%" already issued a different product card', document USING ERRCODE = 'LS001';
        END IF;
        RETURN c.code;
    END IF;
    INSERT INTO @extschema@.product_card_move (card_id, kind, units, sku, amount, document)
    VALUES (v_card, 'issue', t.units, t.item_sku, round(t.price, 2), document);
    RETURN (SELECT x.code FROM @extschema@.product_card x WHERE x.card_id = v_card);
END
$$;
COMMENT ON FUNCTION @extschema@.product_card_issue(text, text, text, text, text) IS
'Sells or gives a prepaid product card of a type to a customer (NULL: a bearer card); returns its number; idempotent per document';


CREATE FUNCTION @extschema@.product_card_use(card_code @extschema@.code, units integer, document text,
    branch text DEFAULT NULL)
RETURNS TABLE (sku text, quantity integer, price numeric)
AS 'MODULE_PATHNAME', 'stored_product_card_use'
LANGUAGE C VOLATILE ROWS 1
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.product_card_use(@extschema@.code, integer, text, text) IS
'Takes units from a product card (at most the per-visit limit, never below zero) and returns the bill line to add at price 0; the consumption is recorded for the host''s stock; idempotent per document';

CREATE FUNCTION @extschema@.product_card_top_up(card_code @extschema@.code, units integer, document text,
    branch text DEFAULT NULL, OUT amount numeric, OUT units_left integer)
AS 'MODULE_PATHNAME', 'stored_product_card_top_up'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.product_card_top_up(@extschema@.code, integer, text, text) IS
'Buys extra units on a product card at its type''s extra unit price; returns what to charge and the units left; idempotent per document';

CREATE VIEW @extschema@.product_card_history AS
SELECT c.code::text AS card_code, p.code AS program, t.code AS card_type, c.member_id, m.kind, m.units,
       m.sku, m.amount, m.document, m.branch, m.created_at
  FROM @extschema@.product_card_move m
  JOIN @extschema@.product_card c ON c.card_id = m.card_id
  JOIN @extschema@.product_card_type t ON t.type_id = c.type_id
  JOIN @extschema@.program p ON p.program_id = c.program_id;
COMMENT ON VIEW @extschema@.product_card_history IS 'Every movement of every product card: issues, uses (the item and quantity consumed) and top-ups';
COMMENT ON COLUMN @extschema@.product_card_history.card_code IS 'The card number';
COMMENT ON COLUMN @extschema@.product_card_history.kind IS 'issue, use or top_up';
COMMENT ON COLUMN @extschema@.product_card_history.units IS 'Units added (positive) or consumed (negative)';
COMMENT ON COLUMN @extschema@.product_card_history.sku IS 'The item consumed or sold';
COMMENT ON COLUMN @extschema@.product_card_history.amount IS 'Money charged for the movement (0 for uses)';
COMMENT ON COLUMN @extschema@.product_card_history.document IS 'The bill or sale document';
COMMENT ON COLUMN @extschema@.product_card_history.branch IS 'Where it happened';
COMMENT ON COLUMN @extschema@.product_card_history.created_at IS 'When it happened';
-- Vouchers, coupons and gift certificates (issue 5, F1-F3): types, batch
-- issue, single-use redemption with throttled look-ups, voids; and the
-- stored-value invariants (check_stored_value).  See doc/stored.md.

-- The install secret of code digests ---------------------------------------

CREATE FUNCTION @extschema@.stored_random_bytes(n integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'stored_random_bytes'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.stored_random_bytes(integer) IS
'n bytes from the server''s strong random source (pg_strong_random)';

CREATE TABLE @extschema@.secret (
    name        text PRIMARY KEY,
    value       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.secret IS
'Install secrets, readable only by the extension owner: code_digest keys the HMAC-SHA256 under which bearer voucher codes are stored; made on first use and kept by pg_dump (dumps are therefore sensitive)';
REVOKE ALL ON @extschema@.secret FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.secret', '');

CREATE FUNCTION @extschema@.code_digest(code @extschema@.code)
RETURNS bytea
AS 'MODULE_PATHNAME', 'stored_code_digest'
LANGUAGE C VOLATILE STRICT
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION @extschema@.code_digest(@extschema@.code) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.code_digest(@extschema@.code) IS
'HMAC-SHA256 of a code under the install secret: how bearer voucher and gift certificate codes are stored and found';

CREATE FUNCTION @extschema@.stored_voucher_amount(face_value numeric, discount_percent numeric,
    discount_amount numeric, eligible numeric, max_bill_percent numeric, bill_total numeric)
RETURNS numeric
AS 'MODULE_PATHNAME', 'stored_voucher_amount'
LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION @extschema@.stored_voucher_amount(numeric, numeric, numeric, numeric, numeric, numeric) IS
'What a voucher takes off a bill: its value (face value, fixed or percent discount of the eligible part), at most the eligible part and at most max_bill_percent of the bill; no change';

-- Types, batches, vouchers --------------------------------------------------

CREATE TABLE @extschema@.voucher_type (
    type_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id       bigint NOT NULL REFERENCES @extschema@.program,
    code             text NOT NULL CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name             text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('voucher', 'coupon', 'gift_certificate')),
    face_value       numeric CHECK (face_value > 0),
    discount_percent numeric CHECK (discount_percent > 0 AND discount_percent <= 100),
    discount_amount  numeric CHECK (discount_amount > 0),
    invoice_value    numeric CHECK (invoice_value >= 0),
    valid_from       timestamptz,
    valid_to         timestamptz,
    valid_days       integer CHECK (valid_days > 0),
    branches         text[],
    allowed_groups   text[],
    excluded_groups  text[] NOT NULL DEFAULT '{}',
    max_bill_percent numeric CHECK (max_bill_percent > 0 AND max_bill_percent <= 100),
    active           boolean NOT NULL DEFAULT true,
    UNIQUE (program_id, code),
    CHECK (num_nonnulls(face_value, discount_percent, discount_amount) = 1),
    CHECK (kind = 'coupon' OR face_value IS NOT NULL),
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from)
);
COMMENT ON TABLE @extschema@.voucher_type IS
'Kinds of voucher, coupon and gift certificate: value, validity, where and on what they may be used';
COMMENT ON COLUMN @extschema@.voucher_type.kind IS 'voucher or gift_certificate (bearer value, codes stored as keyed digests) or coupon (a discount, codes stored in clear)';
COMMENT ON COLUMN @extschema@.voucher_type.face_value IS 'Money value of a voucher or gift certificate (100 000, 200 000, ...)';
COMMENT ON COLUMN @extschema@.voucher_type.discount_percent IS 'A coupon''s discount as a percent of the eligible part of the bill';
COMMENT ON COLUMN @extschema@.voucher_type.discount_amount IS 'A coupon''s fixed discount';
COMMENT ON COLUMN @extschema@.voucher_type.invoice_value IS 'What one code is invoiced at when sold (through partners it may differ from the face value)';
COMMENT ON COLUMN @extschema@.voucher_type.valid_days IS 'Days a code is valid from its issue (within valid_from..valid_to)';
COMMENT ON COLUMN @extschema@.voucher_type.branches IS 'Branches where codes are accepted (NULL: everywhere)';
COMMENT ON COLUMN @extschema@.voucher_type.allowed_groups IS 'Item groups or SKUs a code may pay for (NULL: everything not excluded)';
COMMENT ON COLUMN @extschema@.voucher_type.excluded_groups IS 'Item groups or SKUs a code may never pay for';
COMMENT ON COLUMN @extschema@.voucher_type.max_bill_percent IS 'A code pays at most this percent of the bill (NULL: no cap); no change is ever given';

CREATE TABLE @extschema@.voucher_batch (
    batch_id     bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id   bigint NOT NULL REFERENCES @extschema@.program,
    batch        text NOT NULL,
    type_id      bigint NOT NULL REFERENCES @extschema@.voucher_type,
    series       text,
    member_id    bigint,
    quantity     integer NOT NULL CHECK (quantity > 0),
    issued_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (program_id, batch)
);
COMMENT ON TABLE @extschema@.voucher_batch IS
'Issued batches of codes: one voucher_issue() call, its series, size and the member it was for';

CREATE TABLE @extschema@.voucher (
    voucher_id   bigint NOT NULL DEFAULT @extschema@.generate_id() PRIMARY KEY,
    program_id   bigint NOT NULL REFERENCES @extschema@.program,
    type_id      bigint NOT NULL REFERENCES @extschema@.voucher_type,
    batch_id     bigint NOT NULL REFERENCES @extschema@.voucher_batch,
    member_id    bigint,
    code         @extschema@.code UNIQUE,
    digest       bytea UNIQUE,
    suffix       text NOT NULL,
    series       text,
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(code, digest) = 1)
);
CREATE INDEX voucher_member_idx ON @extschema@.voucher (member_id) WHERE member_id IS NOT NULL;
COMMENT ON TABLE @extschema@.voucher IS
'Issued codes: a coupon keeps its code in clear, a voucher or gift certificate only its keyed digest and a visible suffix (the full code is shown once, at issue)';
COMMENT ON COLUMN @extschema@.voucher.member_id IS 'The member the code was issued to, NULL for a bearer code';
COMMENT ON COLUMN @extschema@.voucher.digest IS 'HMAC-SHA256 of the code under the install secret (loyalty.code_digest)';
COMMENT ON COLUMN @extschema@.voucher.suffix IS 'The last four printed symbols, for masked display (****-P4RC)';

CREATE TABLE @extschema@.voucher_use (
    use_id          bigint NOT NULL DEFAULT @extschema@.generate_id() PRIMARY KEY,
    voucher_id      bigint NOT NULL REFERENCES @extschema@.voucher,
    program_id      bigint NOT NULL,
    document        text NOT NULL,
    branch          text,
    till            text,
    bill_total      numeric NOT NULL,
    eligible        numeric NOT NULL,
    amount          numeric NOT NULL CHECK (amount > 0),
    forfeited       numeric NOT NULL DEFAULT 0,
    used_at         timestamptz NOT NULL DEFAULT now(),
    voided_at       timestamptz
);
CREATE UNIQUE INDEX voucher_use_once_idx ON @extschema@.voucher_use (voucher_id) WHERE voided_at IS NULL;
CREATE INDEX voucher_use_document_idx ON @extschema@.voucher_use (document);
COMMENT ON TABLE @extschema@.voucher_use IS
'Redemptions: the bill, branch, till and time each code was used on; a code has at most one use that is not voided';
COMMENT ON COLUMN @extschema@.voucher_use.forfeited IS 'Value of the code the bill could not take (no change is given)';
COMMENT ON COLUMN @extschema@.voucher_use.voided_at IS 'When voucher_void() gave the code back';

CREATE TABLE @extschema@.voucher_failure (
    failure_id  bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    till_key    text NOT NULL,
    reason      text NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX voucher_failure_till_idx ON @extschema@.voucher_failure (till_key, failed_at);
COMMENT ON TABLE @extschema@.voucher_failure IS
'Failed code look-ups per till (or branch): too many in the throttle window block the till until the window passes';

CREATE TABLE @extschema@.voucher_throttle (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    max_failures    integer NOT NULL DEFAULT 5 CHECK (max_failures > 0),
    failure_window  interval NOT NULL DEFAULT '1 minute' CHECK (failure_window > interval '0')
);
COMMENT ON TABLE @extschema@.voucher_throttle IS
'At most one row: how many failed code look-ups a till may make within failure_window before it is refused (no row: 5 per minute)';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_type', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_type_type_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_batch', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_batch_batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_use', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_failure', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_failure_failure_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_throttle', '');

CREATE FUNCTION @extschema@.voucher_issue(program text, voucher_type text, n integer,
    customer_key text DEFAULT NULL, series text DEFAULT NULL, batch text DEFAULT NULL)
RETURNS SETOF @extschema@.code
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_type @extschema@.voucher_type;
    v_member bigint;
    v_batch bigint;
    v_code @extschema@.code;
    v_from timestamptz;
    v_to timestamptz;
    i integer;
BEGIN
    IF program IS NULL OR voucher_type IS NULL OR n IS NULL THEN
        RAISE EXCEPTION 'program, voucher type and count must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF n < 1 OR n > 100000 THEN
        RAISE EXCEPTION 'a batch holds 1 to 100000 codes, not %', n USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = voucher_issue.program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', voucher_issue.program USING ERRCODE = 'LY005';
    END IF;
    SELECT * INTO v_type FROM @extschema@.voucher_type t
     WHERE t.program_id = v_program AND t.code = voucher_issue.voucher_type AND t.active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'voucher type "%" does not exist in program "%"', voucher_issue.voucher_type, voucher_issue.program
            USING ERRCODE = 'LS006', HINT = 'Create it in loyalty.voucher_type first, or check that it is active.';
    END IF;
    IF customer_key IS NOT NULL THEN
        SELECT k.member_id INTO v_member FROM @extschema@.member_key k
         WHERE k.program_id = v_program AND k.customer_key = voucher_issue.customer_key;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'customer "%" is not a member of loyalty program "%"', customer_key, voucher_issue.program
                USING ERRCODE = 'LY002';
        END IF;
    END IF;
    INSERT INTO @extschema@.voucher_batch (program_id, batch, type_id, series, member_id, quantity)
    VALUES (v_program, coalesce(voucher_issue.batch, 'batch-' || @extschema@.generate_id()),
            v_type.type_id, upper(voucher_issue.series), v_member, n)
    ON CONFLICT ON CONSTRAINT voucher_batch_program_id_batch_key DO NOTHING
    RETURNING batch_id INTO v_batch;
    IF v_batch IS NULL THEN
        RAISE EXCEPTION 'voucher batch "%" was already issued', voucher_issue.batch
            USING ERRCODE = 'LS001',
                  DETAIL = 'Bearer codes are shown only once, at issue, so a batch cannot be issued again.',
                  HINT = 'Use a new batch name.';
    END IF;
    v_from := greatest(now(), coalesce(v_type.valid_from, now()));
    v_to := CASE WHEN v_type.valid_days IS NULL THEN v_type.valid_to
                 ELSE least(coalesce(v_type.valid_to, 'infinity'), v_from + make_interval(days => v_type.valid_days)) END;
    FOR i IN 1 .. n LOOP
        v_code := @extschema@.new_code(upper(voucher_issue.series));
        INSERT INTO @extschema@.voucher (program_id, type_id, batch_id, member_id, code, digest, suffix,
                                         series, valid_from, valid_to)
        VALUES (v_program, v_type.type_id, v_batch, v_member,
                CASE WHEN v_type.kind = 'coupon' THEN v_code END,
                CASE WHEN v_type.kind <> 'coupon' THEN @extschema@.code_digest(v_code) END,
                @extschema@.code_suffix(v_code), upper(voucher_issue.series), v_from, v_to);
        RETURN NEXT v_code;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.voucher_issue(text, text, integer, text, text, text) IS
'Issues a batch of n codes of a voucher type, to a member or to the bearer, in an optional series; returns the codes, shown in full only now (bearer codes are stored as keyed digests)';

CREATE TYPE @extschema@.voucher_result AS (
    ok          boolean,
    amount      numeric,
    reason      text,
    sqlstate    text,
    message     text,
    suffix      text,
    kind        text
);
COMMENT ON TYPE @extschema@.voucher_result IS
'Outcome of voucher_check()/voucher_redeem(): ok and the amount applied, or the reason, its SQLSTATE and a message';

CREATE FUNCTION @extschema@.voucher_check(code text, branch text, bill_total numeric DEFAULT NULL,
    lines jsonb DEFAULT NULL, till text DEFAULT NULL, customer_key text DEFAULT NULL)
RETURNS @extschema@.voucher_result
AS 'MODULE_PATHNAME', 'stored_voucher_check'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.voucher_check(text, text, numeric, jsonb, text, text) IS
'What a code would take off a bill, without using it or waiting for a redemption in progress; wrong codes count towards the till''s throttle';

CREATE FUNCTION @extschema@.voucher_redeem(code text, document text, branch text, bill_total numeric DEFAULT NULL,
    lines jsonb DEFAULT NULL, till text DEFAULT NULL, customer_key text DEFAULT NULL)
RETURNS @extschema@.voucher_result
AS 'MODULE_PATHNAME', 'stored_voucher_redeem'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.voucher_redeem(text, text, text, numeric, jsonb, text, text) IS
'Uses a code on a bill, exactly once even when two tills try it together; returns ok and the amount applied, or (without raising, so the failed look-up is recorded) the reason and its SQLSTATE: LS010 wrong, LS011 expired, LS012 used, LS013 wrong branch, LS014 not yet valid, LS016 nothing to pay, LS017 another member''s code; raises LS015 when the till made too many failed look-ups, LS001 for a retry with a different bill';

CREATE FUNCTION @extschema@.voucher_void(document text, program text DEFAULT NULL)
RETURNS numeric
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_total numeric;
BEGIN
    IF document IS NULL THEN
        RAISE EXCEPTION 'a void needs a document' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF program IS NOT NULL THEN
        SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = voucher_void.program;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
        END IF;
    END IF;
    -- lock the codes' rows in the order redemptions do, then give the uses back
    PERFORM 1 FROM @extschema@.voucher v
      JOIN @extschema@.voucher_use u ON u.voucher_id = v.voucher_id
     WHERE u.document = voucher_void.document AND u.voided_at IS NULL
       AND (v_program IS NULL OR u.program_id = v_program)
     ORDER BY v.voucher_id
       FOR UPDATE OF v;
    WITH v AS (
        UPDATE @extschema@.voucher_use u SET voided_at = now()
         WHERE u.document = voucher_void.document AND u.voided_at IS NULL
           AND (v_program IS NULL OR u.program_id = v_program)
        RETURNING u.amount)
    SELECT coalesce(sum(v.amount), 0) INTO v_total FROM v;
    RETURN v_total;
END
$$;
COMMENT ON FUNCTION @extschema@.voucher_void(text, text) IS
'Gives back every code used on a document (the bill was cancelled), optionally only in one program; returns the amount given back, 0 when there was nothing left to void (a retry)';

CREATE FUNCTION @extschema@.voucher_failures_prune()
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_window interval;
    v_count bigint;
BEGIN
    SELECT coalesce((SELECT t.failure_window FROM @extschema@.voucher_throttle t), interval '1 minute')
      INTO v_window;
    DELETE FROM @extschema@.voucher_failure f WHERE f.failed_at < clock_timestamp() - greatest(v_window, interval '1 day');
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.voucher_failures_prune() IS
'Job body: deletes failed code look-ups older than a day (or the throttle window when longer); returns how many';

CREATE VIEW @extschema@.voucher_status AS
SELECT v.voucher_id, p.code AS program, t.code AS voucher_type, t.kind, v.series,
       '****-' || v.suffix AS masked_code, v.member_id, v.valid_from, v.valid_to,
       CASE WHEN u.use_id IS NOT NULL THEN 'used'
            WHEN v.valid_to IS NOT NULL AND v.valid_to <= now() THEN 'expired'
            ELSE 'open' END AS status,
       u.document, u.branch, u.amount, u.used_at
  FROM @extschema@.voucher v
  JOIN @extschema@.voucher_type t ON t.type_id = v.type_id
  JOIN @extschema@.program p ON p.program_id = v.program_id
  LEFT JOIN @extschema@.voucher_use u ON u.voucher_id = v.voucher_id AND u.voided_at IS NULL;
COMMENT ON VIEW @extschema@.voucher_status IS 'Every issued code, masked, with its state and the bill it was used on';
COMMENT ON COLUMN @extschema@.voucher_status.masked_code IS 'The code''s last four symbols (the full code is never stored for bearer codes)';
COMMENT ON COLUMN @extschema@.voucher_status.status IS 'open, used or expired';
COMMENT ON COLUMN @extschema@.voucher_status.amount IS 'Amount the code took off its bill';

-- Invariants of all stored value ---------------------------------------------

CREATE FUNCTION @extschema@.check_stored_value()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'wallet balance equals the sum of its ledger', w.member_id,
           format('balance %s, ledger %s', w.balance, coalesce(s.total, 0))
      FROM @extschema@.wallet w
      LEFT JOIN (SELECT l.member_id, sum(l.amount) AS total FROM @extschema@.wallet_ledger l GROUP BY 1) s
        ON s.member_id = w.member_id
     WHERE w.balance <> coalesce(s.total, 0)
    UNION ALL
    SELECT 'wallet ledger has a wallet', s.member_id, NULL
      FROM (SELECT DISTINCT l.member_id FROM @extschema@.wallet_ledger l) s
     WHERE NOT EXISTS (SELECT 1 FROM @extschema@.wallet w WHERE w.member_id = s.member_id)
    UNION ALL
    SELECT 'wallet entry unchanged', l.member_id, format('entry %s', l.entry_id)
      FROM @extschema@.wallet_ledger l
     WHERE l.checksum <> @extschema@.wallet_entry_checksum(l)
    UNION ALL
    SELECT 'wallet balance not negative', w.member_id, format('balance %s', w.balance)
      FROM @extschema@.wallet w WHERE w.balance < 0
    UNION ALL
    SELECT 'product card units equal the sum of its movements', c.member_id,
           format('card %s: units %s, movements %s', c.card_id, c.units_left, coalesce(s.total, 0))
      FROM @extschema@.product_card c
      LEFT JOIN (SELECT m.card_id, sum(m.units) AS total FROM @extschema@.product_card_move m GROUP BY 1) s
        ON s.card_id = c.card_id
     WHERE c.units_left <> coalesce(s.total, 0)
    UNION ALL
    SELECT 'product card units not negative', c.member_id, format('card %s: units %s', c.card_id, c.units_left)
      FROM @extschema@.product_card c WHERE c.units_left < 0
    UNION ALL
    SELECT 'no voucher used twice', v.member_id, format('voucher %s: %s open uses', v.voucher_id, count(*))
      FROM @extschema@.voucher_use u JOIN @extschema@.voucher v ON v.voucher_id = u.voucher_id
     WHERE u.voided_at IS NULL
     GROUP BY v.voucher_id, v.member_id HAVING count(*) > 1
$$;
COMMENT ON FUNCTION @extschema@.check_stored_value() IS
'Every violated stored-value invariant (empty when all is well): wallet balances equal their ledgers and are not negative, no wallet entry changed, product card units equal their movements and are not negative, no voucher used twice';
-- Membership tiers (C1-C3, C5) and birthday offers (C4).
--
-- A member's tier is the highest-ranked tier whose threshold the member's
-- qualifying measure reaches within the tier's window: spend (order amounts
-- less returns) or points earned (less points taken back), never the
-- current balance.  Orders upgrade at once (trigger on member_order);
-- recalculate_tiers() also downgrades.

CREATE TABLE @extschema@.tier (
    tier_id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    rank            integer NOT NULL,
    name            text NOT NULL,
    measure         text NOT NULL DEFAULT 'spend' CHECK (measure IN ('spend', 'points_earned')),
    threshold       numeric NOT NULL DEFAULT 0 CHECK (threshold >= 0),
    window_months   integer CHECK (window_months BETWEEN 1 AND 120),
    window_kind     text NOT NULL DEFAULT 'rolling' CHECK (window_kind IN ('rolling', 'calendar')),
    discount_percent numeric NOT NULL DEFAULT 0 CHECK (discount_percent BETWEEN 0 AND 100),
    points_multiplier numeric NOT NULL DEFAULT 1 CHECK (points_multiplier >= 0 AND points_multiplier <= 100),
    almost_percent  integer NOT NULL DEFAULT 10 CHECK (almost_percent BETWEEN 0 AND 100),
    UNIQUE (program_id, rank),
    UNIQUE (program_id, name),
    CHECK (window_kind = 'rolling' OR (window_months IS NOT NULL AND 12 % window_months = 0))
);
COMMENT ON TABLE @extschema@.tier IS
'Card tiers of a program (e.g. Member 5%, VIP 10%, Gold 15%): the mark to reach, its window, the discount and the points multiplier';
COMMENT ON COLUMN @extschema@.tier.rank IS 'Order of the tiers: a higher rank is a better tier';
COMMENT ON COLUMN @extschema@.tier.measure IS 'What qualifies: spend (order amounts less returns) or points_earned (points earned less points taken back); never the balance';
COMMENT ON COLUMN @extschema@.tier.threshold IS 'The mark: money in the program currency (spend) or points (points_earned) within the window';
COMMENT ON COLUMN @extschema@.tier.window_months IS 'Length of the qualifying window in months (NULL: the whole history)';
COMMENT ON COLUMN @extschema@.tier.window_kind IS 'rolling: the months before the moment judged; calendar: the current period of window_months months from 1 January in the program time zone (12 must divide by it)';
COMMENT ON COLUMN @extschema@.tier.discount_percent IS 'Discount on bills for members of this tier';
COMMENT ON COLUMN @extschema@.tier.points_multiplier IS 'Multiplier of the points members of this tier earn (1 = as the rules say)';
COMMENT ON COLUMN @extschema@.tier.almost_percent IS 'Send the "almost at this tier" notice when the member is within this percent of the threshold (0: never)';

CREATE TABLE @extschema@.member_tier (
    member_id       bigint NOT NULL PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    tier_id         bigint REFERENCES @extschema@.tier,
    since           timestamptz NOT NULL,
    qualifying      numeric
);
COMMENT ON TABLE @extschema@.member_tier IS
'The current tier of each member (NULL tier_id: no tier reached); the row is the lock that orders upgrades and the tier job';
COMMENT ON COLUMN @extschema@.member_tier.qualifying IS 'The measure that reached the tier when it was last changed';

CREATE TABLE @extschema@.tier_history (
    member_id       bigint NOT NULL,
    history_id      bigint NOT NULL,
    program_id      bigint NOT NULL,
    from_tier       bigint,
    to_tier         bigint,
    at              timestamptz NOT NULL,
    branch          text,
    reason          text NOT NULL,
    document        text,
    PRIMARY KEY (member_id, history_id)
);
CREATE INDEX tier_history_member_idx ON @extschema@.tier_history (member_id, at);
COMMENT ON TABLE @extschema@.tier_history IS
'Every tier move, append-only: when, from and to which tier, at which branch and why (the order that crossed the mark, or the tier job)';

CREATE TRIGGER tier_history_append_only BEFORE UPDATE OR DELETE ON @extschema@.tier_history
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ledger_reject_change();

CREATE FUNCTION @extschema@.tier_upgrade_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'tier_upgrade_trigger'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.tier_upgrade_trigger() IS
'Trigger: upgrades the member (never downgrades) in the transaction of the order that crosses a tier''s mark';

CREATE TRIGGER member_order_tier AFTER INSERT ON @extschema@.member_order
    FOR EACH ROW EXECUTE FUNCTION @extschema@.tier_upgrade_trigger();

CREATE FUNCTION @extschema@.apply_member_tier(member_id bigint, program_id bigint, as_of timestamptz,
                                              allow_down boolean, reason text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'apply_member_tier'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.apply_member_tier(bigint, bigint, timestamptz, boolean, text) IS
'Moves one member to the tier its measure gives at a moment (down too when allow_down); returns whether the tier changed';

CREATE FUNCTION @extschema@.recalculate_tiers(program text DEFAULT NULL, customer_key text DEFAULT NULL,
                                              as_of timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_member bigint;
    v_program bigint;
    v_last bigint := -9223372036854775808;
    v_changed integer := 0;
    v_rows integer;
    r record;
BEGIN
    IF program IS NOT NULL THEN
        SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = recalculate_tiers.program;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
        END IF;
    END IF;
    IF customer_key IS NOT NULL THEN
        IF v_program IS NULL THEN
            RAISE EXCEPTION 'a customer key needs a program' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_member := @extschema@.member_id(program, customer_key);
        IF v_member IS NULL THEN
            RAISE EXCEPTION 'customer "%" is not a member of program "%"', customer_key, program
                USING ERRCODE = 'LT004';
        END IF;
        RETURN @extschema@.apply_member_tier(v_member, v_program, as_of, true, 'recalculation')::integer;
    END IF;
    -- the whole run: one at a time, a second run at once does nothing
    IF NOT pg_try_advisory_xact_lock(hashtext('pg_loyalty.recalculate_tiers')) THEN
        RAISE NOTICE 'recalculate_tiers is already running, skipped';
        RETURN 0;
    END IF;
    LOOP
        v_rows := 0;
        FOR r IN SELECT m.member_id, m.program_id FROM @extschema@.member m
                  WHERE m.member_id > v_last AND m.status <> 'closed'
                    AND (v_program IS NULL OR m.program_id = v_program)
                    AND EXISTS (SELECT 1 FROM @extschema@.tier t WHERE t.program_id = m.program_id)
                  ORDER BY m.member_id LIMIT 1000
        LOOP
            v_rows := v_rows + 1;
            v_last := r.member_id;
            IF @extschema@.apply_member_tier(r.member_id, r.program_id, as_of, true, 'recalculation') THEN
                v_changed := v_changed + 1;
            END IF;
        END LOOP;
        EXIT WHEN v_rows < 1000;
    END LOOP;
    RETURN v_changed;
END
$$;
COMMENT ON FUNCTION @extschema@.recalculate_tiers(text, text, timestamptz) IS
'Tier job: moves one member or every member (in chunks of 1000) to the tier its window gives at as_of, down as well as up; running it again changes nothing; a second run at once is skipped';

CREATE FUNCTION @extschema@.tier_progress(member_id bigint, program_id bigint, as_of timestamptz DEFAULT now(),
    OUT current_tier text, OUT next_tier text, OUT measure text, OUT qualifying numeric,
    OUT threshold numeric, OUT needed numeric, OUT tiers integer)
RETURNS record
AS 'MODULE_PATHNAME', 'tier_progress'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.tier_progress(bigint, bigint, timestamptz) IS
'A member''s current tier, the next tier, its measure, what the member has in its window and what is still needed';

CREATE FUNCTION @extschema@.next_tier_progress(program text, customer_key text,
    OUT current_tier text, OUT next_tier text, OUT measure text, OUT qualifying numeric,
    OUT threshold numeric, OUT needed numeric)
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_member bigint := @extschema@.member_id(program, customer_key);
BEGIN
    IF v_member IS NULL THEN
        RAISE EXCEPTION 'customer "%" is not a member of program "%"', customer_key, program
            USING ERRCODE = 'LT004';
    END IF;
    SELECT t.current_tier, t.next_tier, t.measure, t.qualifying, t.threshold, t.needed
      INTO current_tier, next_tier, measure, qualifying, threshold, needed
      FROM @extschema@.tier_progress(v_member, (SELECT m.program_id FROM @extschema@.member m
                                                WHERE m.member_id = v_member), now()) t;
END
$$;
COMMENT ON FUNCTION @extschema@.next_tier_progress(text, text) IS
'How close a customer is to the next tier (C5): spend or points still needed (0 at the top tier)';

CREATE FUNCTION @extschema@.member_tier(program text, customer_key text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.name FROM @extschema@.member_tier mt JOIN @extschema@.tier t ON t.tier_id = mt.tier_id
     WHERE mt.member_id = @extschema@.member_id($1, $2)
$$;
COMMENT ON FUNCTION @extschema@.member_tier(text, text) IS 'The name of a customer''s current tier, or NULL';

CREATE FUNCTION @extschema@.member_tier_discount(program text, customer_key text)
RETURNS numeric
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT t.discount_percent FROM @extschema@.member_tier mt
                       JOIN @extschema@.tier t ON t.tier_id = mt.tier_id
                      WHERE mt.member_id = @extschema@.member_id($1, $2)), 0)
$$;
COMMENT ON FUNCTION @extschema@.member_tier_discount(text, text) IS
'The bill discount in percent of a customer''s current tier (0 without a tier); C code uses LoyaltyTierDiscountE4()';

CREATE FUNCTION @extschema@.member_tier_multiplier(program text, customer_key text)
RETURNS numeric
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT t.points_multiplier FROM @extschema@.member_tier mt
                       JOIN @extschema@.tier t ON t.tier_id = mt.tier_id
                      WHERE mt.member_id = @extschema@.member_id($1, $2)), 1)
$$;
COMMENT ON FUNCTION @extschema@.member_tier_multiplier(text, text) IS
'The points multiplier of a customer''s current tier (1 without a tier); C code uses LoyaltyTierMultiplierE4()';

CREATE FUNCTION @extschema@.check_tiers()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'member tier belongs to the member''s program', mt.member_id,
           format('tier %s of program %s, member of program %s', mt.tier_id, t.program_id, m.program_id)
      FROM @extschema@.member_tier mt
      JOIN @extschema@.member m ON m.member_id = mt.member_id
      LEFT JOIN @extschema@.tier t ON t.tier_id = mt.tier_id
     WHERE mt.program_id <> m.program_id OR (mt.tier_id IS NOT NULL AND t.program_id <> m.program_id)
    UNION ALL
    SELECT 'tier row has a member', mt.member_id, 'no loyalty.member row'
      FROM @extschema@.member_tier mt
     WHERE NOT EXISTS (SELECT 1 FROM @extschema@.member m WHERE m.member_id = mt.member_id)
    UNION ALL
    SELECT 'current tier is the last move of the history', mt.member_id,
           format('current %s, last move to %s', mt.tier_id, h.to_tier)
      FROM @extschema@.member_tier mt
      LEFT JOIN LATERAL (SELECT x.to_tier FROM @extschema@.tier_history x
                          WHERE x.member_id = mt.member_id ORDER BY x.at DESC, x.history_id DESC LIMIT 1) h ON true
     WHERE mt.tier_id IS DISTINCT FROM h.to_tier
    UNION ALL
    SELECT 'each move starts where the previous ended', h.member_id,
           format('move %s from %s, previous ended at %s', h.history_id, h.from_tier, h.prev_to)
      FROM (SELECT x.*, lag(x.to_tier) OVER (PARTITION BY x.member_id ORDER BY x.at, x.history_id) AS prev_to,
                   row_number() OVER (PARTITION BY x.member_id ORDER BY x.at, x.history_id) AS n
              FROM @extschema@.tier_history x) h
     WHERE h.n > 1 AND h.from_tier IS DISTINCT FROM h.prev_to
$$;
COMMENT ON FUNCTION @extschema@.check_tiers() IS
'Every violated tier invariant (empty when all is well): tiers of the right program, current tier equals the history''s last move, moves chain';

-- Birthdays (C4) --------------------------------------------------------------

CREATE TABLE @extschema@.birthday_offer (
    offer_id        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    scope           text NOT NULL CHECK (scope IN ('day', 'week', 'month', 'day_of_month')),
    day_of_month    integer CHECK (day_of_month BETWEEN 1 AND 31),
    multiplier      numeric NOT NULL DEFAULT 1 CHECK (multiplier >= 1 AND multiplier <= 100),
    discount_percent numeric NOT NULL DEFAULT 0 CHECK (discount_percent BETWEEN 0 AND 100),
    active          boolean NOT NULL DEFAULT true,
    CHECK ((scope = 'day_of_month') = (day_of_month IS NOT NULL))
);
COMMENT ON TABLE @extschema@.birthday_offer IS
'Birthday offers: on the day, in the week (Monday to Sunday), in the month, or on a chosen day of the birthday month, a points multiplier and a discount; 29 February birthdays count on 28 February in other years';
COMMENT ON COLUMN @extschema@.birthday_offer.day_of_month IS 'For scope day_of_month: the day of the birthday month (a day past the month''s end means its last day)';

CREATE FUNCTION @extschema@.birthday_multiplier(member_id bigint, program_id bigint, at timestamptz)
RETURNS numeric
AS 'MODULE_PATHNAME', 'birthday_multiplier_member'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.birthday_multiplier(bigint, bigint, timestamptz) IS
'The best birthday points multiplier of a member at a moment, judged on the date in the program''s time zone (1 when none applies)';

CREATE FUNCTION @extschema@.birthday_multiplier(program text, customer_key text, at timestamptz DEFAULT now())
RETURNS numeric
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT @extschema@.birthday_multiplier(m.member_id, m.program_id, $3)
                       FROM @extschema@.member m WHERE m.member_id = @extschema@.member_id($1, $2)), 1)
$$;
COMMENT ON FUNCTION @extschema@.birthday_multiplier(text, text, timestamptz) IS
'The best birthday points multiplier of a customer at a moment (1 when none applies or not a member); 29 February birthdays count on 28 February in other years';

CREATE FUNCTION @extschema@.next_birthday(birthday date, on_date date)
RETURNS date
AS 'MODULE_PATHNAME', 'next_birthday'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.next_birthday(date, date) IS
'The first birthday celebrated on or after a date; 29 February is celebrated on 28 February in other years';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.tier', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tier_tier_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member_tier', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tier_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.birthday_offer', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.birthday_offer_offer_id_seq', '');
-- Customer records beside loyalty.member (I1-I4, I6): company data and
-- attributes, contact persons, important dates, staff tasks, and searches.

CREATE TABLE @extschema@.customer_profile (
    member_id       bigint NOT NULL PRIMARY KEY,
    company_name    text,
    address         text,
    attributes      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_profile_attributes_idx ON @extschema@.customer_profile USING gin (attributes jsonb_path_ops);
COMMENT ON TABLE @extschema@.customer_profile IS
'Extra customer data: company name, address and attributes such as {"industry": "retail", "annual_revenue": 5000000000, "staff": 40}';

CREATE TABLE @extschema@.contact_person (
    member_id       bigint NOT NULL,
    contact_id      bigint NOT NULL DEFAULT @extschema@.generate_id(),
    name            text NOT NULL,
    role            text,
    phone           text,
    email           text,
    birthday        date,
    PRIMARY KEY (member_id, contact_id)
);
COMMENT ON TABLE @extschema@.contact_person IS 'Contact persons of a customer (organisations): name, role, phone, email';

CREATE TABLE @extschema@.important_date (
    member_id       bigint NOT NULL,
    date_id         bigint NOT NULL DEFAULT @extschema@.generate_id(),
    kind            text NOT NULL CHECK (kind IN ('birthday', 'wedding', 'founding')),
    date            date NOT NULL,
    note            text,
    PRIMARY KEY (member_id, date_id),
    UNIQUE (member_id, kind, date)
);
COMMENT ON TABLE @extschema@.important_date IS
'Dates to remember for a customer: birthdays (besides loyalty.member.birthday), wedding days, company founding days';

CREATE TABLE @extschema@.customer_task (
    member_id       bigint NOT NULL,
    task_id         bigint NOT NULL DEFAULT @extschema@.generate_id(),
    assignee        text NOT NULL,
    due_at          timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    title           text NOT NULL,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, task_id)
);
CREATE INDEX customer_task_due_idx ON @extschema@.customer_task (due_at) WHERE status = 'open';
COMMENT ON TABLE @extschema@.customer_task IS 'Reminders of planned events with a customer and tasks for staff';

CREATE FUNCTION @extschema@.top_customers(program text, since timestamptz DEFAULT NULL,
                                          until timestamptz DEFAULT NULL, max_rows integer DEFAULT 10)
RETURNS TABLE (customer_key text, name text, company_name text, revenue numeric, orders bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.customer_key, m.name, cp.company_name, r.revenue, r.orders
      FROM (SELECT o.member_id, sum(o.amount - o.returned_amount) AS revenue, count(*) AS orders
              FROM @extschema@.member_order o
              JOIN @extschema@.program p ON p.program_id = o.program_id
             WHERE p.code = $1 AND o.status <> 'cancelled'
               AND ($2 IS NULL OR o.ordered_at >= $2) AND ($3 IS NULL OR o.ordered_at < $3)
             GROUP BY o.member_id) r
      JOIN @extschema@.member m ON m.member_id = r.member_id
      LEFT JOIN @extschema@.customer_profile cp ON cp.member_id = m.member_id
     ORDER BY r.revenue DESC, m.customer_key
     LIMIT $4
$$;
COMMENT ON FUNCTION @extschema@.top_customers(text, timestamptz, timestamptz, integer) IS
'Customers with the highest revenue (order amounts less returns) in a period (I3, K5)';

CREATE FUNCTION @extschema@.important_dates_in_month(program text, month date DEFAULT current_date)
RETURNS TABLE (customer_key text, name text, kind text, date date, anniversary date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.customer_key, m.name, d.kind, d.date,
           @extschema@.next_birthday(d.date, date_trunc('month', $2)::date)
      FROM (SELECT x.member_id, x.kind, x.date FROM @extschema@.important_date x
            UNION
            SELECT y.member_id, 'birthday', y.birthday FROM @extschema@.member y WHERE y.birthday IS NOT NULL) d
      JOIN @extschema@.member m ON m.member_id = d.member_id
      JOIN @extschema@.program p ON p.program_id = m.program_id
     WHERE p.code = $1 AND extract(month FROM d.date) = extract(month FROM $2)
     ORDER BY 5, m.customer_key, d.kind
$$;
COMMENT ON FUNCTION @extschema@.important_dates_in_month(text, date) IS
'Birthdays, wedding days and company founding days falling in a month (I3), with the day they are celebrated that year';

CREATE FUNCTION @extschema@.customer_branches(program text, customer_key text)
RETURNS TABLE (branch text, orders bigint, revenue numeric, first_at timestamptz, last_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.branch, count(*), sum(o.amount - o.returned_amount), min(o.ordered_at), max(o.ordered_at)
      FROM @extschema@.member_order o
     WHERE o.member_id = @extschema@.member_id($1, $2)
     GROUP BY o.branch
     ORDER BY max(o.ordered_at) DESC, o.branch
$$;
COMMENT ON FUNCTION @extschema@.customer_branches(text, text) IS
'Which branches served a customer, how often and when first and last (I6)';

CREATE FUNCTION @extschema@.customers_with(program text, attributes jsonb)
RETURNS TABLE (customer_key text, name text, company_name text, attributes jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.customer_key, m.name, cp.company_name, cp.attributes
      FROM @extschema@.customer_profile cp
      JOIN @extschema@.member m ON m.member_id = cp.member_id
      JOIN @extschema@.program p ON p.program_id = m.program_id
     WHERE p.code = $1 AND cp.attributes @> $2
     ORDER BY m.customer_key
$$;
COMMENT ON FUNCTION @extschema@.customers_with(text, jsonb) IS
'Customers whose attributes contain the given ones, e.g. {"industry": "retail"} (uses the GIN index)';

CREATE FUNCTION @extschema@.tasks_due(until timestamptz DEFAULT now() + interval '1 day',
                                      assignee text DEFAULT NULL)
RETURNS TABLE (assignee text, due_at timestamptz, title text, customer_key text, name text, overdue boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.assignee, t.due_at, t.title, m.customer_key, m.name, t.due_at < now()
      FROM @extschema@.customer_task t
      JOIN @extschema@.member m ON m.member_id = t.member_id
     WHERE t.status = 'open' AND t.due_at <= $1 AND ($2 IS NULL OR t.assignee = $2)
     ORDER BY t.due_at, t.assignee, t.title
$$;
COMMENT ON FUNCTION @extschema@.tasks_due(timestamptz, text) IS 'Open tasks and reminders due by a moment, for everyone or one assignee (I4)';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer_profile', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contact_person', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.important_date', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer_task', '');
-- Notifications (J1-J4, I5, H8): templates with macros rendered in C and an
-- outbox written in the transaction of its cause.  A statement-level
-- trigger sends NOTIFY loyalty_notification, which listeners receive only
-- when that transaction commits.

CREATE TABLE @extschema@.notification_template (
    template_id     bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    code            text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('sms', 'email')),
    language        text NOT NULL DEFAULT 'vi',
    subject         text,
    body            text NOT NULL,
    UNIQUE (program_id, code, channel, language)
);
COMMENT ON TABLE @extschema@.notification_template IS
'Message templates per program, code, channel and language; macros such as {{name}}, {{points}}, {{tier}}, {{points_to_next_tier}}, {{birthday}} are checked when saved';
COMMENT ON COLUMN @extschema@.notification_template.code IS 'What the template is for: birthday_notice, birthday_greeting, tier_upgraded, tier_almost, or any code of your own for bulk sends';

CREATE FUNCTION @extschema@.validate_template_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'validate_template_trigger'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.validate_template_trigger() IS
'Trigger: rejects a template whose subject or body uses an unknown macro';

CREATE TRIGGER notification_template_validate BEFORE INSERT OR UPDATE ON @extschema@.notification_template
    FOR EACH ROW EXECUTE FUNCTION @extschema@.validate_template_trigger();

CREATE FUNCTION @extschema@.render_template(body text, vars jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'render_template'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.render_template(text, jsonb) IS
'Replaces each {{macro}} of a text by the value of that key in vars (empty when absent)';

CREATE FUNCTION @extschema@.template_macros(body text)
RETURNS text
AS 'MODULE_PATHNAME', 'template_macros'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.template_macros(text) IS
'Checks a template text (an unknown macro raises LT002) and lists the macros it uses, comma-separated';

CREATE TABLE @extschema@.notification (
    member_id       bigint NOT NULL,
    message_id      bigint NOT NULL DEFAULT @extschema@.generate_id(),
    program_id      bigint NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('sms', 'email')),
    kind            text NOT NULL,
    template_code   text,
    recipient       text NOT NULL,
    subject         text,
    body            text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}',
    dedupe_key      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    PRIMARY KEY (member_id, message_id),
    UNIQUE (member_id, channel, dedupe_key)
);
CREATE INDEX notification_due_idx ON @extschema@.notification (next_attempt_at)
    WHERE status IN ('pending', 'sending');
COMMENT ON TABLE @extschema@.notification IS
'Outbox of SMS and email messages, written in the transaction of their cause; a delivery worker claims due rows with SKIP LOCKED';
COMMENT ON COLUMN @extschema@.notification.dedupe_key IS 'Makes an event send once per member and channel (e.g. birthday_notice:2027)';
COMMENT ON COLUMN @extschema@.notification.next_attempt_at IS 'When the message is due: the first try, a retry after back-off, or the end of a worker''s lease';

CREATE FUNCTION @extschema@.notification_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('loyalty_notification', '');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.notification_notify() IS
'Trigger: NOTIFY loyalty_notification once per statement (listeners hear it when the transaction commits)';

CREATE TRIGGER notification_wake AFTER INSERT ON @extschema@.notification
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.notification_notify();

CREATE FUNCTION @extschema@.notification_vars(member_id bigint)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'name', m.name, 'customer_key', m.customer_key, 'program', p.name,
        'company_name', cp.company_name,
        'points', (SELECT b.points::numeric FROM @extschema@.balance b
                    WHERE b.member_id = m.member_id AND b.program_id = m.program_id),
        'tier', tp.current_tier, 'next_tier', tp.next_tier,
        'points_to_next_tier', CASE WHEN tp.next_tier IS NOT NULL THEN tp.needed END,
        'discount', (SELECT t.discount_percent FROM @extschema@.member_tier mt
                       JOIN @extschema@.tier t ON t.tier_id = mt.tier_id WHERE mt.member_id = m.member_id),
        'birthday', to_char(m.birthday, 'DD/MM')))
      FROM @extschema@.member m
      JOIN @extschema@.program p ON p.program_id = m.program_id
      LEFT JOIN @extschema@.customer_profile cp ON cp.member_id = m.member_id
      LEFT JOIN LATERAL @extschema@.tier_progress(m.member_id, m.program_id, now()) tp ON true
     WHERE m.member_id = $1
$$;
COMMENT ON FUNCTION @extschema@.notification_vars(bigint) IS
'The standard macro values of a member: name, customer_key, program, company_name, points, tier, next_tier, points_to_next_tier, discount, birthday';

CREATE FUNCTION @extschema@.enqueue_notification(member_id bigint, channel text, kind text,
                                                 template_code text, vars jsonb DEFAULT '{}',
                                                 language text DEFAULT NULL, dedupe_key text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
    t record;
    v_vars jsonb;
    v_recipient text;
    v_id bigint;
BEGIN
    SELECT x.member_id, x.program_id, x.phone, x.email INTO m
      FROM @extschema@.member x WHERE x.member_id = enqueue_notification.member_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member % does not exist', enqueue_notification.member_id USING ERRCODE = 'LT004';
    END IF;
    SELECT x.subject, x.body INTO t
      FROM @extschema@.notification_template x
     WHERE x.program_id = m.program_id AND x.code = template_code AND x.channel = enqueue_notification.channel
     ORDER BY (x.language = enqueue_notification.language) DESC NULLS LAST, x.language
     LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'program has no % template "%"', channel, template_code USING ERRCODE = 'LT005',
            HINT = 'Add it to loyalty.notification_template.';
    END IF;
    v_recipient := CASE channel WHEN 'sms' THEN m.phone ELSE m.email END;
    IF v_recipient IS NULL OR v_recipient = '' THEN
        RETURN NULL;   -- nowhere to send it
    END IF;
    v_vars := @extschema@.notification_vars(m.member_id) || coalesce(vars, '{}');
    INSERT INTO @extschema@.notification AS n (member_id, program_id, channel, kind, template_code, recipient,
                                          subject, body, payload, dedupe_key)
    VALUES (m.member_id, m.program_id, channel, kind, template_code, v_recipient,
            @extschema@.render_template(t.subject, v_vars), @extschema@.render_template(t.body, v_vars),
            v_vars, dedupe_key)
    ON CONFLICT ON CONSTRAINT notification_member_id_channel_dedupe_key_key DO NOTHING
    RETURNING n.message_id INTO v_id;
    IF v_id IS NULL THEN
        SELECT n.message_id INTO v_id FROM @extschema@.notification n
         WHERE n.member_id = m.member_id AND n.channel = enqueue_notification.channel
           AND n.dedupe_key = enqueue_notification.dedupe_key;
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION @extschema@.enqueue_notification(bigint, text, text, text, jsonb, text, text) IS
'Renders a template for a member and puts the message in the outbox in the current transaction; NULL when the member has no phone/email for the channel; the same dedupe_key returns the first message';

CREATE FUNCTION @extschema@.notify_event(member_id bigint, kind text, template_code text,
                                         vars jsonb DEFAULT '{}', dedupe_key text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_channel text;
    v_count integer := 0;
BEGIN
    FOR v_channel IN
        SELECT DISTINCT t.channel FROM @extschema@.notification_template t
          JOIN @extschema@.member m ON m.program_id = t.program_id
         WHERE m.member_id = notify_event.member_id AND t.code = template_code
         ORDER BY 1
    LOOP
        -- an event already sent under its dedupe key is not counted again
        CONTINUE WHEN dedupe_key IS NOT NULL AND EXISTS (
            SELECT 1 FROM @extschema@.notification n
             WHERE n.member_id = notify_event.member_id AND n.channel = v_channel
               AND n.dedupe_key = notify_event.dedupe_key);
        IF @extschema@.enqueue_notification(member_id, v_channel, kind, template_code, vars,
                                            NULL, dedupe_key) IS NOT NULL THEN
            v_count := v_count + 1;
        END IF;
    END LOOP;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.notify_event(bigint, text, text, jsonb, text) IS
'Queues an event''s message on every channel the program has a template for (none: nothing happens); returns how many new messages were queued (one already sent under the dedupe key is not sent or counted again)';

CREATE FUNCTION @extschema@.send_to_segment(program text, template_code text, groups text[],
                                            send_key text DEFAULT NULL, min_points numeric DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_count integer := 0;
    r record;
BEGIN
    SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = send_to_segment.program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.notification_template t
                    WHERE t.program_id = v_program AND t.code = template_code) THEN
        RAISE EXCEPTION 'program "%" has no template "%"', program, template_code USING ERRCODE = 'LT005';
    END IF;
    FOR r IN SELECT m.member_id FROM @extschema@.member m
              WHERE m.program_id = v_program AND m.status = 'active'
                AND (send_to_segment.groups IS NULL OR m.groups && send_to_segment.groups)
                AND (min_points IS NULL OR EXISTS (
                      SELECT 1 FROM @extschema@.balance b
                       WHERE b.member_id = m.member_id AND b.program_id = m.program_id
                         AND b.points::numeric >= min_points))
              ORDER BY m.member_id
    LOOP
        v_count := v_count + @extschema@.notify_event(r.member_id, 'bulk', template_code, '{}',
                                                      'segment:' || coalesce(send_key, template_code || ':' || now()::text));
    END LOOP;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.send_to_segment(text, text, text[], text, numeric) IS
'Sends a template to the active members in any of the groups (NULL: all members), optionally only to those with at least min_points (H8); the same send_key never sends twice; returns the messages queued';

-- Delivery: what a worker calls -----------------------------------------------

CREATE FUNCTION @extschema@.claim_notifications(batch integer DEFAULT 10, lease interval DEFAULT '5 minutes',
                                                program text DEFAULT NULL)
RETURNS SETOF @extschema@.notification
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE @extschema@.notification n
       SET status = 'sending', attempts = n.attempts + 1, next_attempt_at = now() + $2
      FROM (SELECT x.member_id, x.message_id FROM @extschema@.notification x
             WHERE x.status IN ('pending', 'sending') AND x.next_attempt_at <= now()
               AND ($3 IS NULL OR x.program_id = (SELECT p.program_id FROM @extschema@.program p WHERE p.code = $3))
             ORDER BY x.next_attempt_at
             LIMIT $1 FOR UPDATE SKIP LOCKED) d
     WHERE n.member_id = d.member_id AND n.message_id = d.message_id
    RETURNING n.*
$$;
COMMENT ON FUNCTION @extschema@.claim_notifications(integer, interval, text) IS
'Claims due messages (of one program, or all) for a delivery worker with SKIP LOCKED: pending ones and those whose worker''s lease ran out; each claim counts an attempt';

CREATE FUNCTION @extschema@.notification_delivered(member_id bigint, message_id bigint)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE @extschema@.notification n SET status = 'delivered', delivered_at = now(), last_error = NULL
     WHERE n.member_id = $1 AND n.message_id = $2 AND n.status = 'sending'
    RETURNING true
$$;
COMMENT ON FUNCTION @extschema@.notification_delivered(bigint, bigint) IS
'Marks a claimed message delivered (false/NULL when it was not being sent)';

CREATE FUNCTION @extschema@.notification_failed(member_id bigint, message_id bigint, error text,
                                                max_attempts integer DEFAULT 5)
RETURNS text
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE @extschema@.notification n
       SET status = CASE WHEN n.attempts >= $4 THEN 'failed' ELSE 'pending' END,
           next_attempt_at = now() + make_interval(secs => 30 * power(2, least(n.attempts, 10))),
           last_error = $3
     WHERE n.member_id = $1 AND n.message_id = $2 AND n.status = 'sending'
    RETURNING n.status
$$;
COMMENT ON FUNCTION @extschema@.notification_failed(bigint, bigint, text, integer) IS
'Records a failed delivery: retried after an exponential back-off (30 s, 1 min, 2 min, ...) until max_attempts, then failed';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.notification_template', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.notification_template_template_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.notification', '');
-- Accrual on the host's own orders table: loyalty.attach() names its
-- columns and installs deferred constraint triggers that read them.

CREATE TABLE @extschema@.attachment (
    attachment_id   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    orders          regclass NOT NULL UNIQUE,
    lines           regclass,
    columns         jsonb NOT NULL,
    cancelled_values text[] NOT NULL DEFAULT '{}',
    source          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.attachment IS
'Host orders tables wired to accrual by loyalty.attach(): one row per orders table; the triggers carry the same settings as their arguments';
COMMENT ON COLUMN @extschema@.attachment.orders IS 'The host orders table (one attachment per table)';
COMMENT ON COLUMN @extschema@.attachment.lines IS 'The host order lines table, or NULL when the header amount earns';
COMMENT ON COLUMN @extschema@.attachment.columns IS 'The loyalty.attach() column parameters that were given, e.g. {"id_column": "order_id"}';
COMMENT ON COLUMN @extschema@.attachment.cancelled_values IS 'Status values that cancel an order and reverse its points (empty without a status column)';
COMMENT ON COLUMN @extschema@.attachment.source IS 'Source system recorded on the ledger entries; documents are the order ids';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.attachment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.attachment_attachment_id_seq', '');

CREATE FUNCTION @extschema@.accrue_order_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'accrue_order_trigger'
LANGUAGE C
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.accrue_order_trigger() IS
'Trigger installed by loyalty.attach(): earns points for an inserted order at commit, reverses them when the order is cancelled or deleted; its arguments name the host columns';
REVOKE ALL ON FUNCTION @extschema@.accrue_order_trigger() FROM PUBLIC;

CREATE FUNCTION @extschema@.attach(
    program text,
    orders regclass,
    id_column text,
    customer_column text,
    amount_column text DEFAULT NULL,
    branch_column text DEFAULT NULL,
    time_column text DEFAULT NULL,
    status_column text DEFAULT NULL,
    cancelled_values text[] DEFAULT '{cancelled}',
    channel_column text DEFAULT NULL,
    bill_discount_column text DEFAULT NULL,
    points_paid_column text DEFAULT NULL,
    lines regclass DEFAULT NULL,
    line_order_column text DEFAULT NULL,
    line_no_column text DEFAULT NULL,
    sku_column text DEFAULT NULL,
    group_column text DEFAULT NULL,
    quantity_column text DEFAULT NULL,
    price_column text DEFAULT NULL,
    discount_column text DEFAULT NULL,
    line_amount_column text DEFAULT NULL,
    source text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'loyalty_attach'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.attach(text, regclass, text, text, text, text, text, text, text[], text, text, text, regclass, text, text, text, text, text, text, text, text, text) IS
'Wire accrual onto an existing orders table (and optional lines table) by naming its columns; orders earn at commit, cancelled or deleted orders are reversed';
REVOKE ALL ON FUNCTION @extschema@.attach(text, regclass, text, text, text, text, text, text, text[], text, text, text, regclass, text, text, text, text, text, text, text, text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.detach(orders regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'loyalty_detach'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.detach(regclass) IS
'Undo loyalty.attach(): drop the accrual triggers of an orders table and forget the attachment; points already posted stay';
REVOKE ALL ON FUNCTION @extschema@.detach(regclass) FROM PUBLIC;
-- Campaigns: lifecycle, schedule history, budgets in split counters, cost.

CREATE TABLE @extschema@.campaign (
    campaign_id     bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name            text NOT NULL,
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'ended')),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    gift_window_from timestamptz,
    gift_window_to  timestamptz,
    target_groups   text[] NOT NULL DEFAULT '{}',
    target_tiers    text[] NOT NULL DEFAULT '{}',
    form            text,
    places          text[] NOT NULL DEFAULT '{}',
    person_in_charge text,
    audience        text,
    how_to_join     text,
    budget_points   @extschema@.points,
    budget_money    numeric,
    daily_budget_points @extschema@.points,
    budget_slots    integer NOT NULL DEFAULT 8 CHECK (budget_slots BETWEEN 1 AND 256),
    description     text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaign_program_idx ON @extschema@.campaign (program_id);
COMMENT ON TABLE @extschema@.campaign IS
'A promotion campaign of a program: when it runs, who it targets, how it runs, and its budget caps (H1, H4-H6)';
COMMENT ON COLUMN @extschema@.campaign.status IS 'draft -> scheduled -> running <-> paused -> ended; only the lifecycle functions change it';
COMMENT ON COLUMN @extschema@.campaign.starts_at IS 'The campaign gives from this time (inclusive); change it with reschedule_campaign()';
COMMENT ON COLUMN @extschema@.campaign.ends_at IS 'The campaign gives before this time (exclusive); change it with reschedule_campaign()';
COMMENT ON COLUMN @extschema@.campaign.gift_window_from IS 'Gifts and prize codes are handed out from this time (NULL: from starts_at)';
COMMENT ON COLUMN @extschema@.campaign.gift_window_to IS 'Gifts and prize codes are handed out before this time (NULL: until ends_at)';
COMMENT ON COLUMN @extschema@.campaign.target_groups IS 'Customer groups that may take part (empty: everyone); the campaign''s earning rules and draws pass other members by';
COMMENT ON COLUMN @extschema@.campaign.target_tiers IS 'Tiers that may take part (empty: every tier); the campaign''s earning rules pass other members by';
COMMENT ON COLUMN @extschema@.campaign.form IS 'How it runs: lucky draw, points race, discount, bonus points ...';
COMMENT ON COLUMN @extschema@.campaign.places IS 'Branches where it runs (empty: all)';
COMMENT ON COLUMN @extschema@.campaign.budget_points IS 'Cap on the points the campaign gives (NULL: no cap)';
COMMENT ON COLUMN @extschema@.campaign.budget_money IS 'Cap on the campaign''s cost in money: points at the point value plus prize values (NULL: no cap)';
COMMENT ON COLUMN @extschema@.campaign.daily_budget_points IS 'Cap on the points given per local day (NULL: no daily cap)';
COMMENT ON COLUMN @extschema@.campaign.budget_slots IS 'Number of counters the budget is split into, so tills do not queue on one row';

CREATE TABLE @extschema@.campaign_change (
    change_id       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    campaign_id     bigint NOT NULL REFERENCES @extschema@.campaign ON DELETE CASCADE,
    changed_by      text NOT NULL DEFAULT current_user,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    what            text NOT NULL,
    old_value       text,
    new_value       text
);
CREATE INDEX campaign_change_campaign_idx ON @extschema@.campaign_change (campaign_id);
COMMENT ON TABLE @extschema@.campaign_change IS
'History of a campaign''s schedule, status and budget changes: who, when, the old and the new value';

CREATE TABLE @extschema@.campaign_budget_slot (
    campaign_id     bigint NOT NULL REFERENCES @extschema@.campaign ON DELETE CASCADE,
    day             date NOT NULL DEFAULT '-infinity',
    slot            integer NOT NULL,
    remaining_points @extschema@.points CHECK (remaining_points >= 0),
    remaining_money bigint CHECK (remaining_money >= 0),
    taken_points    @extschema@.points NOT NULL DEFAULT 0,
    taken_money     bigint NOT NULL DEFAULT 0,
    takes           bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, day, slot)
);
COMMENT ON TABLE @extschema@.campaign_budget_slot IS
'Budget counters split into slots: a till locks one slot only; day -infinity holds the whole budget, other days the daily cap';
COMMENT ON COLUMN @extschema@.campaign_budget_slot.remaining_points IS 'Points this slot may still give (NULL: no points cap)';
COMMENT ON COLUMN @extschema@.campaign_budget_slot.remaining_money IS 'Hundredths of money this slot may still spend (NULL: no money cap)';

-- Lifecycle ------------------------------------------------------------------

CREATE FUNCTION @extschema@.campaign_check_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.starts_at >= NEW.ends_at THEN
        RAISE EXCEPTION 'campaign "%" ends before it starts', NEW.code
            USING ERRCODE = 'LC001',
                  DETAIL = format('It starts at %s and ends at %s.', NEW.starts_at, NEW.ends_at),
                  HINT = 'The end must be later than the start.';
    END IF;
    IF NEW.gift_window_from IS NOT NULL AND NEW.gift_window_to IS NOT NULL
       AND NEW.gift_window_from >= NEW.gift_window_to THEN
        RAISE EXCEPTION 'gift window of campaign "%" ends before it starts', NEW.code
            USING ERRCODE = 'LC001', HINT = 'The gift window''s end must be later than its start.';
    END IF;
    IF NEW.budget_points::numeric < 0 OR NEW.budget_money < 0
       OR NEW.daily_budget_points::numeric < 0 THEN
        RAISE EXCEPTION 'budget of campaign "%" is negative', NEW.code
            USING ERRCODE = 'LC001', HINT = 'A budget is NULL (no cap) or zero or more.';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status <> OLD.status
       AND current_setting('pg_loyalty_campaign.transition', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'status of campaign "%" is changed by the lifecycle functions only', NEW.code
            USING ERRCODE = 'LC002',
                  HINT = 'Use loyalty.schedule_campaign(), start_campaign(), pause_campaign() or end_campaign().';
    END IF;
    IF TG_OP = 'INSERT' AND NEW.status <> 'draft' THEN
        RAISE EXCEPTION 'a new campaign starts as a draft' USING ERRCODE = 'LC002',
            HINT = 'Insert it as draft, then call loyalty.schedule_campaign().';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.campaign_check_row() IS
'Trigger: a campaign ends after it starts, its budgets are not negative, and its status moves only through the lifecycle functions';

CREATE TRIGGER campaign_check BEFORE INSERT OR UPDATE ON @extschema@.campaign
    FOR EACH ROW EXECUTE FUNCTION @extschema@.campaign_check_row();

-- Split a campaign's budget over its slots: what is left after what was taken
CREATE FUNCTION @extschema@.campaign_split_budget(p_campaign bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    v_taken_p bigint;
    v_taken_m bigint;
    v_left_p bigint;
    v_left_m bigint;
BEGIN
    SELECT * INTO c FROM @extschema@.campaign WHERE campaign_id = p_campaign;
    INSERT INTO @extschema@.campaign_budget_slot (campaign_id, day, slot)
    SELECT p_campaign, '-infinity', s FROM generate_series(0, c.budget_slots - 1) s
    ON CONFLICT DO NOTHING;
    -- every slot locked in slot order, as takers that fall back do
    PERFORM 1 FROM @extschema@.campaign_budget_slot
      WHERE campaign_id = p_campaign AND day = '-infinity' ORDER BY slot FOR UPDATE;
    SELECT coalesce(sum((taken_points::numeric * 100)::bigint), 0), coalesce(sum(taken_money), 0)
      INTO v_taken_p, v_taken_m
      FROM @extschema@.campaign_budget_slot WHERE campaign_id = p_campaign AND day = '-infinity';
    v_left_p := CASE WHEN c.budget_points IS NOT NULL THEN greatest((c.budget_points::numeric * 100)::bigint - v_taken_p, 0) END;
    v_left_m := CASE WHEN c.budget_money IS NOT NULL THEN greatest(round(c.budget_money * 100)::bigint - v_taken_m, 0) END;
    DELETE FROM @extschema@.campaign_budget_slot
     WHERE campaign_id = p_campaign AND day = '-infinity' AND slot >= c.budget_slots AND taken_points::numeric = 0 AND taken_money = 0;
    UPDATE @extschema@.campaign_budget_slot s
       SET remaining_points = ((v_left_p / c.budget_slots
                                  + CASE WHEN s.slot < v_left_p % c.budget_slots THEN 1 ELSE 0 END) / 100.0)::@extschema@.points,
           remaining_money = v_left_m / c.budget_slots
                                  + CASE WHEN s.slot < v_left_m % c.budget_slots THEN 1 ELSE 0 END
     WHERE s.campaign_id = p_campaign AND s.day = '-infinity' AND s.slot < c.budget_slots;
    UPDATE @extschema@.campaign_budget_slot s SET remaining_points = 0, remaining_money = 0
     WHERE s.campaign_id = p_campaign AND s.day = '-infinity' AND s.slot >= c.budget_slots;
    -- daily slots of today and later follow a changed daily cap on their next split
    DELETE FROM @extschema@.campaign_budget_slot
     WHERE campaign_id = p_campaign AND day <> '-infinity' AND takes = 0;
END
$$;
COMMENT ON FUNCTION @extschema@.campaign_split_budget(bigint) IS
'Splits what is left of a campaign''s budget evenly over its slots (all slots locked in slot order)';

CREATE FUNCTION @extschema@.campaign_after_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM @extschema@.campaign_split_budget(NEW.campaign_id);
        RETURN NULL;
    END IF;
    IF NEW.starts_at <> OLD.starts_at THEN
        INSERT INTO @extschema@.campaign_change (campaign_id, what, old_value, new_value)
        VALUES (NEW.campaign_id, 'starts_at', OLD.starts_at::text, NEW.starts_at::text);
    END IF;
    IF NEW.ends_at <> OLD.ends_at THEN
        INSERT INTO @extschema@.campaign_change (campaign_id, what, old_value, new_value)
        VALUES (NEW.campaign_id, 'ends_at', OLD.ends_at::text, NEW.ends_at::text);
    END IF;
    IF NEW.status <> OLD.status THEN
        INSERT INTO @extschema@.campaign_change (campaign_id, what, old_value, new_value)
        VALUES (NEW.campaign_id, 'status', OLD.status, NEW.status);
    END IF;
    IF (NEW.budget_points::numeric, NEW.budget_money, NEW.daily_budget_points::numeric, NEW.budget_slots)
       IS DISTINCT FROM (OLD.budget_points::numeric, OLD.budget_money, OLD.daily_budget_points::numeric, OLD.budget_slots) THEN
        INSERT INTO @extschema@.campaign_change (campaign_id, what, old_value, new_value)
        VALUES (NEW.campaign_id, 'budget',
                format('points %s, money %s, daily %s, slots %s', OLD.budget_points, OLD.budget_money, OLD.daily_budget_points, OLD.budget_slots),
                format('points %s, money %s, daily %s, slots %s', NEW.budget_points, NEW.budget_money, NEW.daily_budget_points, NEW.budget_slots));
        PERFORM @extschema@.campaign_split_budget(NEW.campaign_id);
    END IF;
    -- the campaign's earning rules follow its schedule and status
    IF (NEW.starts_at, NEW.ends_at, NEW.status) IS DISTINCT FROM (OLD.starts_at, OLD.ends_at, OLD.status) THEN
        UPDATE @extschema@.rule r
           SET valid_from = NEW.starts_at, valid_to = NEW.ends_at,
               active = NEW.status IN ('scheduled', 'running')
         WHERE r.campaign_id = NEW.campaign_id;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.campaign_after_change() IS
'Trigger: records schedule, status and budget changes, re-splits the budget, and keeps the campaign''s rules dated and active as the campaign is';

CREATE TRIGGER campaign_after AFTER INSERT OR UPDATE ON @extschema@.campaign
    FOR EACH ROW EXECUTE FUNCTION @extschema@.campaign_after_change();

CREATE FUNCTION @extschema@.campaign_rule_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    IF NEW.campaign_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT * INTO c FROM @extschema@.campaign WHERE campaign_id = NEW.campaign_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign % does not exist', NEW.campaign_id USING ERRCODE = 'LC003';
    END IF;
    IF c.program_id <> NEW.program_id THEN
        RAISE EXCEPTION 'rule "%" and campaign "%" belong to different programs', NEW.name, c.code
            USING ERRCODE = 'LC001';
    END IF;
    NEW.valid_from := c.starts_at;
    NEW.valid_to := c.ends_at;
    NEW.active := c.status IN ('scheduled', 'running');
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.campaign_rule_row() IS
'Trigger: a rule of a campaign takes the campaign''s dates, and is active only while the campaign is scheduled or running';

CREATE TRIGGER rule_campaign BEFORE INSERT OR UPDATE OF campaign_id ON @extschema@.rule
    FOR EACH ROW EXECUTE FUNCTION @extschema@.campaign_rule_row();

-- Lock a campaign's whole-budget slots (so takers see the change), then move it
CREATE FUNCTION @extschema@.campaign_transition(p_code text, p_from text[], p_to text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    SELECT * INTO c FROM @extschema@.campaign WHERE code = p_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign "%" does not exist', p_code USING ERRCODE = 'LC003';
    END IF;
    PERFORM 1 FROM @extschema@.campaign_budget_slot
      WHERE campaign_id = c.campaign_id AND day = '-infinity' ORDER BY slot FOR UPDATE;
    SELECT * INTO c FROM @extschema@.campaign WHERE code = p_code FOR UPDATE;
    IF c.status = p_to THEN
        RETURN p_to;
    END IF;
    IF NOT c.status = ANY (p_from) THEN
        RAISE EXCEPTION 'campaign "%" cannot go from % to %', p_code, c.status, p_to
            USING ERRCODE = 'LC002',
                  DETAIL = format('From %s it can go to %s only.', c.status,
                                  CASE c.status WHEN 'draft' THEN 'scheduled'
                                                WHEN 'scheduled' THEN 'running or ended'
                                                WHEN 'running' THEN 'paused or ended'
                                                WHEN 'paused' THEN 'running or ended'
                                                ELSE 'nothing: it has ended' END);
    END IF;
    PERFORM set_config('pg_loyalty_campaign.transition', 'on', true);
    UPDATE @extschema@.campaign SET status = p_to WHERE campaign_id = c.campaign_id;
    PERFORM set_config('pg_loyalty_campaign.transition', 'off', true);
    RETURN p_to;
END
$$;
COMMENT ON FUNCTION @extschema@.campaign_transition(text, text[], text) IS
'Moves a campaign to a status if its current status allows it (internal to the lifecycle functions)';

CREATE FUNCTION @extschema@.schedule_campaign(code text) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.campaign_transition($1, '{draft}', 'scheduled') $$;
COMMENT ON FUNCTION @extschema@.schedule_campaign(text) IS 'draft -> scheduled: its rules become active (from starts_at)';

CREATE FUNCTION @extschema@.start_campaign(code text) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.campaign_transition($1, '{scheduled,paused}', 'running') $$;
COMMENT ON FUNCTION @extschema@.start_campaign(text) IS 'scheduled or paused -> running';

CREATE FUNCTION @extschema@.pause_campaign(code text) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.campaign_transition($1, '{running}', 'paused') $$;
COMMENT ON FUNCTION @extschema@.pause_campaign(text) IS 'running -> paused: it gives nothing and its rules are inactive until started again';

CREATE FUNCTION @extschema@.end_campaign(code text) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT @extschema@.campaign_transition($1, '{scheduled,running,paused}', 'ended') $$;
COMMENT ON FUNCTION @extschema@.end_campaign(text) IS 'scheduled, running or paused -> ended, for good';

CREATE FUNCTION @extschema@.reschedule_campaign(code text, starts_at timestamptz, ends_at timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    SELECT * INTO c FROM @extschema@.campaign k WHERE k.code = reschedule_campaign.code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign "%" does not exist', reschedule_campaign.code USING ERRCODE = 'LC003';
    END IF;
    IF c.status = 'ended' THEN
        RAISE EXCEPTION 'campaign "%" has ended', c.code USING ERRCODE = 'LC002',
            HINT = 'An ended campaign cannot be extended; create a new one.';
    END IF;
    PERFORM 1 FROM @extschema@.campaign_budget_slot
      WHERE campaign_id = c.campaign_id AND day = '-infinity' ORDER BY slot FOR UPDATE;
    UPDATE @extschema@.campaign k
       SET starts_at = coalesce(reschedule_campaign.starts_at, k.starts_at),
           ends_at = coalesce(reschedule_campaign.ends_at, k.ends_at)
     WHERE k.campaign_id = c.campaign_id;
END
$$;
COMMENT ON FUNCTION @extschema@.reschedule_campaign(text, timestamptz, timestamptz) IS
'Extends or shortens a campaign (NULL keeps a bound); the change is recorded in campaign_change and its rules follow';

CREATE FUNCTION @extschema@.campaign_tick(at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    n integer := 0;
BEGIN
    FOR c IN SELECT code, status, starts_at, ends_at FROM @extschema@.campaign
              WHERE status IN ('scheduled', 'running', 'paused') ORDER BY campaign_id LOOP
        IF c.ends_at <= at THEN
            PERFORM @extschema@.end_campaign(c.code);
            n := n + 1;
        ELSIF c.status = 'scheduled' AND c.starts_at <= at THEN
            PERFORM @extschema@.start_campaign(c.code);
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.campaign_tick(timestamptz) IS
'Job (every minute under pg_cron): starts scheduled campaigns whose start has come and ends those whose end has passed; returns how many changed';

-- C entry points ---------------------------------------------------------------

CREATE FUNCTION @extschema@.campaign_active(campaign_id bigint, at timestamptz DEFAULT now())
RETURNS boolean
AS 'MODULE_PATHNAME', 'campaign_active'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.campaign_active(bigint, timestamptz) IS
'Whether a campaign gives at a time: running (or scheduled and started) and within starts_at .. ends_at';

CREATE FUNCTION @extschema@.campaign_take(campaign_id bigint, points @extschema@.points,
                                          member_id bigint DEFAULT 0, at timestamptz DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'campaign_take'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.campaign_take(bigint, @extschema@.points, bigint, timestamptz) IS
'Reserves points (and their money value) from a campaign''s budget in this transaction; false when the campaign is not giving or the budget is exhausted';

CREATE FUNCTION @extschema@.campaign_give_back(campaign_id bigint, points @extschema@.points,
                                               member_id bigint DEFAULT 0, at timestamptz DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'campaign_give_back'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.campaign_give_back(bigint, @extschema@.points, bigint, timestamptz) IS
'Returns points reserved by campaign_take in this transaction to the budget (an order that turned out to be a retry)';

-- Cost and invariants ------------------------------------------------------------

CREATE VIEW @extschema@.campaign_budget AS
SELECT c.campaign_id, c.code, c.status,
       c.budget_points::numeric AS budget_points,
       c.budget_money,
       coalesce(sum(s.taken_points::numeric), 0) AS taken_points,
       round(coalesce(sum(s.taken_money), 0) / 100.0, 2) AS taken_money,
       CASE WHEN c.budget_points IS NOT NULL
            THEN coalesce(sum(s.remaining_points::numeric), 0) END AS remaining_points,
       CASE WHEN c.budget_money IS NOT NULL THEN round(coalesce(sum(s.remaining_money), 0) / 100.0, 2) END AS remaining_money,
       coalesce(sum(s.takes), 0)::bigint AS takes
  FROM @extschema@.campaign c
  LEFT JOIN @extschema@.campaign_budget_slot s ON s.campaign_id = c.campaign_id AND s.day = '-infinity'
 GROUP BY c.campaign_id;
COMMENT ON VIEW @extschema@.campaign_budget IS 'Each campaign''s budget: the caps, what was taken and what is left (summed over the slots)';
COMMENT ON COLUMN @extschema@.campaign_budget.taken_points IS 'Points reserved by campaign rules';
COMMENT ON COLUMN @extschema@.campaign_budget.taken_money IS 'Money reserved: points at the point value plus prize values';
COMMENT ON COLUMN @extschema@.campaign_budget.remaining_points IS 'Points left under the cap (NULL: no cap)';
COMMENT ON COLUMN @extschema@.campaign_budget.remaining_money IS 'Money left under the cap (NULL: no cap)';
COMMENT ON COLUMN @extschema@.campaign_budget.takes IS 'How many reservations were made';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaign', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaign_campaign_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaign_change', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaign_change_change_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaign_budget_slot', '');
-- Discount policies (G1-G4): found and applied by the system, recorded per order for effectiveness.

CREATE TABLE @extschema@.discount_policy (
    policy_id       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES @extschema@.program,
    campaign_id     bigint REFERENCES @extschema@.campaign,
    name            text NOT NULL,
    valid_from      timestamptz NOT NULL DEFAULT '-infinity',
    valid_to        timestamptz NOT NULL DEFAULT 'infinity',
    weekdays        integer[] NOT NULL DEFAULT '{}' CHECK (weekdays <@ '{1,2,3,4,5,6,7}'),
    hour_from       integer CHECK (hour_from BETWEEN 0 AND 23),
    hour_to         integer CHECK (hour_to BETWEEN 1 AND 24),
    min_bill        numeric NOT NULL DEFAULT 0 CHECK (min_bill >= 0),
    customer_groups text[] NOT NULL DEFAULT '{}',
    customer_key    text,
    item_groups     text[] NOT NULL DEFAULT '{}',
    skus            text[] NOT NULL DEFAULT '{}',
    kind            text NOT NULL CHECK (kind IN ('percent', 'amount')),
    value           numeric NOT NULL CHECK (value > 0),
    stacking        text NOT NULL DEFAULT 'exclusive' CHECK (stacking IN ('exclusive', 'stackable')),
    priority        integer NOT NULL DEFAULT 0,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT discount_policy_dates CHECK (valid_from < valid_to),
    CONSTRAINT discount_policy_percent CHECK (kind <> 'percent' OR value <= 100)
);
CREATE INDEX discount_policy_program_idx ON @extschema@.discount_policy (program_id);
COMMENT ON TABLE @extschema@.discount_policy IS
'Discount policies: dates, weekdays and golden hours (program time zone), minimum bill, customer groups or one customer, item groups or items, percent or amount, exclusive or stackable';
COMMENT ON COLUMN @extschema@.discount_policy.weekdays IS 'ISO weekdays it applies on, 1 = Monday .. 7 = Sunday (empty: every day)';
COMMENT ON COLUMN @extschema@.discount_policy.hour_from IS 'Golden hours start (local hour, inclusive; NULL: 0); a window may wrap past midnight';
COMMENT ON COLUMN @extschema@.discount_policy.hour_to IS 'Golden hours end (local hour, exclusive; NULL: 24)';
COMMENT ON COLUMN @extschema@.discount_policy.customer_key IS 'Only this customer (NULL: anyone)';
COMMENT ON COLUMN @extschema@.discount_policy.kind IS 'percent of each eligible line, or an amount off the eligible lines (recorded as bill-level, line 0)';
COMMENT ON COLUMN @extschema@.discount_policy.stacking IS 'exclusive: competes, the best for the customer wins; stackable: adds up with other stackable ones';
COMMENT ON COLUMN @extschema@.discount_policy.priority IS 'Breaks ties (higher first) and orders stacking; then the lower policy_id';

CREATE TABLE @extschema@.order_discount (
    member_id       bigint NOT NULL,
    program_id      bigint NOT NULL,
    source          text NOT NULL,
    document        text NOT NULL,
    policy_id       bigint NOT NULL,
    line_no         integer NOT NULL,
    amount          numeric NOT NULL CHECK (amount >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, program_id, source, document, policy_id, line_no)
);
CREATE INDEX order_discount_policy_idx ON @extschema@.order_discount (policy_id);
COMMENT ON TABLE @extschema@.order_discount IS
'Discounts applied to orders, per policy and line (line 0: the bill); member_id 0 for guests, so the key shards by member';

CREATE FUNCTION @extschema@.quote_discounts(program text, customer_key text, lines jsonb,
                                            at timestamptz DEFAULT NULL)
RETURNS TABLE (line_no integer, policy_id bigint, policy_name text, stacking text, amount numeric)
AS 'MODULE_PATHNAME', 'quote_discounts'
LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.quote_discounts(text, text, jsonb, timestamptz) IS
'The discounts a bill gets, per line (line 0: the bill) with the policy of each: the best exclusive policy or the sum of the stackable ones, whichever gives more; deterministic';

CREATE FUNCTION @extschema@.record_applied_discounts(program text, document text, quote jsonb,
                                                     customer_key text DEFAULT NULL, source text DEFAULT 'pos')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_member bigint := 0;
    v_new text;
    v_old text;
    n integer;
BEGIN
    SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
    END IF;
    IF document IS NULL OR document = '' THEN
        RAISE EXCEPTION 'applied discounts need a document id' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF customer_key IS NOT NULL THEN
        SELECT coalesce(k.member_id, 0) INTO v_member FROM @extschema@.member_key k
         WHERE k.program_id = v_program AND k.customer_key = record_applied_discounts.customer_key;
        v_member := coalesce(v_member, 0);
    END IF;
    IF EXISTS (SELECT 1 FROM (SELECT (e->>'policy_id')::bigint AS policy_id, coalesce((e->>'line_no')::integer, 0) AS line_no,
                   (e->>'amount')::numeric AS amount
              FROM jsonb_array_elements(coalesce(quote, '[]')) e) r
                WHERE r.policy_id IS NULL OR r.amount IS NULL OR r.amount < 0
                   OR NOT EXISTS (SELECT 1 FROM @extschema@.discount_policy d
                                   WHERE d.policy_id = r.policy_id AND d.program_id = v_program)) THEN
        RAISE EXCEPTION 'quote of document "%" names an unknown policy or a bad amount', document
            USING ERRCODE = 'LC001', HINT = 'Pass the rows of loyalty.quote_discounts() as a JSON array.';
    END IF;
    INSERT INTO @extschema@.order_discount (member_id, program_id, source, document, policy_id, line_no, amount)
    SELECT v_member, v_program, record_applied_discounts.source, document, r.policy_id, r.line_no, r.amount
      FROM (SELECT (e->>'policy_id')::bigint AS policy_id, coalesce((e->>'line_no')::integer, 0) AS line_no,
                   (e->>'amount')::numeric AS amount
              FROM jsonb_array_elements(coalesce(quote, '[]')) e) r
    ON CONFLICT DO NOTHING;
    SELECT string_agg(format('%s:%s:%s', r.policy_id, r.line_no, r.amount::numeric(20,2)), ',' ORDER BY 1, 2)
      INTO v_new FROM (SELECT (e->>'policy_id')::bigint AS policy_id, coalesce((e->>'line_no')::integer, 0) AS line_no,
                   (e->>'amount')::numeric AS amount
              FROM jsonb_array_elements(coalesce(quote, '[]')) e) r;
    SELECT string_agg(format('%s:%s:%s', o.policy_id, o.line_no, o.amount::numeric(20,2)), ',' ORDER BY 1, 2), count(*)
      INTO v_old, n FROM @extschema@.order_discount o
     WHERE o.member_id = v_member AND o.program_id = v_program
       AND o.source = record_applied_discounts.source AND o.document = record_applied_discounts.document;
    IF v_old IS DISTINCT FROM v_new THEN
        RAISE EXCEPTION 'discounts of document "%" were already recorded differently', document
            USING ERRCODE = 'LC004',
                  HINT = 'A retry must repeat the original quote; a changed bill needs a new document id.';
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.record_applied_discounts(text, text, jsonb, text, text) IS
'Stores the discounts applied to an order (the rows of quote_discounts as a JSON array); a retry with the same rows is a no-op, different rows raise LC004';

CREATE FUNCTION @extschema@.apply_discounts(program text, customer_key text, document text, lines jsonb,
                                            at timestamptz DEFAULT NULL, source text DEFAULT 'pos')
RETURNS TABLE (line_no integer, policy_id bigint, policy_name text, stacking text, amount numeric)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_quote jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]') INTO v_quote
      FROM @extschema@.quote_discounts(program, customer_key, lines, at) q;
    PERFORM @extschema@.record_applied_discounts(program, document, v_quote, customer_key, source);
    RETURN QUERY SELECT q.line_no, q.policy_id, q.policy_name, q.stacking, q.amount
                   FROM jsonb_to_recordset(v_quote) AS q(line_no integer, policy_id bigint,
                        policy_name text, stacking text, amount numeric);
END
$$;
COMMENT ON FUNCTION @extschema@.apply_discounts(text, text, text, jsonb, timestamptz, text) IS
'Quotes a bill''s discounts and records them with the order in one call (idempotent per document)';

CREATE VIEW @extschema@.discount_effectiveness AS
SELECT d.policy_id, d.name, d.program_id, d.campaign_id, d.kind, d.stacking,
       count(DISTINCT (o.member_id, o.source, o.document)) FILTER (WHERE o.policy_id IS NOT NULL) AS orders,
       count(DISTINCT o.member_id) FILTER (WHERE o.member_id <> 0) AS members,
       coalesce(sum(o.amount), 0) AS discount_total,
       coalesce((SELECT sum(mo.amount) FROM @extschema@.member_order mo
                  WHERE (mo.member_id, mo.program_id, mo.source, mo.document) IN
                        (SELECT x.member_id, x.program_id, x.source, x.document
                           FROM @extschema@.order_discount x WHERE x.policy_id = d.policy_id)), 0) AS member_revenue
  FROM @extschema@.discount_policy d
  LEFT JOIN @extschema@.order_discount o ON o.policy_id = d.policy_id
 GROUP BY d.policy_id;
COMMENT ON VIEW @extschema@.discount_effectiveness IS 'Per discount policy: orders and members it reached, what it gave, and the revenue of those members'' orders (G4, K4)';
COMMENT ON COLUMN @extschema@.discount_effectiveness.orders IS 'Orders the policy discounted';
COMMENT ON COLUMN @extschema@.discount_effectiveness.members IS 'Distinct members among them (guests not counted)';
COMMENT ON COLUMN @extschema@.discount_effectiveness.discount_total IS 'Money the policy gave';
COMMENT ON COLUMN @extschema@.discount_effectiveness.member_revenue IS 'Bill totals of those orders recorded for members (loyalty.member_order)';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.discount_policy', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.discount_policy_policy_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.order_discount', '');
-- Lucky draws and prizes (H2, H3), points races (H7), campaign cost (H5), trying a campaign on history.

CREATE TABLE @extschema@.prize_pool (
    pool_id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    campaign_id     bigint NOT NULL REFERENCES @extschema@.campaign,
    level           integer NOT NULL DEFAULT 1 CHECK (level >= 1),
    name            text NOT NULL,
    kind            text NOT NULL DEFAULT 'gift' CHECK (kind IN ('gift', 'voucher', 'code', 'points')),
    initial_stock   integer NOT NULL CHECK (initial_stock >= 0),
    stock           integer NOT NULL CHECK (stock >= 0),
    awarded         integer NOT NULL DEFAULT 0 CHECK (awarded >= 0),
    value           numeric NOT NULL DEFAULT 0 CHECK (value >= 0),
    pacing          text NOT NULL DEFAULT 'fixed' CHECK (pacing IN ('fixed', 'paced')),
    odds            numeric CHECK (odds >= 0 AND odds <= 1),
    expected_entries bigint CHECK (expected_entries > 0),
    daily_cap       integer CHECK (daily_cap >= 0),
    code_series     text,
    active          boolean NOT NULL DEFAULT true,
    CONSTRAINT prize_pool_odds CHECK (pacing <> 'fixed' OR odds IS NOT NULL),
    CONSTRAINT prize_pool_paced CHECK (pacing <> 'paced' OR expected_entries IS NOT NULL)
);
CREATE INDEX prize_pool_campaign_idx ON @extschema@.prize_pool (campaign_id);
COMMENT ON TABLE @extschema@.prize_pool IS
'Prizes of a campaign''s lucky draw per level: stock, value, and the winning rate, fixed odds or paced by the plan (H2, H3)';
COMMENT ON COLUMN @extschema@.prize_pool.level IS 'Prize level, 1 the top prize; levels are tried in order on one random number';
COMMENT ON COLUMN @extschema@.prize_pool.pacing IS 'fixed: odds per draw; paced: prizes left in the plan over the entries still expected';
COMMENT ON COLUMN @extschema@.prize_pool.odds IS 'Chance of winning per draw for fixed pacing, 0 to 1';
COMMENT ON COLUMN @extschema@.prize_pool.expected_entries IS 'Entries expected over the campaign (paced pools without phases)';
COMMENT ON COLUMN @extschema@.prize_pool.daily_cap IS 'At most this many wins per local day (NULL: no cap)';
COMMENT ON COLUMN @extschema@.prize_pool.code_series IS 'Series of the prize codes (loyalty.new_code)';

CREATE TABLE @extschema@.prize_phase (
    pool_id         bigint NOT NULL REFERENCES @extschema@.prize_pool ON DELETE CASCADE,
    phase_from      timestamptz NOT NULL,
    phase_to        timestamptz NOT NULL,
    planned_quantity integer NOT NULL CHECK (planned_quantity >= 0),
    expected_entries bigint NOT NULL CHECK (expected_entries > 0),
    PRIMARY KEY (pool_id, phase_from),
    CHECK (phase_from < phase_to)
);
COMMENT ON TABLE @extschema@.prize_phase IS
'The plan of a paced pool: how many prizes each phase should give and how many entries it expects';

CREATE TABLE @extschema@.prize_daily (
    pool_id         bigint NOT NULL REFERENCES @extschema@.prize_pool ON DELETE CASCADE,
    day             date NOT NULL,
    won             integer NOT NULL DEFAULT 0 CHECK (won >= 0),
    PRIMARY KEY (pool_id, day)
);
COMMENT ON TABLE @extschema@.prize_daily IS 'Wins per pool and local day, for the daily caps';

CREATE TABLE @extschema@.draw_log (
    member_id       bigint NOT NULL,
    campaign_id     bigint NOT NULL,
    source          text NOT NULL,
    document        text NOT NULL,
    draw_id         bigint NOT NULL DEFAULT @extschema@.generate_id(),
    drawn_at        timestamptz NOT NULL,
    random_value    bigint NOT NULL,
    pool_ids        bigint[] NOT NULL,
    thresholds      bigint[] NOT NULL,
    pool_id         bigint,
    won             boolean NOT NULL DEFAULT false,
    prize_code      @extschema@.code,
    value           numeric NOT NULL DEFAULT 0,
    note            text,
    PRIMARY KEY (member_id, campaign_id, source, document)
);
CREATE INDEX draw_log_campaign_idx ON @extschema@.draw_log (campaign_id, drawn_at);
CREATE UNIQUE INDEX draw_log_code_idx ON @extschema@.draw_log (prize_code) WHERE prize_code IS NOT NULL;
COMMENT ON TABLE @extschema@.draw_log IS
'Every draw, one per document: the strong random value used and the thresholds it was compared with, so a draw can be audited';
COMMENT ON COLUMN @extschema@.draw_log.random_value IS 'Uniform in 0 .. 2^62-1 from pg_strong_random; the draw falls in the first pool whose threshold exceeds it';
COMMENT ON COLUMN @extschema@.draw_log.thresholds IS 'Cumulative thresholds (out of 2^62) of the pools in pool_ids, in level order';
COMMENT ON COLUMN @extschema@.draw_log.note IS 'Why a draw that fell in a pool did not win (out of stock, daily cap, budget)';

CREATE FUNCTION @extschema@.prize_pool_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.odds IS NOT NULL AND (NEW.odds < 0 OR NEW.odds > 1) THEN
        RAISE EXCEPTION 'odds of prize "%" must be between 0 and 1', NEW.name USING ERRCODE = 'LC001',
            DETAIL = format('They are %s.', NEW.odds);
    END IF;
    IF TG_OP = 'INSERT' AND NEW.stock IS NULL THEN
        NEW.stock := NEW.initial_stock;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.prize_pool_check() IS 'Trigger: odds between 0 and 1; a new pool''s stock starts at its initial stock';

CREATE TRIGGER prize_pool_check BEFORE INSERT OR UPDATE ON @extschema@.prize_pool
    FOR EACH ROW EXECUTE FUNCTION @extschema@.prize_pool_check();

CREATE FUNCTION @extschema@.draw(campaign text, customer_key text, document text,
                                 source text DEFAULT 'pos', at timestamptz DEFAULT NULL)
RETURNS TABLE (won boolean, level integer, prize text, prize_code @extschema@.code, value numeric,
               replayed boolean)
AS 'MODULE_PATHNAME', 'campaign_draw'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.draw(text, text, text, text, timestamptz) IS
'A lucky draw for a document: one strong random number against the pools'' odds; a win takes stock (never below zero), the daily cap and the budget in this transaction and gets a prize code; a retry returns the first result';

-- Points races ---------------------------------------------------------------

CREATE TABLE @extschema@.points_race (
    race_id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    campaign_id     bigint NOT NULL REFERENCES @extschema@.campaign,
    name            text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    top_n           integer NOT NULL CHECK (top_n > 0),
    tie_rule        text NOT NULL DEFAULT 'earliest' CHECK (tie_rule IN ('earliest', 'shared')),
    prizes          @extschema@.points[] NOT NULL,
    awarded_at      timestamptz,
    CONSTRAINT points_race_dates CHECK (starts_at < ends_at),
    CONSTRAINT points_race_prizes CHECK (cardinality(prizes) >= 1)
);
COMMENT ON TABLE @extschema@.points_race IS
'A points race (H7): who earns most between starts_at and ends_at; the top N get bonus points when it ends';
COMMENT ON COLUMN @extschema@.points_race.tie_rule IS 'earliest: equal points rank by who reached them first; shared: equal points share a rank (all of them win)';
COMMENT ON COLUMN @extschema@.points_race.prizes IS 'Bonus points by rank (prizes[1] for rank 1); ranks past the array get its last element';

CREATE FUNCTION @extschema@.race_leaderboard(race bigint)
RETURNS TABLE (rank bigint, member_id bigint, customer_key text, points numeric, reached_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH r AS (
        SELECT pr.*, c.program_id FROM @extschema@.points_race pr
          JOIN @extschema@.campaign c ON c.campaign_id = pr.campaign_id WHERE pr.race_id = $1),
    s AS (
        SELECT l.member_id, sum(l.amount::numeric) AS pts, max(l.created_at) AS reached
          FROM @extschema@.ledger l, r
         WHERE l.program_id = r.program_id AND l.kind = 'earn'
           AND l.created_at >= r.starts_at AND l.created_at < r.ends_at
         GROUP BY l.member_id
        HAVING sum(l.amount::numeric) > 0)
    SELECT CASE WHEN r.tie_rule = 'shared' THEN rank() OVER (ORDER BY s.pts DESC)
                ELSE row_number() OVER (ORDER BY s.pts DESC, s.reached, s.member_id) END,
           s.member_id, m.customer_key, s.pts, s.reached
      FROM s CROSS JOIN r JOIN @extschema@.member m ON m.member_id = s.member_id
     ORDER BY 1, s.reached, s.member_id
$$;
COMMENT ON FUNCTION @extschema@.race_leaderboard(bigint) IS
'Live leaderboard of a points race from the ledger: earn entries in the race window, ranked by its tie rule';

CREATE FUNCTION @extschema@.post_bonus(member_id bigint, program_id bigint, amount @extschema@.points,
                                       source text, document text, campaign_id bigint DEFAULT NULL,
                                       note text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'campaign_post_bonus'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.post_bonus(bigint, bigint, @extschema@.points, text, text, bigint, text) IS
'Credits bonus points (ledger kind bonus, a lot, the balance) once per (member, source, document); false when it was posted before';

CREATE FUNCTION @extschema@.award_race(race bigint, at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    w record;
    n integer := 0;
BEGIN
    SELECT pr.*, c.program_id INTO r FROM @extschema@.points_race pr
      JOIN @extschema@.campaign c ON c.campaign_id = pr.campaign_id
     WHERE pr.race_id = race FOR UPDATE OF pr;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'points race % does not exist', race USING ERRCODE = 'LC003';
    END IF;
    IF at < r.ends_at THEN
        RAISE EXCEPTION 'points race "%" has not ended', r.name USING ERRCODE = 'LC005',
            DETAIL = format('It ends at %s.', r.ends_at);
    END IF;
    FOR w IN SELECT * FROM @extschema@.race_leaderboard(race) b WHERE b.rank <= r.top_n LOOP
        IF @extschema@.post_bonus(w.member_id, r.program_id,
                                  r.prizes[least(w.rank, cardinality(r.prizes))],
                                  'race', 'race-' || race, r.campaign_id,
                                  format('%s: rank %s', r.name, w.rank)) THEN
            n := n + 1;
        END IF;
    END LOOP;
    UPDATE @extschema@.points_race SET awarded_at = coalesce(awarded_at, at) WHERE race_id = race;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.award_race(bigint, timestamptz) IS
'Job: when a race has ended, gives its top N their bonus points (ledger kind bonus); running it again gives nothing twice; returns how many were paid now';

CREATE FUNCTION @extschema@.award_ended_races(at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(sum(@extschema@.award_race(race_id, $1)), 0)::integer
      FROM @extschema@.points_race WHERE awarded_at IS NULL AND ends_at <= $1
$$;
COMMENT ON FUNCTION @extschema@.award_ended_races(timestamptz) IS 'Job (pg_cron): awards every race that has ended and was not awarded yet';

-- Trying a campaign on history ---------------------------------------------------

CREATE FUNCTION @extschema@.simulate_campaign(code text, from_time timestamptz, to_time timestamptz,
    OUT orders bigint, OUT earning_orders bigint, OUT participants bigint,
    OUT points numeric, OUT points_wanted numeric, OUT refused_orders bigint,
    OUT cost numeric, OUT budget_use_percent numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'simulate_campaign'
LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.simulate_campaign(text, timestamptz, timestamptz) IS
'Runs a campaign''s own rules over the members'' past orders of a period and reports what it would have given, cost and budget use; writes nothing';

-- Cost and invariants -------------------------------------------------------------

CREATE VIEW @extschema@.campaign_cost AS
SELECT c.campaign_id, c.code, c.name, c.status,
       coalesce(b.taken, 0) AS points_given,
       coalesce(bo.bonus, 0) AS bonus_points,
       round((coalesce(b.taken, 0) + coalesce(bo.bonus, 0)) * p.point_value, 2) AS points_cost,
       coalesce(d.discounts, 0) AS discounts,
       coalesce(z.prizes, 0) AS prizes,
       round((coalesce(b.taken, 0) + coalesce(bo.bonus, 0)) * p.point_value, 2)
         + coalesce(d.discounts, 0) + coalesce(z.prizes, 0) AS total_cost,
       c.budget_money,
       CASE WHEN c.budget_money > 0 THEN round(100 * coalesce(b.money, 0) / 100.0 / c.budget_money, 2) END
         AS budget_used_percent
  FROM @extschema@.campaign c
  JOIN @extschema@.program p ON p.program_id = c.program_id
  LEFT JOIN (SELECT s.campaign_id, sum(s.taken_points::numeric) AS taken, sum(s.taken_money) AS money
               FROM @extschema@.campaign_budget_slot s WHERE s.day = '-infinity' GROUP BY 1) b
         ON b.campaign_id = c.campaign_id
  LEFT JOIN (SELECT l.campaign_id, sum(l.amount::numeric) AS bonus FROM @extschema@.ledger l
              WHERE l.kind = 'bonus' AND l.campaign_id IS NOT NULL GROUP BY 1) bo ON bo.campaign_id = c.campaign_id
  LEFT JOIN (SELECT dp.campaign_id, sum(o.amount) AS discounts FROM @extschema@.order_discount o
               JOIN @extschema@.discount_policy dp ON dp.policy_id = o.policy_id
              WHERE dp.campaign_id IS NOT NULL GROUP BY 1) d ON d.campaign_id = c.campaign_id
  LEFT JOIN (SELECT g.campaign_id, sum(g.value) AS prizes FROM @extschema@.draw_log g WHERE g.won GROUP BY 1) z
         ON z.campaign_id = c.campaign_id;
COMMENT ON VIEW @extschema@.campaign_cost IS 'What each campaign cost: points given by its rules and races at the point value, discounts of its policies, prizes won (H5, K3)';
COMMENT ON COLUMN @extschema@.campaign_cost.points_given IS 'Points reserved from the budget by the campaign''s rules';
COMMENT ON COLUMN @extschema@.campaign_cost.bonus_points IS 'Bonus points of its races';
COMMENT ON COLUMN @extschema@.campaign_cost.points_cost IS 'All those points at the program''s point value';
COMMENT ON COLUMN @extschema@.campaign_cost.discounts IS 'Money given by its discount policies';
COMMENT ON COLUMN @extschema@.campaign_cost.prizes IS 'Value of the prizes won in its draws';
COMMENT ON COLUMN @extschema@.campaign_cost.total_cost IS 'points_cost + discounts + prizes';
COMMENT ON COLUMN @extschema@.campaign_cost.budget_used_percent IS 'Money reserved against budget_money, in percent';

CREATE FUNCTION @extschema@.check_campaigns()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'campaign budget not overspent', NULL::bigint,
           format('campaign %s: budget %s points %s money, taken %s points %s money', c.code,
                  c.budget_points, c.budget_money, s.p, s.m / 100.0)
      FROM @extschema@.campaign c
      JOIN (SELECT campaign_id, sum(taken_points::numeric) AS p, sum(taken_money) AS m
              FROM @extschema@.campaign_budget_slot WHERE day = '-infinity' GROUP BY 1) s USING (campaign_id)
     WHERE s.p > c.budget_points::numeric OR s.m > round(c.budget_money * 100)
    UNION ALL
    SELECT 'campaign daily cap not overspent', NULL, format('campaign %s day %s: cap %s, taken %s',
           c.code, s.day, c.daily_budget_points, s.p)
      FROM @extschema@.campaign c
      JOIN (SELECT campaign_id, day, sum(taken_points::numeric) AS p
              FROM @extschema@.campaign_budget_slot WHERE day <> '-infinity' GROUP BY 1, 2) s USING (campaign_id)
     WHERE s.p > c.daily_budget_points::numeric
    UNION ALL
    SELECT 'budget slots not negative', NULL, format('campaign %s slot %s day %s', s.campaign_id, s.slot, s.day)
      FROM @extschema@.campaign_budget_slot s
     WHERE s.remaining_points::numeric < 0 OR s.remaining_money < 0
    UNION ALL
    SELECT 'prize stock never negative and adds up', NULL,
           format('pool %s: initial %s, stock %s, awarded %s', p.pool_id, p.initial_stock, p.stock, p.awarded)
      FROM @extschema@.prize_pool p
     WHERE p.stock < 0 OR p.stock + p.awarded <> p.initial_stock
    UNION ALL
    SELECT 'prizes won match the pool', NULL, format('pool %s: awarded %s, draws won %s', p.pool_id, p.awarded, coalesce(w.n, 0))
      FROM @extschema@.prize_pool p
      LEFT JOIN (SELECT g.pool_id, count(*) AS n FROM @extschema@.draw_log g WHERE g.won GROUP BY 1) w
        ON w.pool_id = p.pool_id
     WHERE p.awarded <> coalesce(w.n, 0)
    UNION ALL
    SELECT 'daily prize caps kept', NULL, format('pool %s day %s: won %s, cap %s', p.pool_id, d.day, d.won, p.daily_cap)
      FROM @extschema@.prize_daily d JOIN @extschema@.prize_pool p USING (pool_id)
     WHERE d.won > p.daily_cap
$$;
COMMENT ON FUNCTION @extschema@.check_campaigns() IS
'Every violated campaign invariant (empty when all is well): budgets and daily caps not overspent, prize stock never negative and matching the draws won';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.prize_pool', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.prize_pool_pool_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.prize_phase', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.prize_daily', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.draw_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.points_race', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.points_race_race_id_seq', '');
-- Report views for BI tools (K1, K5, I6) and the points liability.
--
-- Heavy reports read materialized views (loyalty.*_mv) that the job
-- loyalty.refresh_reports() rebuilds with REFRESH MATERIALIZED VIEW
-- CONCURRENTLY: orders never wait on a summary row, readers never wait on a
-- refresh.  Everything here only reads, so it works on a hot standby.
-- Report views expose standard SQL types only (bigint, numeric, text, date,
-- timestamptz, boolean).  Materialized views keep NULL dimensions as '' / 0
-- (so their unique keys have no NULLs and a concurrent refresh can match
-- rows); the report views turn them back into NULL.

-- Refresh bookkeeping ---------------------------------------------------------

CREATE TABLE @extschema@.report_refresh (
    name            text PRIMARY KEY,
    refreshed_at    timestamptz NOT NULL,
    took_ms         bigint NOT NULL,
    row_count       bigint NOT NULL
);
COMMENT ON TABLE @extschema@.report_refresh IS
'When refresh_reports() last rebuilt each materialized view of the reports; not dumped by pg_dump, because a restored database must refresh its reports again';
COMMENT ON COLUMN @extschema@.report_refresh.name IS 'The materialized view (without schema)';
COMMENT ON COLUMN @extschema@.report_refresh.refreshed_at IS 'When its last refresh started: it holds every entry committed before this time';
COMMENT ON COLUMN @extschema@.report_refresh.took_ms IS 'How long the refresh took, in milliseconds';
COMMENT ON COLUMN @extschema@.report_refresh.row_count IS 'Rows in the materialized view after the refresh';

-- K1: points per day ---------------------------------------------------------

CREATE MATERIALIZED VIEW @extschema@.points_daily_mv AS
SELECT (l.created_at AT TIME ZONE p.time_zone)::date AS day,
       l.program_id,
       coalesce(l.branch, '') AS branch,
       coalesce(l.campaign_id, r.campaign_id, 0) AS campaign_id,
       coalesce(l.rule_id, 0) AS rule_id,
       count(*) FILTER (WHERE l.kind = 'earn') AS earned_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'earn'), 0) AS earned_points,
       count(*) FILTER (WHERE l.kind = 'redeem') AS spent_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'redeem'), 0) AS spent_points,
       count(*) FILTER (WHERE l.kind = 'expire') AS expired_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'expire'), 0) AS expired_points,
       count(*) FILTER (WHERE l.kind = 'reverse') AS reversed_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'reverse'), 0) AS reversed_points,
       count(*) FILTER (WHERE l.kind = 'adjust') AS adjusted_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'adjust'), 0) AS adjusted_points,
       count(*) FILTER (WHERE l.kind = 'bonus') AS bonus_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'bonus'), 0) AS bonus_points,
       count(*) FILTER (WHERE l.kind = 'restore') AS restored_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'restore'), 0) AS restored_points,
       count(*) FILTER (WHERE l.kind = 'reward') AS rewarded_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'reward'), 0) AS rewarded_points,
       count(*) AS entries,
       sum(l.amount::numeric) AS net_points
  FROM @extschema@.ledger l
  JOIN @extschema@.program p ON p.program_id = l.program_id
  LEFT JOIN @extschema@.rule r ON r.rule_id = l.rule_id
 GROUP BY 1, 2, 3, 4, 5;
CREATE UNIQUE INDEX points_daily_mv_key ON @extschema@.points_daily_mv (program_id, day, branch, campaign_id, rule_id);
CREATE INDEX points_daily_mv_campaign_idx ON @extschema@.points_daily_mv ((nullif(campaign_id, 0)), day);
CREATE INDEX points_daily_mv_day_idx ON @extschema@.points_daily_mv (day);
COMMENT ON MATERIALIZED VIEW @extschema@.points_daily_mv IS
'Summary of the ledger per local day, program, branch, campaign and rule (NULLs stored as '''' and 0); rebuilt by refresh_reports(); read it through report_points_daily';

CREATE VIEW @extschema@.report_points_daily AS
SELECT s.day,
       p.code AS program_code,
       p.currency,
       nullif(s.branch, '') AS branch,
       nullif(s.campaign_id, 0) AS campaign_id,
       nullif(s.rule_id, 0) AS rule_id,
       s.earned_entries, s.earned_points, s.earned_points * p.point_value AS earned_value,
       s.spent_entries, s.spent_points, s.spent_points * p.point_value AS spent_value,
       s.expired_entries, s.expired_points, s.expired_points * p.point_value AS expired_value,
       s.reversed_entries, s.reversed_points, s.reversed_points * p.point_value AS reversed_value,
       s.adjusted_entries, s.adjusted_points, s.adjusted_points * p.point_value AS adjusted_value,
       s.bonus_entries, s.bonus_points, s.bonus_points * p.point_value AS bonus_value,
       s.restored_entries, s.restored_points, s.restored_points * p.point_value AS restored_value,
       s.rewarded_entries, s.rewarded_points, s.rewarded_points * p.point_value AS rewarded_value,
       s.entries, s.net_points, s.net_points * p.point_value AS net_value
  FROM @extschema@.points_daily_mv s
  JOIN @extschema@.program p ON p.program_id = s.program_id;
COMMENT ON VIEW @extschema@.report_points_daily IS
'K1: points earned, spent, expired, reversed, adjusted, bonus (and restored, rewarded) per local day, program, branch, campaign and rule, as entries, points and money. Freshness: as of the last refresh_reports() (see report_freshness); money at the program''s current point value';
COMMENT ON COLUMN @extschema@.report_points_daily.day IS 'Day the ledger entries were written (created_at), in the program''s time zone';
COMMENT ON COLUMN @extschema@.report_points_daily.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_points_daily.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_points_daily.branch IS 'Branch recorded on the entries (NULL: none)';
COMMENT ON COLUMN @extschema@.report_points_daily.campaign_id IS 'Campaign recorded on the entries, else the campaign of their rule (NULL: none)';
COMMENT ON COLUMN @extschema@.report_points_daily.rule_id IS 'Rule recorded on the entries (NULL: none, e.g. returns and corrections)';
COMMENT ON COLUMN @extschema@.report_points_daily.earned_entries IS 'Ledger entries of kind earn';
COMMENT ON COLUMN @extschema@.report_points_daily.earned_points IS 'Points earned by orders (sum of earn entries)';
COMMENT ON COLUMN @extschema@.report_points_daily.earned_value IS 'earned_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.spent_entries IS 'Ledger entries of kind redeem';
COMMENT ON COLUMN @extschema@.report_points_daily.spent_points IS 'Points spent (sum of redeem entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily.spent_value IS 'spent_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.expired_entries IS 'Ledger entries of kind expire';
COMMENT ON COLUMN @extschema@.report_points_daily.expired_points IS 'Points expired (sum of expire entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily.expired_value IS 'expired_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.reversed_entries IS 'Ledger entries of kind reverse (returns, cancellations)';
COMMENT ON COLUMN @extschema@.report_points_daily.reversed_points IS 'Points taken back (sum of reverse entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily.reversed_value IS 'reversed_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.adjusted_entries IS 'Ledger entries of kind adjust (manual corrections)';
COMMENT ON COLUMN @extschema@.report_points_daily.adjusted_points IS 'Net points of corrections (sum of adjust entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily.adjusted_value IS 'adjusted_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.bonus_entries IS 'Ledger entries of kind bonus';
COMMENT ON COLUMN @extschema@.report_points_daily.bonus_points IS 'Bonus points (sum of bonus entries)';
COMMENT ON COLUMN @extschema@.report_points_daily.bonus_value IS 'bonus_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.restored_entries IS 'Ledger entries of kind restore (spent points given back)';
COMMENT ON COLUMN @extschema@.report_points_daily.restored_points IS 'Points restored (sum of restore entries)';
COMMENT ON COLUMN @extschema@.report_points_daily.restored_value IS 'restored_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.rewarded_entries IS 'Ledger entries of kind reward';
COMMENT ON COLUMN @extschema@.report_points_daily.rewarded_points IS 'Points of rewards (sum of reward entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily.rewarded_value IS 'rewarded_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.entries IS 'All ledger entries of the row';
COMMENT ON COLUMN @extschema@.report_points_daily.net_points IS 'Sum of all entries: the change of the members'' balances';
COMMENT ON COLUMN @extschema@.report_points_daily.net_value IS 'net_points times the point value';

-- The same per program, day and campaign: daily series and campaign summaries
-- read a few hundred rows instead of every branch and rule.
CREATE MATERIALIZED VIEW @extschema@.points_daily_rollup_mv AS
SELECT s.program_id, s.day, s.campaign_id,
       sum(s.earned_entries)::bigint AS earned_entries, sum(s.earned_points) AS earned_points,
       sum(s.spent_entries)::bigint AS spent_entries, sum(s.spent_points) AS spent_points,
       sum(s.expired_entries)::bigint AS expired_entries, sum(s.expired_points) AS expired_points,
       sum(s.reversed_entries)::bigint AS reversed_entries, sum(s.reversed_points) AS reversed_points,
       sum(s.adjusted_entries)::bigint AS adjusted_entries, sum(s.adjusted_points) AS adjusted_points,
       sum(s.bonus_entries)::bigint AS bonus_entries, sum(s.bonus_points) AS bonus_points,
       sum(s.restored_entries)::bigint AS restored_entries, sum(s.restored_points) AS restored_points,
       sum(s.rewarded_entries)::bigint AS rewarded_entries, sum(s.rewarded_points) AS rewarded_points,
       sum(s.entries)::bigint AS entries, sum(s.net_points) AS net_points
  FROM @extschema@.points_daily_mv s
 GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX points_daily_rollup_mv_key ON @extschema@.points_daily_rollup_mv (program_id, day, campaign_id);
CREATE INDEX points_daily_rollup_mv_campaign_idx ON @extschema@.points_daily_rollup_mv (campaign_id, day) WHERE campaign_id <> 0;
COMMENT ON MATERIALIZED VIEW @extschema@.points_daily_rollup_mv IS
'points_daily_mv summed per program, local day and campaign (none stored as 0); rebuilt by refresh_reports() right after points_daily_mv; read it through report_points_daily_total and report_points_daily_campaign';

CREATE VIEW @extschema@.report_points_daily_total AS
SELECT s.day,
       p.code AS program_code,
       p.currency,
       sum(s.earned_entries)::bigint AS earned_entries, sum(s.earned_points) AS earned_points,
       sum(s.earned_points) * p.point_value AS earned_value,
       sum(s.spent_entries)::bigint AS spent_entries, sum(s.spent_points) AS spent_points,
       sum(s.spent_points) * p.point_value AS spent_value,
       sum(s.expired_entries)::bigint AS expired_entries, sum(s.expired_points) AS expired_points,
       sum(s.expired_points) * p.point_value AS expired_value,
       sum(s.reversed_entries)::bigint AS reversed_entries, sum(s.reversed_points) AS reversed_points,
       sum(s.reversed_points) * p.point_value AS reversed_value,
       sum(s.adjusted_entries)::bigint AS adjusted_entries, sum(s.adjusted_points) AS adjusted_points,
       sum(s.adjusted_points) * p.point_value AS adjusted_value,
       sum(s.bonus_entries)::bigint AS bonus_entries, sum(s.bonus_points) AS bonus_points,
       sum(s.bonus_points) * p.point_value AS bonus_value,
       sum(s.restored_entries)::bigint AS restored_entries, sum(s.restored_points) AS restored_points,
       sum(s.restored_points) * p.point_value AS restored_value,
       sum(s.rewarded_entries)::bigint AS rewarded_entries, sum(s.rewarded_points) AS rewarded_points,
       sum(s.rewarded_points) * p.point_value AS rewarded_value,
       sum(s.entries)::bigint AS entries, sum(s.net_points) AS net_points,
       sum(s.net_points) * p.point_value AS net_value
  FROM @extschema@.points_daily_rollup_mv s
  JOIN @extschema@.program p ON p.program_id = s.program_id
 GROUP BY p.program_id, p.code, p.currency, p.point_value, s.day;
COMMENT ON VIEW @extschema@.report_points_daily_total IS
'K1: report_points_daily summed per program and local day (all branches, campaigns and rules): the fast daily series. Freshness: as of the last refresh_reports() (see report_freshness); money at the program''s current point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.day IS 'Day the ledger entries were written (created_at), in the program''s time zone';
COMMENT ON COLUMN @extschema@.report_points_daily_total.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_points_daily_total.earned_entries IS 'Ledger entries of kind earn';
COMMENT ON COLUMN @extschema@.report_points_daily_total.earned_points IS 'Points earned by orders (sum of earn entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.earned_value IS 'earned_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.spent_entries IS 'Ledger entries of kind redeem';
COMMENT ON COLUMN @extschema@.report_points_daily_total.spent_points IS 'Points spent (sum of redeem entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.spent_value IS 'spent_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.expired_entries IS 'Ledger entries of kind expire';
COMMENT ON COLUMN @extschema@.report_points_daily_total.expired_points IS 'Points expired (sum of expire entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.expired_value IS 'expired_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.reversed_entries IS 'Ledger entries of kind reverse (returns, cancellations)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.reversed_points IS 'Points taken back (sum of reverse entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.reversed_value IS 'reversed_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.adjusted_entries IS 'Ledger entries of kind adjust (manual corrections)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.adjusted_points IS 'Net points of corrections (sum of adjust entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.adjusted_value IS 'adjusted_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.bonus_entries IS 'Ledger entries of kind bonus';
COMMENT ON COLUMN @extschema@.report_points_daily_total.bonus_points IS 'Bonus points (sum of bonus entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.bonus_value IS 'bonus_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.restored_entries IS 'Ledger entries of kind restore (spent points given back)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.restored_points IS 'Points restored (sum of restore entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.restored_value IS 'restored_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.rewarded_entries IS 'Ledger entries of kind reward';
COMMENT ON COLUMN @extschema@.report_points_daily_total.rewarded_points IS 'Points of rewards (sum of reward entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.rewarded_value IS 'rewarded_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.entries IS 'All ledger entries of the row';
COMMENT ON COLUMN @extschema@.report_points_daily_total.net_points IS 'Sum of all entries: the change of the members'' balances';
COMMENT ON COLUMN @extschema@.report_points_daily_total.net_value IS 'net_points times the point value';

CREATE VIEW @extschema@.report_points_daily_campaign AS
SELECT s.day,
       p.code AS program_code,
       p.currency,
       s.campaign_id,
       s.earned_entries, s.earned_points, s.earned_points * p.point_value AS earned_value,
       s.spent_entries, s.spent_points, s.spent_points * p.point_value AS spent_value,
       s.expired_entries, s.expired_points, s.expired_points * p.point_value AS expired_value,
       s.reversed_entries, s.reversed_points, s.reversed_points * p.point_value AS reversed_value,
       s.adjusted_entries, s.adjusted_points, s.adjusted_points * p.point_value AS adjusted_value,
       s.bonus_entries, s.bonus_points, s.bonus_points * p.point_value AS bonus_value,
       s.restored_entries, s.restored_points, s.restored_points * p.point_value AS restored_value,
       s.rewarded_entries, s.rewarded_points, s.rewarded_points * p.point_value AS rewarded_value,
       s.entries, s.net_points, s.net_points * p.point_value AS net_value
  FROM @extschema@.points_daily_rollup_mv s
  JOIN @extschema@.program p ON p.program_id = s.program_id
 WHERE s.campaign_id <> 0;
COMMENT ON VIEW @extschema@.report_points_daily_campaign IS
'K1/K3: report_points_daily summed per campaign, program and local day (entries with a campaign only): the fast campaign summary. Freshness: as of the last refresh_reports() (see report_freshness); money at the program''s current point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.day IS 'Day the ledger entries were written (created_at), in the program''s time zone';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.campaign_id IS 'Campaign recorded on the entries, else the campaign of their rule';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.earned_entries IS 'Ledger entries of kind earn';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.earned_points IS 'Points earned by orders (sum of earn entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.earned_value IS 'earned_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.spent_entries IS 'Ledger entries of kind redeem';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.spent_points IS 'Points spent (sum of redeem entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.spent_value IS 'spent_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.expired_entries IS 'Ledger entries of kind expire';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.expired_points IS 'Points expired (sum of expire entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.expired_value IS 'expired_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.reversed_entries IS 'Ledger entries of kind reverse (returns, cancellations)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.reversed_points IS 'Points taken back (sum of reverse entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.reversed_value IS 'reversed_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.adjusted_entries IS 'Ledger entries of kind adjust (manual corrections)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.adjusted_points IS 'Net points of corrections (sum of adjust entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.adjusted_value IS 'adjusted_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.bonus_entries IS 'Ledger entries of kind bonus';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.bonus_points IS 'Bonus points (sum of bonus entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.bonus_value IS 'bonus_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.restored_entries IS 'Ledger entries of kind restore (spent points given back)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.restored_points IS 'Points restored (sum of restore entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.restored_value IS 'restored_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.rewarded_entries IS 'Ledger entries of kind reward';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.rewarded_points IS 'Points of rewards (sum of reward entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.rewarded_value IS 'rewarded_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.entries IS 'All ledger entries of the row';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.net_points IS 'Sum of all entries: the change of the members'' balances';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.net_value IS 'net_points times the point value';

-- I6: branch activity ----------------------------------------------------------

CREATE MATERIALIZED VIEW @extschema@.branch_daily_mv AS
SELECT o.program_id,
       coalesce(o.branch, '') AS branch,
       (o.ordered_at AT TIME ZONE p.time_zone)::date AS day,
       count(*) FILTER (WHERE o.status <> 'cancelled') AS orders,
       count(*) FILTER (WHERE o.status = 'cancelled') AS cancelled_orders,
       count(DISTINCT o.member_id) FILTER (WHERE o.status <> 'cancelled') AS members,
       sum(o.amount) FILTER (WHERE o.status <> 'cancelled') AS gross_revenue,
       sum(o.returned_amount) FILTER (WHERE o.status <> 'cancelled') AS returned_amount,
       sum(o.points::numeric - o.reversed_points::numeric) AS points
  FROM @extschema@.member_order o
  JOIN @extschema@.program p ON p.program_id = o.program_id
 GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX branch_daily_mv_key ON @extschema@.branch_daily_mv (program_id, branch, day);
CREATE INDEX branch_daily_mv_day_idx ON @extschema@.branch_daily_mv (day);
COMMENT ON MATERIALIZED VIEW @extschema@.branch_daily_mv IS
'Summary of members'' orders per program, branch and local day (no branch stored as ''''); rebuilt by refresh_reports(); read it through report_branch_daily';

CREATE VIEW @extschema@.report_branch_daily AS
SELECT s.day,
       p.code AS program_code,
       p.currency,
       nullif(s.branch, '') AS branch,
       s.orders,
       s.cancelled_orders,
       s.members,
       coalesce(s.gross_revenue, 0) AS gross_revenue,
       coalesce(s.returned_amount, 0) AS returned_amount,
       coalesce(s.gross_revenue, 0) - coalesce(s.returned_amount, 0) AS revenue,
       s.points,
       s.points * p.point_value AS points_value
  FROM @extschema@.branch_daily_mv s
  JOIN @extschema@.program p ON p.program_id = s.program_id;
COMMENT ON VIEW @extschema@.report_branch_daily IS
'I6: members'' orders, distinct members, revenue and points per branch and local day of the order. Freshness: as of the last refresh_reports() (see report_freshness); returns count on the day of the order they return';
COMMENT ON COLUMN @extschema@.report_branch_daily.day IS 'Day the orders were placed (ordered_at), in the program''s time zone';
COMMENT ON COLUMN @extschema@.report_branch_daily.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_branch_daily.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_branch_daily.branch IS 'Branch of the orders (NULL: none given)';
COMMENT ON COLUMN @extschema@.report_branch_daily.orders IS 'Members'' orders placed, not counting cancelled ones (wholly returned orders count)';
COMMENT ON COLUMN @extschema@.report_branch_daily.cancelled_orders IS 'Members'' orders placed that day and cancelled since';
COMMENT ON COLUMN @extschema@.report_branch_daily.members IS 'Distinct members with a non-cancelled order';
COMMENT ON COLUMN @extschema@.report_branch_daily.gross_revenue IS 'Sum of the order totals (cancelled orders excluded)';
COMMENT ON COLUMN @extschema@.report_branch_daily.returned_amount IS 'Money returned so far on those orders';
COMMENT ON COLUMN @extschema@.report_branch_daily.revenue IS 'gross_revenue minus returned_amount';
COMMENT ON COLUMN @extschema@.report_branch_daily.points IS 'Points the orders earned minus the points returns and cancellations took back';
COMMENT ON COLUMN @extschema@.report_branch_daily.points_value IS 'points times the point value';

-- K5: loyal customers -----------------------------------------------------------

CREATE MATERIALIZED VIEW @extschema@.loyal_customers_mv AS
WITH m AS (
    SELECT o.member_id, o.program_id,
           count(*) AS orders,
           sum(o.amount - o.returned_amount) AS revenue,
           min(o.ordered_at) AS first_order_at,
           max(o.ordered_at) AS last_order_at
      FROM @extschema@.member_order o
     WHERE o.status <> 'cancelled'
     GROUP BY 1, 2
)
SELECT m.member_id, m.program_id, p.code AS program_code, k.customer_key, k.kind,
       m.orders, m.revenue, m.first_order_at, m.last_order_at,
       ntile(5) OVER (PARTITION BY m.program_id ORDER BY m.last_order_at, k.customer_key)::bigint AS r_score,
       ntile(5) OVER (PARTITION BY m.program_id ORDER BY m.orders, k.customer_key)::bigint AS f_score,
       ntile(5) OVER (PARTITION BY m.program_id ORDER BY m.revenue, k.customer_key)::bigint AS m_score,
       sum(m.revenue) OVER (PARTITION BY m.program_id) AS program_revenue,
       count(*) OVER (PARTITION BY m.program_id) AS program_customers,
       rank() OVER (PARTITION BY m.program_id ORDER BY m.revenue DESC) AS revenue_rank,
       row_number() OVER (PARTITION BY m.program_id ORDER BY m.revenue DESC, k.customer_key) AS revenue_row,
       sum(m.revenue) OVER (PARTITION BY m.program_id ORDER BY m.revenue DESC, k.customer_key
                            ROWS UNBOUNDED PRECEDING) AS revenue_upto
  FROM m
  JOIN @extschema@.member k ON k.member_id = m.member_id
  JOIN @extschema@.program p ON p.program_id = m.program_id;
CREATE UNIQUE INDEX loyal_customers_mv_key ON @extschema@.loyal_customers_mv (program_id, member_id);
CREATE INDEX loyal_customers_mv_row_idx ON @extschema@.loyal_customers_mv (program_id, revenue_row);
CREATE INDEX loyal_customers_mv_rank_idx ON @extschema@.loyal_customers_mv (program_code, revenue_rank);
CREATE INDEX loyal_customers_mv_customer_idx ON @extschema@.loyal_customers_mv (customer_key);
COMMENT ON MATERIALIZED VIEW @extschema@.loyal_customers_mv IS
'Per member with orders: orders, revenue, first and last order, RFM scores, revenue rank and the running revenue down the ranking; rebuilt by refresh_reports(); read it through report_loyal_customers';

CREATE VIEW @extschema@.report_loyal_customers AS
SELECT c.program_code,
       p.currency,
       c.customer_key,
       c.kind,
       c.orders,
       c.revenue,
       c.first_order_at,
       c.last_order_at,
       ((now() AT TIME ZONE p.time_zone)::date - (c.last_order_at AT TIME ZONE p.time_zone)::date)::bigint
           AS recency_days,
       c.orders AS frequency,
       c.revenue AS monetary,
       round(c.revenue / c.orders, 2) AS avg_order_value,
       c.r_score,
       c.f_score,
       c.m_score,
       c.r_score::text || c.f_score::text || c.m_score::text AS rfm,
       CASE WHEN c.program_revenue > 0 THEN round(c.revenue / c.program_revenue, 6) END AS revenue_share,
       c.revenue_rank,
       c.program_customers
  FROM @extschema@.loyal_customers_mv c
  JOIN @extschema@.program p ON p.program_id = c.program_id;
COMMENT ON VIEW @extschema@.report_loyal_customers IS
'K5: who the loyal customers are: per member who ordered, orders, revenue net of returns, first and last order, recency, frequency, monetary, RFM scores (1-5, 5 best), revenue share and rank. Freshness: as of the last refresh_reports() (see report_freshness), except recency_days, which counts to today';
COMMENT ON COLUMN @extschema@.report_loyal_customers.program_code IS 'The program (program.code at the last refresh)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_loyal_customers.customer_key IS 'The host system''s customer key';
COMMENT ON COLUMN @extschema@.report_loyal_customers.kind IS 'person or organisation';
COMMENT ON COLUMN @extschema@.report_loyal_customers.orders IS 'Orders placed, not counting cancelled ones (wholly returned orders count)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.revenue IS 'Sum of order totals minus the money returned (amount - returned_amount)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.first_order_at IS 'Time of the first non-cancelled order';
COMMENT ON COLUMN @extschema@.report_loyal_customers.last_order_at IS 'Time of the last non-cancelled order';
COMMENT ON COLUMN @extschema@.report_loyal_customers.recency_days IS 'Days from the last order to today, both in the program''s time zone (computed when read)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.frequency IS 'RFM frequency: the number of orders (same as orders)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.monetary IS 'RFM monetary: the revenue (same as revenue)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.avg_order_value IS 'revenue / orders, rounded to 2 decimals';
COMMENT ON COLUMN @extschema@.report_loyal_customers.r_score IS 'Recency score: ntile(5) of the program''s customers by last order, 5 = most recent (ties broken by customer_key)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.f_score IS 'Frequency score: ntile(5) by orders, 5 = most orders (ties broken by customer_key)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.m_score IS 'Monetary score: ntile(5) by revenue, 5 = most revenue (ties broken by customer_key)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.rfm IS 'The three scores as text, e.g. 555';
COMMENT ON COLUMN @extschema@.report_loyal_customers.revenue_share IS 'revenue / the program''s revenue, to 6 decimals (NULL when the program''s revenue is not positive)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.revenue_rank IS 'Rank by revenue within the program, 1 = most (equal revenue, equal rank)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.program_customers IS 'Customers with orders in the program';

CREATE VIEW @extschema@.report_top_customers_share AS
SELECT p.code AS program_code,
       p.currency,
       t.top_percent,
       k.revenue_row AS customers,
       f.program_customers AS all_customers,
       k.revenue_upto AS revenue,
       f.program_revenue AS total_revenue,
       CASE WHEN f.program_revenue > 0 THEN round(k.revenue_upto / f.program_revenue, 6) END AS revenue_share
  FROM @extschema@.program p
  JOIN @extschema@.loyal_customers_mv f ON f.program_id = p.program_id AND f.revenue_row = 1
 CROSS JOIN (VALUES (1::numeric), (10::numeric), (20::numeric)) AS t(top_percent)
  JOIN @extschema@.loyal_customers_mv k ON k.program_id = p.program_id
   AND k.revenue_row = ceil(f.program_customers * t.top_percent / 100)::bigint;
COMMENT ON VIEW @extschema@.report_top_customers_share IS
'K5: the revenue share of the top 1%, 10% and 20% of a program''s customers by revenue (top N = ceil(customers * percent / 100)). Freshness: as of the last refresh_reports() (see report_freshness)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_top_customers_share.top_percent IS 'The top share of customers: 1, 10 or 20 (percent)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.customers IS 'Customers in the top: ceil(all_customers * top_percent / 100)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.all_customers IS 'Customers with orders in the program';
COMMENT ON COLUMN @extschema@.report_top_customers_share.revenue IS 'Revenue of the top customers (ties at the edge broken by customer_key)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.total_revenue IS 'Revenue of all customers of the program';
COMMENT ON COLUMN @extschema@.report_top_customers_share.revenue_share IS 'revenue / total_revenue, to 6 decimals (NULL when total_revenue is not positive)';

-- Liability: points owed to customers ----------------------------------------------

CREATE FUNCTION @extschema@.liability_bucket(expires_at timestamptz, as_of timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
             WHEN $1 IS NULL THEN 'never'
             WHEN $1 <= $2 THEN 'overdue'
             WHEN $1 <= $2 + interval '30 days' THEN 'next_30_days'
             WHEN $1 <= $2 + interval '60 days' THEN 'next_60_days'
             WHEN $1 <= $2 + interval '90 days' THEN 'next_90_days'
             ELSE 'later'
           END
$$;
COMMENT ON FUNCTION @extschema@.liability_bucket(timestamptz, timestamptz) IS
'Expiry bucket of points expiring at a time, seen from as_of: overdue (past expiry, not yet written off), next_30_days, next_60_days (31-60), next_90_days (61-90), later, never';

CREATE VIEW @extschema@.report_liability AS
WITH b(bucket_order, bucket) AS (
    VALUES (1::bigint, 'overdue'), (2, 'next_30_days'), (3, 'next_60_days'), (4, 'next_90_days'),
           (5, 'later'), (6, 'never')
), l AS (
    SELECT o.program_id, @extschema@.liability_bucket(o.expires_at, now()) AS bucket,
           count(DISTINCT o.member_id) AS members, count(*) AS lots, sum(o.remaining::numeric) AS points
      FROM @extschema@.lot o
     WHERE o.remaining OPERATOR(@extschema@.>) 0
     GROUP BY 1, 2
)
SELECT p.code AS program_code,
       p.currency,
       now() AS as_of,
       b.bucket_order,
       b.bucket,
       coalesce(l.members, 0) AS members,
       coalesce(l.lots, 0) AS lots,
       coalesce(l.points, 0) AS points,
       coalesce(l.points, 0) * p.point_value AS value
  FROM @extschema@.program p
 CROSS JOIN b
  LEFT JOIN l ON l.program_id = p.program_id AND l.bucket = b.bucket;
COMMENT ON VIEW @extschema@.report_liability IS
'Points owed to customers now (open lots) and their money value at the current point value, by expiry bucket. Freshness: live (reads loyalty.lot when queried; a scan of the open lots)';
COMMENT ON COLUMN @extschema@.report_liability.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_liability.currency IS 'Currency of value';
COMMENT ON COLUMN @extschema@.report_liability.as_of IS 'The time the buckets are measured from (now())';
COMMENT ON COLUMN @extschema@.report_liability.bucket_order IS 'Sort order of the buckets, 1 to 6';
COMMENT ON COLUMN @extschema@.report_liability.bucket IS 'overdue (past expiry, not yet written off by the expiry job), next_30_days, next_60_days (31-60), next_90_days (61-90), later, never';
COMMENT ON COLUMN @extschema@.report_liability.members IS 'Members with open lots in the bucket';
COMMENT ON COLUMN @extschema@.report_liability.lots IS 'Open lots in the bucket';
COMMENT ON COLUMN @extschema@.report_liability.points IS 'Points left in those lots';
COMMENT ON COLUMN @extschema@.report_liability.value IS 'points times the program''s point value';

CREATE FUNCTION @extschema@.liability_as_of(as_of timestamptz)
RETURNS TABLE (program_code text, currency text, bucket_order bigint, bucket text,
               members bigint, points numeric, value numeric)
LANGUAGE sql STABLE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH e AS (
        SELECT l.member_id, l.program_id, l.entry_id, l.amount::numeric AS amount, l.expires_at
          FROM @extschema@.ledger l
         WHERE l.created_at <= $1
    ), bal AS (
        SELECT e.member_id, e.program_id, sum(e.amount) AS balance
          FROM e GROUP BY 1, 2 HAVING sum(e.amount) > 0
    ), credit AS (
        SELECT e.member_id, e.program_id, e.amount, e.expires_at, bal.balance,
               sum(e.amount) OVER (PARTITION BY e.member_id, e.program_id
                                   ORDER BY e.expires_at DESC NULLS FIRST, e.entry_id DESC) AS upto
          FROM e JOIN bal ON bal.member_id = e.member_id AND bal.program_id = e.program_id
         WHERE e.amount > 0
    ), alloc AS (
        SELECT c.program_id, c.member_id,
               @extschema@.liability_bucket(c.expires_at, $1) AS bucket,
               least(c.amount, greatest(c.balance - (c.upto - c.amount), 0)) AS points
          FROM credit c
    ), l AS (
        SELECT a.program_id, a.bucket, count(DISTINCT a.member_id) AS members, sum(a.points) AS points
          FROM alloc a WHERE a.points > 0 GROUP BY 1, 2
    ), b(bucket_order, bucket) AS (
        VALUES (1::bigint, 'overdue'), (2, 'next_30_days'), (3, 'next_60_days'), (4, 'next_90_days'),
               (5, 'later'), (6, 'never')
    )
    SELECT p.code, p.currency, b.bucket_order, b.bucket,
           coalesce(l.members, 0), coalesce(l.points, 0), coalesce(l.points, 0) * p.point_value
      FROM @extschema@.program p
     CROSS JOIN b
      LEFT JOIN l ON l.program_id = p.program_id AND l.bucket = b.bucket
     ORDER BY p.code, b.bucket_order
$$;
COMMENT ON FUNCTION @extschema@.liability_as_of(timestamptz) IS
'Points owed to customers at a past time, from the ledger (entries created up to as_of), by expiry bucket seen from as_of. Exact: the total per program (sum of the members'' positive balances at as_of) and its value at the current point value. Approximate: the split into buckets, which assumes debits took the soonest-expiring credits first (returns really take first from the order they return) and counts points past expiry not yet written off by an expire entry as overdue. Freshness: live; a scan of the ledger up to as_of';
REVOKE ALL ON FUNCTION @extschema@.liability_as_of(timestamptz) FROM PUBLIC;

-- Refresh job and freshness ------------------------------------------------------

CREATE FUNCTION @extschema@.refresh_reports()
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_mv record;
    v_start timestamptz;
    v_rows bigint;
BEGIN
    -- 1280268620 = 'LOYL', 80 = this file: one refresh at a time, released at commit or error
    IF NOT pg_try_advisory_xact_lock(1280268620, 80) THEN
        RAISE NOTICE 'loyalty reports are being refreshed by another session; skipped';
        RETURN false;
    END IF;
    FOR v_mv IN
        SELECT c.oid, c.relname, c.relispopulated
          FROM pg_class c
         WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'm'
         ORDER BY (SELECT count(*) FROM pg_rewrite w
                     JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
                     JOIN pg_class x ON x.oid = d.refobjid AND x.relkind = 'm' AND x.oid <> c.oid
                    WHERE w.ev_class = c.oid), c.relname
    LOOP
        v_start := clock_timestamp();
        IF v_mv.relispopulated THEN
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', v_mv.oid::regclass);
        ELSE
            EXECUTE format('REFRESH MATERIALIZED VIEW %s', v_mv.oid::regclass);
        END IF;
        EXECUTE format('SELECT count(*) FROM %s', v_mv.oid::regclass) INTO v_rows;
        INSERT INTO @extschema@.report_refresh AS r (name, refreshed_at, took_ms, row_count)
        VALUES (v_mv.relname, v_start,
                (extract(epoch FROM clock_timestamp() - v_start) * 1000)::bigint, v_rows)
        ON CONFLICT (name) DO UPDATE
           SET refreshed_at = excluded.refreshed_at, took_ms = excluded.took_ms, row_count = excluded.row_count;
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_reports() IS
'Job: rebuilds every materialized view of the reports (those reading other materialized views after them; concurrently, so readers and orders never wait) and records the time in report_refresh; returns false and does nothing when another refresh is running. Schedule: SELECT cron.schedule(''pg_loyalty_refresh_reports'', ''*/15 * * * *'', ''SELECT loyalty.refresh_reports()'')';
REVOKE ALL ON FUNCTION @extschema@.refresh_reports() FROM PUBLIC;

CREATE VIEW @extschema@.report_freshness AS
SELECT c.relname::text AS name,
       CASE c.relname
         WHEN 'points_daily_mv' THEN 'report_points_daily'
         WHEN 'points_daily_rollup_mv' THEN 'report_points_daily_total, report_points_daily_campaign'
         WHEN 'branch_daily_mv' THEN 'report_branch_daily'
         WHEN 'loyal_customers_mv' THEN 'report_loyal_customers, report_top_customers_share'
       END AS reports,
       c.relispopulated AS populated,
       r.refreshed_at,
       extract(epoch FROM now() - r.refreshed_at)::bigint AS age_seconds,
       r.took_ms,
       r.row_count
  FROM pg_catalog.pg_class c
  LEFT JOIN @extschema@.report_refresh r ON r.name = c.relname
 WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'm';
COMMENT ON VIEW @extschema@.report_freshness IS
'How fresh each materialized report is: when refresh_reports() last rebuilt it, how long ago and how long it took. Freshness: live';
COMMENT ON COLUMN @extschema@.report_freshness.name IS 'The materialized view';
COMMENT ON COLUMN @extschema@.report_freshness.reports IS 'The report views that read it';
COMMENT ON COLUMN @extschema@.report_freshness.populated IS 'Whether it holds data (false: it must be refreshed before it can be read)';
COMMENT ON COLUMN @extschema@.report_freshness.refreshed_at IS 'When its last refresh started (NULL: never refreshed by refresh_reports(); it then holds the data of CREATE EXTENSION time)';
COMMENT ON COLUMN @extschema@.report_freshness.age_seconds IS 'Seconds since refreshed_at';
COMMENT ON COLUMN @extschema@.report_freshness.took_ms IS 'How long the last refresh took, in milliseconds';
COMMENT ON COLUMN @extschema@.report_freshness.row_count IS 'Rows after the last refresh';

-- Read-only access -------------------------------------------------------------

CREATE FUNCTION @extschema@.grant_reader(role name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rel regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = grant_reader.role) THEN
        RAISE EXCEPTION 'role "%" does not exist', grant_reader.role
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create it first: CREATE ROLE loyalty_reader;';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', grant_reader.role);
    FOR v_rel IN
        SELECT c.oid::regclass FROM pg_class c
         WHERE c.relnamespace = '@extschema@'::regnamespace
           AND (c.relkind = 'm' OR (c.relkind = 'v' AND c.relname LIKE 'report\_%'))
         ORDER BY c.relname
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO %I', v_rel, grant_reader.role);
    END LOOP;
    EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.liability_as_of(timestamptz) TO %I', grant_reader.role);
END
$$;
COMMENT ON FUNCTION @extschema@.grant_reader(name) IS
'Lets a role read the reports: USAGE on the schema, SELECT on every report_* view and materialized view, EXECUTE on liability_as_of(); no base table. Run it again after an upgrade adds reports';
REVOKE ALL ON FUNCTION @extschema@.grant_reader(name) FROM PUBLIC;

-- Invariants -------------------------------------------------------------------

CREATE FUNCTION @extschema@.check_reports()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'liability from the ledger equals the open lots', NULL::bigint,
           format('program %s: ledger %s, lots %s', coalesce(a.program_code, b.program_code),
                  coalesce(a.points, 0), coalesce(b.points, 0))
      FROM (SELECT x.program_code, sum(x.points) AS points
              FROM @extschema@.liability_as_of(now()) x GROUP BY 1) a
      FULL JOIN (SELECT y.program_code, sum(y.points) AS points
                   FROM @extschema@.report_liability y GROUP BY 1) b
        ON b.program_code = a.program_code
     WHERE coalesce(a.points, 0) <> coalesce(b.points, 0)
$$;
COMMENT ON FUNCTION @extschema@.check_reports() IS
'Report invariants (empty when all is well): the liability computed from the ledger equals the points left in open lots, per program';
-- Report views over campaigns, discount policies, vouchers, wallets, product
-- cards and tiers.  Standard types only; every view reads live tables (its
-- comment says so) and none of them writes, so they work on a hot standby.

CREATE INDEX ledger_campaign_idx ON @extschema@.ledger (campaign_id, kind)
    WHERE campaign_id IS NOT NULL;

CREATE VIEW @extschema@.report_campaigns AS
WITH issued AS (
    SELECT l.campaign_id, count(DISTINCT l.member_id) AS participants,
           count(*) FILTER (WHERE l.kind = 'earn') AS orders,
           sum(l.amount::numeric) FILTER (WHERE l.kind IN ('earn', 'bonus')) AS points_issued
      FROM @extschema@.ledger l
     WHERE l.campaign_id IS NOT NULL
     GROUP BY l.campaign_id),
revenue AS (
    SELECT l.campaign_id, sum(o.amount - o.returned_amount) AS revenue
      FROM @extschema@.ledger l
      JOIN @extschema@.member_order o ON o.member_id = l.member_id AND o.entry_id = l.entry_id
     WHERE l.campaign_id IS NOT NULL AND l.kind = 'earn'
     GROUP BY l.campaign_id),
redeemed AS (
    SELECT c.campaign_id, -sum(r.amount::numeric) AS points_redeemed
      FROM @extschema@.campaign c
      JOIN @extschema@.ledger r ON r.program_id = c.program_id AND r.kind = 'redeem'
       AND r.created_at >= c.starts_at AND r.created_at < c.ends_at
     WHERE r.member_id IN (SELECT p.member_id FROM @extschema@.ledger p WHERE p.campaign_id = c.campaign_id)
     GROUP BY c.campaign_id)
SELECT c.campaign_id, p.code AS program_code, c.code AS campaign_code, c.name, c.status,
       c.starts_at, c.ends_at,
       coalesce(i.participants, 0)::bigint AS participants,
       coalesce(i.orders, 0)::bigint AS orders,
       coalesce(v.revenue, 0)::numeric AS revenue,
       coalesce(i.points_issued, 0)::numeric AS points_issued,
       coalesce(d.points_redeemed, 0)::numeric AS points_redeemed_by_participants,
       coalesce(k.discounts, 0)::numeric AS discounts,
       coalesce(k.prizes, 0)::numeric AS prizes,
       coalesce(k.total_cost, 0)::numeric AS total_cost,
       c.budget_points::numeric AS budget_points,
       c.budget_money::numeric AS budget_money,
       k.budget_used_percent::numeric AS budget_used_percent,
       CASE WHEN coalesce(i.points_issued, 0) > 0
            THEN round(100 * coalesce(d.points_redeemed, 0) / i.points_issued, 2) END AS redemption_rate_percent
  FROM @extschema@.campaign c
  JOIN @extschema@.program p ON p.program_id = c.program_id
  LEFT JOIN issued i ON i.campaign_id = c.campaign_id
  LEFT JOIN revenue v ON v.campaign_id = c.campaign_id
  LEFT JOIN redeemed d ON d.campaign_id = c.campaign_id
  LEFT JOIN @extschema@.campaign_cost k ON k.campaign_id = c.campaign_id;
COMMENT ON VIEW @extschema@.report_campaigns IS
'Each campaign from start to end, one row each so several compare side by side (K3, H5): participants, orders, revenue, points issued and redeemed, discounts, prizes, cost against budget, redemption rate. Freshness: live (reads the ledger through an index on campaign_id)';
COMMENT ON COLUMN @extschema@.report_campaigns.campaign_id IS 'Campaign id';
COMMENT ON COLUMN @extschema@.report_campaigns.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_campaigns.campaign_code IS 'Campaign code';
COMMENT ON COLUMN @extschema@.report_campaigns.name IS 'Campaign name';
COMMENT ON COLUMN @extschema@.report_campaigns.status IS 'draft, scheduled, running, paused or ended';
COMMENT ON COLUMN @extschema@.report_campaigns.starts_at IS 'Start';
COMMENT ON COLUMN @extschema@.report_campaigns.ends_at IS 'End';
COMMENT ON COLUMN @extschema@.report_campaigns.participants IS 'Members who received the campaign''s points';
COMMENT ON COLUMN @extschema@.report_campaigns.orders IS 'Orders that earned the campaign''s points';
COMMENT ON COLUMN @extschema@.report_campaigns.revenue IS 'Revenue of those orders, net of returns';
COMMENT ON COLUMN @extschema@.report_campaigns.points_issued IS 'Points earned and bonus points given by the campaign';
COMMENT ON COLUMN @extschema@.report_campaigns.points_redeemed_by_participants IS 'Points participants spent during the campaign';
COMMENT ON COLUMN @extschema@.report_campaigns.discounts IS 'Discounts given by the campaign''s policies';
COMMENT ON COLUMN @extschema@.report_campaigns.prizes IS 'Value of prizes won';
COMMENT ON COLUMN @extschema@.report_campaigns.total_cost IS 'Points at point value plus discounts plus prizes';
COMMENT ON COLUMN @extschema@.report_campaigns.budget_points IS 'Points cap (NULL: none)';
COMMENT ON COLUMN @extschema@.report_campaigns.budget_money IS 'Money cap (NULL: none)';
COMMENT ON COLUMN @extschema@.report_campaigns.budget_used_percent IS 'Cost as a percent of the money cap';
COMMENT ON COLUMN @extschema@.report_campaigns.redemption_rate_percent IS 'Points redeemed by participants as a percent of points issued';

CREATE VIEW @extschema@.report_discount_policies AS
WITH bills AS (
    SELECT o.program_id, o.member_id, o.source, o.document, o.amount - o.returned_amount AS revenue
      FROM @extschema@.member_order o),
with_policy AS (
    SELECT d.policy_id, d.program_id, count(DISTINCT (d.member_id, d.source, d.document)) AS bills,
           sum(d.amount) AS cost
      FROM @extschema@.order_discount d GROUP BY d.policy_id, d.program_id),
policy_revenue AS (
    SELECT x.policy_id, sum(b.revenue) AS revenue
      FROM (SELECT DISTINCT d.policy_id, d.program_id, d.member_id, d.source, d.document
              FROM @extschema@.order_discount d) x
      JOIN bills b ON b.program_id = x.program_id AND b.member_id = x.member_id
       AND b.source = x.source AND b.document = x.document
     GROUP BY x.policy_id),
totals AS (
    SELECT b.program_id, count(*) AS bills, sum(b.revenue) AS revenue FROM bills b GROUP BY b.program_id)
SELECT p.policy_id, g.code AS program_code, p.name AS policy, p.kind, p.stacking,
       coalesce(w.bills, 0)::bigint AS bills_with,
       coalesce(r.revenue, 0)::numeric AS revenue_with,
       CASE WHEN coalesce(w.bills, 0) > 0 THEN round(r.revenue / w.bills, 2) END AS average_bill_with,
       (coalesce(t.bills, 0) - coalesce(w.bills, 0))::bigint AS bills_without,
       (coalesce(t.revenue, 0) - coalesce(r.revenue, 0))::numeric AS revenue_without,
       CASE WHEN coalesce(t.bills, 0) - coalesce(w.bills, 0) > 0
            THEN round((t.revenue - coalesce(r.revenue, 0)) / (t.bills - coalesce(w.bills, 0)), 2) END AS average_bill_without,
       coalesce(w.cost, 0)::numeric AS cost
  FROM @extschema@.discount_policy p
  JOIN @extschema@.program g ON g.program_id = p.program_id
  LEFT JOIN with_policy w ON w.policy_id = p.policy_id
  LEFT JOIN policy_revenue r ON r.policy_id = p.policy_id
  LEFT JOIN totals t ON t.program_id = p.program_id;
COMMENT ON VIEW @extschema@.report_discount_policies IS
'Discount policy effectiveness (K4, G4): members'' bills, revenue and average bill with and without each policy, and what the policy cost. Freshness: live';
COMMENT ON COLUMN @extschema@.report_discount_policies.policy_id IS 'Policy id';
COMMENT ON COLUMN @extschema@.report_discount_policies.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_discount_policies.policy IS 'Policy name';
COMMENT ON COLUMN @extschema@.report_discount_policies.kind IS 'percent or amount';
COMMENT ON COLUMN @extschema@.report_discount_policies.stacking IS 'exclusive or stackable';
COMMENT ON COLUMN @extschema@.report_discount_policies.bills_with IS 'Members'' bills the policy applied to';
COMMENT ON COLUMN @extschema@.report_discount_policies.revenue_with IS 'Their revenue, net of returns';
COMMENT ON COLUMN @extschema@.report_discount_policies.average_bill_with IS 'Average bill with the policy';
COMMENT ON COLUMN @extschema@.report_discount_policies.bills_without IS 'The program''s other member bills';
COMMENT ON COLUMN @extschema@.report_discount_policies.revenue_without IS 'Their revenue';
COMMENT ON COLUMN @extschema@.report_discount_policies.average_bill_without IS 'Average bill without the policy';
COMMENT ON COLUMN @extschema@.report_discount_policies.cost IS 'Discounts the policy gave';

CREATE VIEW @extschema@.report_vouchers AS
SELECT g.code AS program_code, t.code AS voucher_type, t.kind,
       count(v.voucher_id)::bigint AS issued,
       count(u.use_id)::bigint AS used,
       (count(v.voucher_id) - count(u.use_id))::bigint AS outstanding,
       count(v.voucher_id) FILTER (WHERE u.use_id IS NULL AND v.valid_to < now())::bigint AS expired_unused,
       coalesce(sum(u.amount), 0)::numeric AS amount_paid,
       coalesce(sum(u.forfeited), 0)::numeric AS amount_forfeited,
       (coalesce(t.invoice_value, t.face_value) * count(v.voucher_id))::numeric AS invoice_value_issued
  FROM @extschema@.voucher_type t
  JOIN @extschema@.program g ON g.program_id = t.program_id
  LEFT JOIN @extschema@.voucher v ON v.type_id = t.type_id
  LEFT JOIN @extschema@.voucher_use u ON u.voucher_id = v.voucher_id AND u.voided_at IS NULL
 GROUP BY g.code, t.code, t.kind, t.invoice_value, t.face_value;
COMMENT ON VIEW @extschema@.report_vouchers IS
'Vouchers, coupons and gift certificates by type (K2): issued, used, outstanding, amounts paid by them. Freshness: live';
COMMENT ON COLUMN @extschema@.report_vouchers.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_vouchers.voucher_type IS 'Voucher type code';
COMMENT ON COLUMN @extschema@.report_vouchers.kind IS 'voucher, coupon or gift_certificate';
COMMENT ON COLUMN @extschema@.report_vouchers.issued IS 'Codes issued';
COMMENT ON COLUMN @extschema@.report_vouchers.used IS 'Codes used (voided uses not counted)';
COMMENT ON COLUMN @extschema@.report_vouchers.outstanding IS 'Codes not used';
COMMENT ON COLUMN @extschema@.report_vouchers.expired_unused IS 'Codes past their validity and never used';
COMMENT ON COLUMN @extschema@.report_vouchers.amount_paid IS 'What the codes paid on bills';
COMMENT ON COLUMN @extschema@.report_vouchers.amount_forfeited IS 'Value left unused on bills (no change is given)';
COMMENT ON COLUMN @extschema@.report_vouchers.invoice_value_issued IS 'Invoice value of the issued codes (face value when none)';

CREATE VIEW @extschema@.report_wallets AS
SELECT g.code AS program_code, g.currency, (l.created_at AT TIME ZONE g.time_zone)::date AS day, l.branch,
       l.kind, count(*)::bigint AS movements, sum(l.amount)::numeric AS amount
  FROM @extschema@.wallet_ledger l
  JOIN @extschema@.program g ON g.program_id = l.program_id
 GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW @extschema@.report_wallets IS
'Wallet movements per day (program time zone), branch and kind (top-up, bonus, spend, refund, cash-back); the float is report_wallet_float. Freshness: live';
COMMENT ON COLUMN @extschema@.report_wallets.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_wallets.currency IS 'Currency';
COMMENT ON COLUMN @extschema@.report_wallets.day IS 'Local day of the movement';
COMMENT ON COLUMN @extschema@.report_wallets.branch IS 'Branch';
COMMENT ON COLUMN @extschema@.report_wallets.kind IS 'Movement kind';
COMMENT ON COLUMN @extschema@.report_wallets.movements IS 'Number of movements';
COMMENT ON COLUMN @extschema@.report_wallets.amount IS 'Sum of amounts (credits positive, debits negative)';

CREATE VIEW @extschema@.report_wallet_float AS
SELECT f.program AS program_code, f.currency, f.members::bigint AS members, f.float::numeric AS float
  FROM @extschema@.wallet_float f;
COMMENT ON VIEW @extschema@.report_wallet_float IS 'Prepaid money owed to customers per program (the float). Freshness: live';
COMMENT ON COLUMN @extschema@.report_wallet_float.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_wallet_float.currency IS 'Currency';
COMMENT ON COLUMN @extschema@.report_wallet_float.members IS 'Members with a wallet';
COMMENT ON COLUMN @extschema@.report_wallet_float.float IS 'Sum of wallet balances';

CREATE VIEW @extschema@.report_product_cards AS
SELECT g.code AS program_code, t.code AS card_type, t.item_sku,
       count(c.card_id)::bigint AS cards,
       coalesce(sum(c.units_left), 0)::bigint AS units_outstanding,
       coalesce(sum(c.units_left) FILTER (WHERE c.valid_to IS NULL OR c.valid_to >= now()), 0)::bigint AS units_valid,
       (coalesce(sum(c.units_left), 0) * t.extra_unit_price)::numeric AS value_at_unit_price
  FROM @extschema@.product_card_type t
  JOIN @extschema@.program g ON g.program_id = t.program_id
  LEFT JOIN @extschema@.product_card c ON c.type_id = t.type_id
 GROUP BY g.code, t.code, t.item_sku, t.extra_unit_price;
COMMENT ON VIEW @extschema@.report_product_cards IS 'Prepaid product cards per type: cards and units still owed. Freshness: live';
COMMENT ON COLUMN @extschema@.report_product_cards.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_product_cards.card_type IS 'Card type code';
COMMENT ON COLUMN @extschema@.report_product_cards.item_sku IS 'The item or service the card holds';
COMMENT ON COLUMN @extschema@.report_product_cards.cards IS 'Cards issued';
COMMENT ON COLUMN @extschema@.report_product_cards.units_outstanding IS 'Units not yet used';
COMMENT ON COLUMN @extschema@.report_product_cards.units_valid IS 'Units not yet used on cards still valid';
COMMENT ON COLUMN @extschema@.report_product_cards.value_at_unit_price IS 'Outstanding units at the extra-unit price';

CREATE VIEW @extschema@.report_tier_distribution AS
SELECT g.code AS program_code, t.rank::bigint AS rank, t.name AS tier, count(m.member_id)::bigint AS members
  FROM @extschema@.tier t
  JOIN @extschema@.program g ON g.program_id = t.program_id
  LEFT JOIN @extschema@.member_tier m ON m.tier_id = t.tier_id
 GROUP BY g.code, t.rank, t.name;
COMMENT ON VIEW @extschema@.report_tier_distribution IS 'Members per tier now. Freshness: live';
COMMENT ON COLUMN @extschema@.report_tier_distribution.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_tier_distribution.rank IS 'Tier rank (higher is better)';
COMMENT ON COLUMN @extschema@.report_tier_distribution.tier IS 'Tier name';
COMMENT ON COLUMN @extschema@.report_tier_distribution.members IS 'Members in the tier';

CREATE VIEW @extschema@.report_tier_moves AS
SELECT g.code AS program_code, (h.at AT TIME ZONE g.time_zone)::date AS day,
       f.name AS from_tier, t.name AS to_tier,
       CASE WHEN coalesce(t.rank, 0) > coalesce(f.rank, 0) THEN 'up' ELSE 'down' END AS direction,
       h.branch, count(*)::bigint AS moves
  FROM @extschema@.tier_history h
  JOIN @extschema@.program g ON g.program_id = h.program_id
  LEFT JOIN @extschema@.tier f ON f.tier_id = h.from_tier
  LEFT JOIN @extschema@.tier t ON t.tier_id = h.to_tier
 GROUP BY 1, 2, 3, 4, 5, 6;
COMMENT ON VIEW @extschema@.report_tier_moves IS 'Tier moves over time per day (program time zone), direction and branch. Freshness: live';
COMMENT ON COLUMN @extschema@.report_tier_moves.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_tier_moves.day IS 'Local day of the move';
COMMENT ON COLUMN @extschema@.report_tier_moves.from_tier IS 'Tier before (NULL: none)';
COMMENT ON COLUMN @extschema@.report_tier_moves.to_tier IS 'Tier after (NULL: none)';
COMMENT ON COLUMN @extschema@.report_tier_moves.direction IS 'up or down';
COMMENT ON COLUMN @extschema@.report_tier_moves.branch IS 'Branch of the order that moved it (NULL: the job)';
COMMENT ON COLUMN @extschema@.report_tier_moves.moves IS 'Number of moves';
-- Scheduled jobs: plain, idempotent job bodies and their pg_cron schedule.
-- Every body selects its work by condition (so a run after downtime catches
-- up), works in chunks, and takes a transaction advisory lock so two runs
-- never overlap (the second returns at once with a NOTICE).

CREATE FUNCTION @extschema@.birthday_notices(as_of timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_last bigint := -9223372036854775808;
    v_count integer := 0;
    v_rows integer;
    r record;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('pg_loyalty.birthday_notices')) THEN
        RAISE NOTICE 'birthday_notices is already running, skipped';
        RETURN 0;
    END IF;
    LOOP
        v_rows := 0;
        FOR r IN
            SELECT m.member_id, d.today, @extschema@.next_birthday(m.birthday, d.today) AS next_day
              FROM @extschema@.member m
              JOIN @extschema@.program p ON p.program_id = m.program_id
             CROSS JOIN LATERAL (SELECT (as_of AT TIME ZONE p.time_zone)::date AS today) d
             WHERE m.member_id > v_last AND m.birthday IS NOT NULL AND m.status = 'active' AND p.active
               AND EXISTS (SELECT 1 FROM @extschema@.notification_template t
                            WHERE t.program_id = p.program_id
                              AND t.code IN ('birthday_notice', 'birthday_greeting'))
             ORDER BY m.member_id LIMIT 1000
        LOOP
            v_rows := v_rows + 1;
            v_last := r.member_id;
            IF r.next_day = r.today THEN
                v_count := v_count + @extschema@.notify_event(r.member_id, 'birthday_greeting', 'birthday_greeting',
                    jsonb_build_object('date', to_char(r.next_day, 'DD/MM/YYYY')),
                    'birthday_greeting:' || extract(year FROM r.next_day));
            ELSIF r.next_day <= r.today + 7 THEN
                v_count := v_count + @extschema@.notify_event(r.member_id, 'birthday_notice', 'birthday_notice',
                    jsonb_build_object('date', to_char(r.next_day, 'DD/MM/YYYY')),
                    'birthday_notice:' || extract(year FROM r.next_day));
            END IF;
        END LOOP;
        EXIT WHEN v_rows < 1000;
    END LOOP;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.birthday_notices(timestamptz) IS
'Birthday job (J1): a notice up to 7 days before the birthday and a greeting on the day (dates in the program time zone), once per member, channel and year; returns the messages queued';

CREATE FUNCTION @extschema@.job_commands()
RETURNS TABLE (job text, schedule text, command text, available boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT j.job, j.schedule, j.command,
           EXISTS (SELECT 1 FROM pg_proc f
                    WHERE f.pronamespace = to_regnamespace('@extschema@') AND f.proname = j.needs
                      AND f.pronargs = f.pronargdefaults)
      FROM (VALUES
        ('expiry',    '15 1 * * *',   'SELECT loyalty.expire_points()',         'expire_points'),
        ('birthdays', '5 * * * *',    'SELECT loyalty.birthday_notices()',      'birthday_notices'),
        ('tiers',     '30 2 * * *',   'SELECT loyalty.recalculate_tiers()',     'recalculate_tiers'),
        ('holds',     '*/5 * * * *',  'SELECT loyalty.release_expired_holds()', 'release_expired_holds'),
        ('otp',       '*/10 * * * *', 'SELECT loyalty.purge_expired_otp()',     'purge_expired_otp'),
        ('reports',   '45 * * * *',   'SELECT loyalty.refresh_reports()',       'refresh_reports'),
        ('campaigns', '* * * * *',    'SELECT loyalty.campaign_tick()',         'campaign_tick'),
        ('races',     '*/10 * * * *', 'SELECT loyalty.award_ended_races()',     'award_ended_races'),
        ('vouchers',  '20 * * * *',   'SELECT loyalty.voucher_failures_prune()', 'voucher_failures_prune')
      ) AS j(job, schedule, command, needs)
$$;
COMMENT ON FUNCTION @extschema@.job_commands() IS
'The jobs schedule_jobs() registers (as pg_loyalty_<job>), their cron schedule (UTC), command, and whether the function they call exists and can be called without arguments';

CREATE FUNCTION @extschema@.schedule_jobs()
RETURNS TABLE (job_name text, schedule text, command text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = 'LT003',
            DETAIL = 'pg_loyalty schedules its jobs with pg_cron.',
            HINT = 'Install pg_cron (Debian: postgresql-15-cron), set shared_preload_libraries = ''pg_cron'' and cron.database_name = '''
                   || current_database() || ''' in postgresql.conf, restart, then run CREATE EXTENSION pg_cron in this database.';
    END IF;
    FOR j IN SELECT * FROM @extschema@.job_commands() ORDER BY 1 LOOP
        IF j.available THEN
            PERFORM cron.schedule('pg_loyalty_' || j.job, j.schedule, j.command);
            job_name := 'pg_loyalty_' || j.job;
            schedule := j.schedule;
            command := j.command;
            RETURN NEXT;
        ELSE
            RAISE NOTICE 'job pg_loyalty_% skipped: % does not exist', j.job,
                substring(j.command FROM 'loyalty\.[a-z_]+');
            IF EXISTS (SELECT 1 FROM cron.job c WHERE c.jobname = 'pg_loyalty_' || j.job) THEN
                PERFORM cron.unschedule('pg_loyalty_' || j.job);
            END IF;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_jobs() IS
'Registers or updates the pg_cron jobs pg_loyalty_<job> (expiry, birthdays, tiers, holds, otp, reports) for the functions that exist; raises LT003 with what to install when pg_cron is missing';

CREATE FUNCTION @extschema@.unschedule_jobs()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name text;
    v_count integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN 0;
    END IF;
    FOR v_name IN SELECT c.jobname FROM cron.job c WHERE c.jobname LIKE 'pg\_loyalty\_%' ORDER BY 1 LOOP
        PERFORM cron.unschedule(v_name);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.unschedule_jobs() IS 'Removes every pg_loyalty_<job> pg_cron job; returns how many were removed';

REVOKE ALL ON FUNCTION @extschema@.schedule_jobs() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.unschedule_jobs() FROM PUBLIC;
-- Job bodies that belong to no single concern.

CREATE FUNCTION @extschema@.purge_expired_otp(older_than interval DEFAULT '1 day',
                                              batch_size integer DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_done bigint := 0;
    v_count bigint;
BEGIN
    IF older_than < interval '0' OR batch_size < 1 THEN
        RAISE EXCEPTION 'older_than must not be negative and batch_size must be positive'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- chunked, by condition: catches up after downtime; SKIP LOCKED keeps two runs apart
    LOOP
        DELETE FROM @extschema@.otp_request o
         USING (SELECT r.member_id, r.otp_id FROM @extschema@.otp_request r
                 WHERE r.expires_at < now() - older_than
                 LIMIT batch_size FOR UPDATE SKIP LOCKED) d
         WHERE o.member_id = d.member_id AND o.otp_id = d.otp_id;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        v_done := v_done + v_count;
        EXIT WHEN v_count < batch_size;
    END LOOP;
    RETURN v_done;
END
$$;
COMMENT ON FUNCTION @extschema@.purge_expired_otp(interval, integer) IS
'Job: deletes one-time code requests that expired more than older_than ago (their hashes are of no further use); returns how many';
-- pg_dump keeps the configuration and the user data of the extension's tables.

SELECT pg_catalog.pg_extension_config_dump('@extschema@.program', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.program_program_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rule_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member_key', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.card', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ledger', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lot', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.balance', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member_order', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member_return', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.id_seq', '');
-- Wiring across concerns: the one ledger check, and cache invalidation for offers.

CREATE FUNCTION @extschema@.check_ledger()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM @extschema@.check_points()
    UNION ALL
    SELECT * FROM @extschema@.check_tiers()
    UNION ALL
    SELECT * FROM @extschema@.check_redemption()
    UNION ALL
    SELECT * FROM @extschema@.check_campaigns()
    UNION ALL
    SELECT * FROM @extschema@.check_stored_value()
    UNION ALL
    SELECT * FROM @extschema@.check_reports()
$$;
COMMENT ON FUNCTION @extschema@.check_ledger() IS
'Every violated invariant of every ledger (empty when all is well): points balances equal entries, no entry changed, lots match balances, nothing refunded beyond what was earned, tiers match their history';

CREATE TRIGGER birthday_offer_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.birthday_offer
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();
CREATE TRIGGER tier_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.tier
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();
CREATE TRIGGER reward_threshold_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.reward_threshold
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();
CREATE TRIGGER campaign_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.campaign
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();
-- Audit log of administrative changes: who changed which configuration row, when, old and new.

CREATE TABLE @extschema@.audit_log (
    audit_id        bigint NOT NULL DEFAULT @extschema@.generate_id() PRIMARY KEY,
    table_name      text NOT NULL,
    operation       text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    changed_by      text NOT NULL DEFAULT current_user,
    session_user_name text NOT NULL DEFAULT session_user,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    old_row         jsonb,
    new_row         jsonb
);
CREATE INDEX audit_log_table_time_idx ON @extschema@.audit_log (table_name, changed_at);
COMMENT ON TABLE @extschema@.audit_log IS
'Every change to programs, rules and other configuration: who (role and session user), when, the old and the new row; append-only';

CREATE FUNCTION @extschema@.audit_change()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A restore re-inserts rows that are already in the restored audit log.
    IF current_setting('application_name') = 'pg_restore' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO @extschema@.audit_log (table_name, operation, changed_by)
        VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, current_user);
        RETURN NULL;
    END IF;
    INSERT INTO @extschema@.audit_log (table_name, operation, changed_by, old_row, new_row)
    VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, current_user,
            CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.audit_change() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_change() IS
'Trigger: records a configuration change in loyalty.audit_log (runs as the extension owner so the log needs no grants); pg_restore''s reloading of rows is not a change and is not logged';

CREATE FUNCTION @extschema@.audit_table(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_change()', tbl);
    EXECUTE format('CREATE TRIGGER audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_change()', tbl);
END
$$;
REVOKE ALL ON FUNCTION @extschema@.audit_table(regclass) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_table(regclass) IS
'Puts a configuration table under the audit log';

SELECT @extschema@.audit_table('@extschema@.program');
SELECT @extschema@.audit_table('@extschema@.rule');
SELECT @extschema@.audit_table('@extschema@.attachment');
SELECT @extschema@.audit_table('@extschema@.tier');
SELECT @extschema@.audit_table('@extschema@.birthday_offer');
SELECT @extschema@.audit_table('@extschema@.notification_template');
SELECT @extschema@.audit_table('@extschema@.redemption_policy');
SELECT @extschema@.audit_table('@extschema@.reward_threshold');
SELECT @extschema@.audit_table('@extschema@.campaign');
SELECT @extschema@.audit_table('@extschema@.discount_policy');
SELECT @extschema@.audit_table('@extschema@.prize_pool');
SELECT @extschema@.audit_table('@extschema@.wallet_bonus_rule');
SELECT @extschema@.audit_table('@extschema@.wallet_level');
SELECT @extschema@.audit_table('@extschema@.product_card_type');
SELECT @extschema@.audit_table('@extschema@.voucher_type');

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON @extschema@.audit_log
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ledger_reject_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON @extschema@.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ledger_reject_change();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log', '');
-- Security (issue 9): who may call what, SECURITY DEFINER for the functions
-- the roles call, and branch isolation of till roles.
--
-- This file runs after every other one.  At install it
--   1. takes EXECUTE away from PUBLIC on every function of the extension except
--      the support functions of our types, operators, aggregates and casts and
--      the pure helpers classified 'public' below;
--   2. makes every function classified 'till' or 'admin' SECURITY DEFINER with
--      a pinned search_path, so roles without table grants can use them;
--   3. guards the branch-scoped tables with till_branch_guard triggers.
-- loyalty.setup_roles() (run once per cluster by a superuser) creates the
-- roles and grants them what the classification says.
--
-- Adding a function to the extension: add ONE line to function_role() below
-- ('till', 'admin', 'admin_invoker', 'trigger_definer', 'public' or 'internal').  Adding a
-- configuration table: add ONE line to admin_table().

-- Classification ------------------------------------------------------------

CREATE FUNCTION @extschema@.function_role()
RETURNS TABLE (function_name name, role_kind text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
VALUES
    -- till: what a point of sale calls (SECURITY DEFINER; granted to till and admin)
    ('record_order'::name, 'till'), ('record_order_lines', 'till'),
    ('explain_accrual', 'till'), ('explain_accrual_lines', 'till'),
    ('return_order', 'till'), ('return_order_lines', 'till'), ('cancel_order', 'till'),
    ('balance', 'till'), ('member_id', 'till'), ('enroll', 'till'), ('issue_card', 'till'),
    ('quote', 'till'), ('quote_lines', 'till'), ('redeem', 'till'), ('redeem_lines', 'till'),
    ('hold', 'till'), ('hold_lines', 'till'), ('capture', 'till'), ('release', 'till'),
    ('refund_redemption', 'till'), ('request_otp', 'till'), ('verify_otp', 'till'),
    ('available_points', 'till'), ('draw', 'till'), ('quote_discounts', 'till'),
    ('apply_discounts', 'till'), ('record_applied_discounts', 'till'),
    ('member_tier', 'till'), ('member_tier_discount', 'till'), ('member_tier_multiplier', 'till'),
    ('next_tier_progress', 'till'), ('birthday_multiplier', 'till'), ('till_branches', 'till'),
    ('wallet_top_up', 'till'), ('wallet_spend', 'till'), ('wallet_refund', 'till'),
    ('wallet_cashback', 'till'), ('product_card_issue', 'till'), ('product_card_use', 'till'),
    ('product_card_top_up', 'till'), ('voucher_check', 'till'), ('voucher_redeem', 'till'),
    ('voucher_void', 'till'),
    -- admin: back office, jobs and checks (SECURITY DEFINER; granted to admin)
    ('adjust', 'admin'), ('recalculate_tiers', 'admin'), ('apply_member_tier', 'admin'),
    ('tier_progress', 'admin'), ('expire_points', 'admin'), ('points_expiring', 'admin'),
    ('release_expired_holds', 'admin'), ('schedule_jobs', 'admin'), ('unschedule_jobs', 'admin'),
    ('job_commands', 'admin'), ('birthday_notices', 'admin'),
    ('schedule_campaign', 'admin'), ('start_campaign', 'admin'), ('pause_campaign', 'admin'),
    ('end_campaign', 'admin'), ('reschedule_campaign', 'admin'), ('campaign_tick', 'admin'),
    ('simulate_campaign', 'admin'), ('award_race', 'admin'), ('award_ended_races', 'admin'),
    ('race_leaderboard', 'admin'), ('send_to_segment', 'admin'), ('enqueue_notification', 'admin'),
    ('notify_event', 'admin'), ('claim_notifications', 'admin'), ('notification_delivered', 'admin'),
    ('notification_failed', 'admin'), ('top_customers', 'admin'),
    ('important_dates_in_month', 'admin'), ('customer_branches', 'admin'),
    ('customers_with', 'admin'), ('tasks_due', 'admin'), ('lot_expiry', 'admin'),
    ('check_ledger', 'admin'), ('check_points', 'admin'), ('check_redemption', 'admin'),
    ('check_tiers', 'admin'), ('check_campaigns', 'admin'), ('check_security', 'admin'),
    ('generate_id', 'admin'), ('bind_till', 'admin'),
    ('voucher_issue', 'admin'), ('voucher_failures_prune', 'admin'), ('check_stored_value', 'admin'),
    ('refresh_reports', 'admin'), ('liability_as_of', 'admin'), ('check_reports', 'admin'),
    ('grant_reader', 'admin'), ('purge_expired_otp', 'admin'),
    -- admin_invoker: admin functions that act on the caller's own objects (not SECURITY DEFINER)
    ('attach', 'admin_invoker'), ('detach', 'admin_invoker'), ('audit_table', 'admin_invoker'),
    ('accrue_order_trigger', 'admin_invoker'), ('audit_change', 'admin_invoker'),
    -- trigger_definer: triggers on configuration tables that write other tables or call
    -- internal functions, so they run as the owner when the admin changes the configuration
    ('campaign_check_row', 'trigger_definer'), ('campaign_after_change', 'trigger_definer'),
    ('campaign_rule_row', 'trigger_definer'), ('prize_pool_check', 'trigger_definer'),
    -- public: pure helpers without table access
    ('new_code', 'public'), ('code_is_valid', 'public'), ('code_series', 'public'),
    ('code_suffix', 'public'), ('round', 'public'), ('abs', 'public'), ('points', 'public'),
    ('greatest_points', 'public'), ('lines_from_json', 'public'), ('next_birthday', 'public'),
    ('render_template', 'public'), ('template_macros', 'public'), ('function_role', 'public'),
    ('admin_table', 'public'), ('type_support_function', 'public'),
    ('stored_percent_of', 'public'), ('stored_voucher_amount', 'public'), ('liability_bucket', 'public'),
    -- internal: called only by our own functions and triggers (no grants)
    ('entry_checksum', 'internal'), ('campaign_active', 'internal'), ('campaign_take', 'internal'),
    ('campaign_give_back', 'internal'), ('campaign_transition', 'internal'),
    ('campaign_split_budget', 'internal'), ('post_bonus', 'internal'),
    ('notification_vars', 'internal'), ('setup_roles', 'internal'),
    ('code_digest', 'internal'), ('stored_member', 'internal'), ('stored_random_bytes', 'internal'),
    ('wallet_entry_checksum', 'internal')
$$;
COMMENT ON FUNCTION @extschema@.function_role() IS
'Who may call each function of the extension (by name, all overloads): till, admin, admin_invoker (admin, runs as the caller), trigger_definer (a trigger that runs as the owner), public (pure helpers) or internal; other trigger functions and the support functions of types, operators, aggregates and casts need no line';

CREATE FUNCTION @extschema@.admin_table()
RETURNS SETOF name
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
VALUES ('program'::name), ('rule'), ('tier'), ('birthday_offer'), ('redemption_policy'),
       ('reward_threshold'), ('campaign'), ('campaign_change'), ('campaign_budget_slot'),
       ('discount_policy'), ('prize_pool'), ('prize_phase'), ('points_race'),
       ('notification_template'), ('attachment'), ('till_branch'),
       ('customer_profile'), ('contact_person'), ('important_date'), ('customer_task')
$$;
COMMENT ON FUNCTION @extschema@.admin_table() IS
'Configuration tables the admin role may change directly (SELECT, INSERT, UPDATE, DELETE); it reads every table';

-- Branch isolation ----------------------------------------------------------

CREATE TABLE @extschema@.till_branch (
    role_name       name NOT NULL,
    branch          text NOT NULL,
    PRIMARY KEY (role_name, branch)
);
COMMENT ON TABLE @extschema@.till_branch IS
'Branches a till role may act at: a session whose session user is a member of a role listed here (and not a superuser) may only record, return, cancel, redeem and refund documents of these branches';

CREATE FUNCTION @extschema@.till_branches()
RETURNS text[]
AS 'MODULE_PATHNAME', 'till_branches'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.till_branches() IS
'The branches the session user is bound to through loyalty.till_branch, or NULL when it is not a bound till (cached per backend)';

CREATE FUNCTION @extschema@.till_branch_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'till_branch_guard'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.till_branch_guard() IS
'Trigger (branch column [, null_ok]): a bound till may only write rows of its branches (SQLSTATE 42501)';

CREATE FUNCTION @extschema@.till_branch_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'till_branch_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.till_branch_changed() IS
'Trigger: a change of loyalty.till_branch reloads the cached branches of every session';

CREATE TRIGGER till_branch_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.till_branch
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.till_branch_changed();
SELECT @extschema@.audit_table('@extschema@.till_branch');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.till_branch', '');

CREATE TRIGGER till_branch_guard BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.member_order
    FOR EACH ROW EXECUTE FUNCTION @extschema@.till_branch_guard('branch');
CREATE TRIGGER till_branch_guard BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.redemption
    FOR EACH ROW EXECUTE FUNCTION @extschema@.till_branch_guard('branch');
CREATE TRIGGER till_branch_guard BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.redemption_hold
    FOR EACH ROW EXECUTE FUNCTION @extschema@.till_branch_guard('branch');
CREATE TRIGGER till_branch_guard BEFORE INSERT ON @extschema@.ledger
    FOR EACH ROW EXECUTE FUNCTION @extschema@.till_branch_guard('branch', 'null_ok');

CREATE FUNCTION @extschema@.bind_till(role name, branches text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = bind_till.role) THEN
        RAISE EXCEPTION 'role "%" does not exist', bind_till.role USING ERRCODE = 'undefined_object';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(branches) b WHERE b IS NULL OR b = '') THEN
        RAISE EXCEPTION 'a branch may not be empty' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM @extschema@.till_branch t
     WHERE t.role_name = bind_till.role AND NOT (t.branch = ANY (coalesce(branches, '{}')));
    INSERT INTO @extschema@.till_branch (role_name, branch)
    SELECT bind_till.role, b FROM unnest(branches) b
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION @extschema@.bind_till(name, text[]) IS
'Binds a till role (and every session user that is a member of it) to these branches only; an empty array unbinds it';

CREATE FUNCTION @extschema@.check_security()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'no function of the extension is executable by PUBLIC unless allowed', NULL::bigint,
           p.oid::pg_catalog.regprocedure::text
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = '@extschema@'::regnamespace
       AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
       AND NOT EXISTS (SELECT 1 FROM @extschema@.function_role() f
                        WHERE f.function_name = p.proname AND f.role_kind = 'public')
       AND p.oid NOT IN (SELECT s.fn FROM @extschema@.type_support_function() s)
    UNION ALL
    SELECT 'every till and admin function is SECURITY DEFINER with a pinned search_path', NULL,
           p.oid::pg_catalog.regprocedure::text
      FROM pg_catalog.pg_proc p
      JOIN @extschema@.function_role() f ON f.function_name = p.proname
     WHERE p.pronamespace = '@extschema@'::regnamespace
       AND f.role_kind IN ('till', 'admin', 'trigger_definer')
       AND NOT (p.prosecdef AND coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false))
    UNION ALL
    SELECT 'till_branch names existing roles', NULL, t.role_name::text
      FROM @extschema@.till_branch t
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = t.role_name)
$$;
COMMENT ON FUNCTION @extschema@.check_security() IS
'Every violated security invariant (empty when all is well): no unexpected PUBLIC EXECUTE, till and admin functions SECURITY DEFINER, bindings name existing roles';

CREATE FUNCTION @extschema@.type_support_function()
RETURNS TABLE (fn oid)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT x FROM (
        SELECT unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin,
                            t.typmodout, t.typanalyze, t.typsubscript]::oid[])
          FROM pg_catalog.pg_type t WHERE t.typnamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT unnest(ARRAY[o.oprcode, o.oprrest, o.oprjoin]::oid[])
          FROM pg_catalog.pg_operator o WHERE o.oprnamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT unnest(ARRAY[a.aggfnoid, a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
                            a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]::oid[])
          FROM pg_catalog.pg_aggregate a
          JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
         WHERE p.pronamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT c.castfunc FROM pg_catalog.pg_cast c
          JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
         WHERE p.pronamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT ap.amproc FROM pg_catalog.pg_amproc ap
          JOIN pg_catalog.pg_proc p ON p.oid = ap.amproc
         WHERE p.pronamespace = '@extschema@'::regnamespace
    ) s(x)
     WHERE x <> 0
$$;
COMMENT ON FUNCTION @extschema@.type_support_function() IS
'Functions of the extension that the system calls for our types, operators, aggregates, casts and index operator classes: they stay executable by PUBLIC';

-- Install: PUBLIC keeps only the support functions and the pure helpers; till
-- and admin functions run as the extension owner with a pinned search_path.
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::pg_catalog.regprocedure AS sig, r.role_kind, p.prorettype = 'trigger'::regtype AS is_trigger
          FROM pg_catalog.pg_proc p
          LEFT JOIN @extschema@.function_role() r ON r.function_name = p.proname
         WHERE p.pronamespace = '@extschema@'::regnamespace
           AND p.oid NOT IN (SELECT s.fn FROM @extschema@.type_support_function() s)
    LOOP
        IF f.role_kind IS DISTINCT FROM 'public' THEN
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f.sig);
        END IF;
        IF f.role_kind IN ('till', 'admin', 'trigger_definer') THEN
            EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, pg_temp', f.sig);
        END IF;
    END LOOP;
END
$$;

-- Roles ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.setup_roles(admin name DEFAULT 'loyalty_admin',
                                        till name DEFAULT 'loyalty_till',
                                        reader name DEFAULT 'loyalty_reader')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r name;
    f record;
    t name;
BEGIN
    FOREACH r IN ARRAY ARRAY[admin, till, reader] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', r);
    END LOOP;

    -- admin reads everything and changes the configuration tables
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO %I', admin);
    FOR t IN SELECT a FROM @extschema@.admin_table() a
              WHERE pg_catalog.to_regclass('@extschema@.' || pg_catalog.quote_ident(a)) IS NOT NULL LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE @extschema@.%I TO %I', t, admin);
    END LOOP;

    -- functions by their classification
    FOR f IN
        SELECT p.oid::pg_catalog.regprocedure AS sig, fr.role_kind
          FROM pg_catalog.pg_proc p
          JOIN @extschema@.function_role() fr ON fr.function_name = p.proname
         WHERE p.pronamespace = '@extschema@'::regnamespace
           AND fr.role_kind IN ('till', 'admin', 'admin_invoker')
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f.sig, admin);
        IF f.role_kind = 'till' THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f.sig, till);
        END IF;
    END LOOP;

    -- reader: the report grants of the reports issue, else the report_% views
    IF pg_catalog.to_regprocedure('@extschema@.grant_reader(name)') IS NOT NULL THEN
        EXECUTE format('SELECT @extschema@.grant_reader(%L)', reader);
    ELSIF pg_catalog.to_regprocedure('@extschema@.grant_reader(text)') IS NOT NULL THEN
        EXECUTE format('SELECT @extschema@.grant_reader(%L::text)', reader);
    ELSIF pg_catalog.to_regprocedure('@extschema@.grant_reader()') IS NOT NULL THEN
        EXECUTE 'SELECT @extschema@.grant_reader()';
    ELSE
        FOR t IN SELECT c.relname FROM pg_catalog.pg_class c
                  WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('v', 'm')
                    AND c.relname LIKE 'report\_%' LOOP
            EXECUTE format('GRANT SELECT ON @extschema@.%I TO %I', t, reader);
        END LOOP;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.setup_roles(name, name, name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.setup_roles(name, name, name) IS
'Creates the admin, till and reader roles (NOLOGIN) when missing and grants them their functions and tables; run by a superuser (or the extension owner with CREATEROLE), again after adding functions';
