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
