-- Spending points: objects, keys, the reward trigger and the SQLSTATE class LR.
BEGIN;
SELECT plan(16);

SELECT has_table('loyalty', t, 'table loyalty.' || t || ' exists')
  FROM unnest(ARRAY['redemption_policy', 'redemption', 'redemption_lot', 'redemption_hold',
                    'otp_request', 'outbox', 'reward_threshold', 'reward_award',
                    'reward_coupon', 'reward_tier']) AS t;
SELECT is((SELECT count(*)::int FROM pg_constraint c
            JOIN pg_class r ON r.oid = c.conrelid
           WHERE r.relnamespace = 'loyalty'::regnamespace AND c.contype IN ('p', 'u')
             AND r.relname IN ('redemption', 'redemption_lot', 'redemption_hold', 'otp_request',
                               'reward_award', 'reward_coupon', 'reward_tier')
             AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                              WHERE a.attrelid = r.oid AND a.attname = 'member_id'
                                AND a.attnum = ANY (c.conkey))), 0,
          'member-scoped keys include member_id');
SELECT has_trigger('loyalty', 'balance', 'balance_reward_update', 'the reward trigger is on loyalty.balance');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'loyalty'::regnamespace
              AND p.proname IN ('quote', 'redeem', 'hold', 'capture', 'release', 'refund_redemption',
                                'request_otp', 'verify_otp', 'expire_points', 'points_expiring',
                                'check_redemption', 'release_expired_holds')
              AND obj_description(p.oid, 'pg_proc') IS NOT NULL), 12,
          'the spending functions exist and are documented');
SELECT is((SELECT count(*)::int FROM pg_extension e, unnest(e.extconfig) AS c(oid)
            WHERE e.extname = 'pg_loyalty'
              AND c.oid IN ('loyalty.redemption'::regclass, 'loyalty.redemption_lot'::regclass,
                            'loyalty.redemption_hold'::regclass, 'loyalty.outbox'::regclass,
                            'loyalty.redemption_policy'::regclass)), 5,
          'spending tables are dumped by pg_dump');
SELECT throws_ok($$SELECT loyalty.redeem('no_such', 'C', 'D', 1, total => 1)$$, 'LY005');
SELECT is((SELECT count(*)::int FROM loyalty.check_redemption()), 0, 'no redemption invariant is violated');

SELECT * FROM finish();
ROLLBACK;
