
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
