-- pg_loyalty install script, assembled from src/sql/*.sql in name order.
\echo Use "CREATE EXTENSION pg_loyalty" to load this file. \quit

COMMENT ON SCHEMA @extschema@ IS 'pg_loyalty: points, vouchers, wallets, tiers, campaigns and their report views';
