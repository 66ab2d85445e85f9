-- pg_dump keeps the configuration and the user data of the extension's tables.

SELECT pg_catalog.pg_extension_config_dump('@extschema@.program', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.program_program_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rule_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member_key', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.card', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ledger', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lot', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.balance', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member_order', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member_return', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.id_seq', '');
