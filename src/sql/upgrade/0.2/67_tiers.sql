-- pg_loyalty 0.1 -> 0.2: the birthday discount for the bill (C4): birthday_discount()

CREATE FUNCTION @extschema@.birthday_discount(member_id bigint, program_id bigint, at timestamptz)
RETURNS numeric
AS 'MODULE_PATHNAME', 'birthday_discount_member'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.birthday_discount(bigint, bigint, timestamptz) IS
'The best birthday discount of a member at a moment in percent, judged on the date in the program''s time zone (0 when none applies)';

CREATE FUNCTION @extschema@.birthday_discount(program text, customer_key text, at timestamptz DEFAULT now())
RETURNS numeric
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT @extschema@.birthday_discount(m.member_id, m.program_id, $3)
                       FROM @extschema@.member m WHERE m.member_id = @extschema@.member_id($1, $2)), 0)
$$;
COMMENT ON FUNCTION @extschema@.birthday_discount(text, text, timestamptz) IS
'The best birthday discount of a customer at a moment in percent (0 when none applies or not a member), for the bill; 29 February birthdays count on 28 February in other years';

-- till functions (loyalty.function_role() lists them as 'till' from 0.2)
REVOKE EXECUTE ON FUNCTION @extschema@.birthday_discount(bigint, bigint, timestamptz) FROM PUBLIC;
ALTER FUNCTION @extschema@.birthday_discount(bigint, bigint, timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION @extschema@.birthday_discount(text, text, timestamptz) FROM PUBLIC;
ALTER FUNCTION @extschema@.birthday_discount(text, text, timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
