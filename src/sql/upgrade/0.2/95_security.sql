-- 0.2: function_role() lists the functions 0.2 adds (src/sql/95_security.sql).
CREATE OR REPLACE FUNCTION @extschema@.function_role()
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
    ('birthday_discount', 'till'), ('reward_coupons', 'till'), ('use_reward_coupon', 'till'),
    ('release_reward_coupon', 'till'),
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
    ('campaign_take_money', 'internal'), ('campaign_give_back_money', 'internal'),
    ('quote_discounts_except', 'internal'), ('discount_record', 'internal'), ('award_bonus', 'internal'),
    ('notification_vars', 'internal'), ('setup_roles', 'internal'),
    ('code_digest', 'internal'), ('stored_member', 'internal'), ('stored_random_bytes', 'internal'),
    ('wallet_entry_checksum', 'internal')
$$;
