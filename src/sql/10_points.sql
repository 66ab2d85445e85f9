
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
