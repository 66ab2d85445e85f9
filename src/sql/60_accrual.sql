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
