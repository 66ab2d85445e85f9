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
    used_at         timestamptz,
    bill_total      numeric,
    discount        numeric,
    PRIMARY KEY (member_id, coupon)
);
COMMENT ON TABLE @extschema@.reward_coupon IS 'Coupons given by reward thresholds (e.g. 10% off the next bill); used with loyalty.use_reward_coupon()';
COMMENT ON COLUMN @extschema@.reward_coupon.used_document IS 'The bill the coupon was used on';
COMMENT ON COLUMN @extschema@.reward_coupon.bill_total IS 'The total of the bill the coupon was used on';
COMMENT ON COLUMN @extschema@.reward_coupon.discount IS 'What the coupon took off that bill';

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

-- Reward coupons at the till (B4) ----------------------------------------------

CREATE FUNCTION @extschema@.reward_coupons(program text, customer_key text)
RETURNS TABLE (coupon text, percent numeric, amount numeric, valid_until timestamptz, reward text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.coupon::text, c.percent, c.amount, c.valid_until, t.name
      FROM @extschema@.reward_coupon c
      JOIN @extschema@.reward_award a ON a.member_id = c.member_id AND a.award_id = c.award_id
      JOIN @extschema@.reward_threshold t ON t.threshold_id = a.threshold_id
     WHERE c.member_id = @extschema@.member_id($1, $2)
       AND c.program_id = (SELECT p.program_id FROM @extschema@.program p WHERE p.code = $1)
       AND c.status = 'issued' AND (c.valid_until IS NULL OR c.valid_until > now())
     ORDER BY c.valid_until NULLS LAST, c.issued_at, c.coupon
$$;
COMMENT ON FUNCTION @extschema@.reward_coupons(text, text) IS
'The reward coupons a customer may use now (e.g. 10% off the next bill), soonest to expire first';

CREATE FUNCTION @extschema@.use_reward_coupon(program text, customer_key text, document text, bill_total numeric,
    coupon text DEFAULT NULL,
    OUT used_coupon text, OUT percent numeric, OUT discount numeric, OUT replayed boolean)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_member bigint;
    c @extschema@.reward_coupon;
BEGIN
    IF program IS NULL OR customer_key IS NULL OR document IS NULL OR bill_total IS NULL THEN
        RAISE EXCEPTION 'program, customer key, document and bill total must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF bill_total < 0 THEN
        RAISE EXCEPTION 'bill total must not be negative' USING ERRCODE = 'LR011';
    END IF;
    SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = use_reward_coupon.program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
    END IF;
    v_member := @extschema@.member_id(program, customer_key);
    IF v_member IS NULL THEN
        RAISE EXCEPTION 'customer "%" is not a member of loyalty program "%"', customer_key, program
            USING ERRCODE = 'LY002';
    END IF;
    -- the member's balance row first (the lock order of every redemption), so
    -- two tills using the member's coupons, or a retry racing the original,
    -- take turns and each sees what the other committed
    PERFORM 1 FROM @extschema@.balance b WHERE b.member_id = v_member AND b.program_id = v_program FOR UPDATE;
    -- a retry of the same bill answers the same
    SELECT * INTO c FROM @extschema@.reward_coupon x
     WHERE x.member_id = v_member AND x.program_id = v_program AND x.status = 'used'
       AND x.used_document = use_reward_coupon.document
     FOR UPDATE;
    IF FOUND THEN
        IF c.bill_total <> round(use_reward_coupon.bill_total, 2)
           OR (use_reward_coupon.coupon IS NOT NULL AND c.coupon::text <> upper(use_reward_coupon.coupon)) THEN
            RAISE EXCEPTION 'bill "%" already used a reward coupon with a different total or code', document
                USING ERRCODE = 'LR001';
        END IF;
        used_coupon := c.coupon::text; percent := c.percent; discount := c.discount; replayed := true;
        RETURN;
    END IF;
    SELECT * INTO c FROM @extschema@.reward_coupon x
     WHERE x.member_id = v_member AND x.program_id = v_program AND x.status = 'issued'
       AND (x.valid_until IS NULL OR x.valid_until > now())
       AND (use_reward_coupon.coupon IS NULL OR x.coupon::text = upper(use_reward_coupon.coupon))
     ORDER BY x.valid_until NULLS LAST, x.issued_at, x.coupon
     LIMIT 1
     FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'customer "%" has no reward coupon to use', customer_key
            USING ERRCODE = 'LR014',
                  DETAIL = CASE WHEN use_reward_coupon.coupon IS NULL
                                THEN 'The customer has no issued reward coupon that is still valid.'
                                ELSE format('Coupon %s is not an issued, still valid coupon of this customer.',
                                            use_reward_coupon.coupon) END;
    END IF;
    c.bill_total := round(use_reward_coupon.bill_total, 2);
    c.discount := CASE WHEN c.percent IS NOT NULL THEN @extschema@.stored_percent_of(c.bill_total, c.percent)
                       ELSE least(c.amount, c.bill_total) END;
    UPDATE @extschema@.reward_coupon x
       SET status = 'used', used_document = use_reward_coupon.document, used_at = now(),
           bill_total = c.bill_total, discount = c.discount
     WHERE x.member_id = c.member_id AND x.coupon OPERATOR(@extschema@.=) c.coupon;
    used_coupon := c.coupon::text; percent := c.percent; discount := c.discount; replayed := false;
END
$$;
COMMENT ON FUNCTION @extschema@.use_reward_coupon(text, text, text, numeric, text) IS
'Uses a customer''s reward coupon (the named one, or the one expiring soonest) on a bill and returns the discount to give (percent of the bill rounded down, or the amount up to the bill); once per coupon, a retry of the bill answers the same (LR001 with another total), LR014 when there is none';

CREATE FUNCTION @extschema@.release_reward_coupon(program text, document text)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_count integer;
BEGIN
    IF program IS NULL OR document IS NULL THEN
        RAISE EXCEPTION 'program and document must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = release_reward_coupon.program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
    END IF;
    UPDATE @extschema@.reward_coupon x
       SET status = 'issued', used_document = NULL, used_at = NULL, bill_total = NULL, discount = NULL
     WHERE x.program_id = v_program AND x.status = 'used' AND x.used_document = release_reward_coupon.document;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.release_reward_coupon(text, text) IS
'A cancelled bill gives its reward coupon back (usable again until it expires); returns how many coupons came back, 0 on a retry';

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
