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
