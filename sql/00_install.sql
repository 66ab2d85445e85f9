-- Install: CREATE EXTENSION needs neither shared_preload_libraries nor pg_cron.
\set VERBOSITY terse
CREATE EXTENSION pg_loyalty;
SELECT extname, extversion, extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension WHERE extname = 'pg_loyalty';
-- the module is loaded on demand and reserves its GUC prefix
SELECT loyalty.generate_id() > 0 AS id_ok;
SHOW pg_loyalty.accrual_enabled;
SET pg_loyalty.no_such_setting = 1;
-- pg_cron is optional: it is not an extension requirement
SELECT requires FROM pg_available_extension_versions WHERE name = 'pg_loyalty';
-- ids are unique without a shared sequence
SELECT count(DISTINCT loyalty.generate_id()) FROM generate_series(1, 100000);
