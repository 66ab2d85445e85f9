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
