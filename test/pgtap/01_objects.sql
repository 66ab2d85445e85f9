-- The extension's objects exist, with the right kinds, types and owners.
BEGIN;
SELECT plan(24);

SELECT has_extension('pg_loyalty', 'pg_loyalty is installed');
SELECT has_schema('loyalty', 'schema loyalty exists');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'pg_loyalty'), false,
          'the extension is not relocatable');
SELECT has_type('loyalty', 'points', 'type loyalty.points exists');
SELECT has_type('loyalty', 'code', 'type loyalty.code exists');
SELECT is((SELECT typlen::int FROM pg_type WHERE oid = 'loyalty.points'::regtype), 8,
          'points is 8 bytes');
SELECT is((SELECT typbyval FROM pg_type WHERE oid = 'loyalty.points'::regtype), true,
          'points is passed by value');
SELECT cmp_ok((SELECT typlen::int FROM pg_type WHERE oid = 'loyalty.code'::regtype), '<=', 16,
          'code takes at most 16 bytes');
SELECT ok((SELECT typsend <> 0 AND typreceive <> 0 FROM pg_type WHERE oid = 'loyalty.points'::regtype),
          'points has binary send/recv');
SELECT ok((SELECT typsend <> 0 AND typreceive <> 0 FROM pg_type WHERE oid = 'loyalty.code'::regtype),
          'code has binary send/recv');
SELECT is((SELECT count(*)::int FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
            WHERE c.opcintype = 'loyalty.points'::regtype AND c.opcdefault), 2,
          'points has default btree and hash operator classes');
SELECT is((SELECT count(*)::int FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
            WHERE c.opcintype = 'loyalty.code'::regtype AND c.opcdefault), 2,
          'code has default btree and hash operator classes');
SELECT has_cast('integer', 'loyalty.points', 'integer casts to points');
SELECT has_cast('bigint', 'loyalty.points', 'bigint casts to points');
SELECT has_cast('numeric', 'loyalty.points', 'numeric casts to points');
SELECT has_cast('loyalty.points', 'numeric', 'points casts to numeric');
SELECT has_cast('loyalty.points', 'bigint', 'points casts to bigint');
SELECT has_function('loyalty', 'new_code', ARRAY['text'], 'loyalty.new_code(text) exists');
SELECT has_function('loyalty', 'round', ARRAY['loyalty.points', 'text'], 'loyalty.round(points, text) exists');
SELECT has_function('loyalty', 'generate_id', 'loyalty.generate_id() exists');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'loyalty'::regnamespace AND p.proname IN ('sum', 'min', 'max', 'avg')
              AND p.prokind = 'a' AND p.proargtypes[0] = 'loyalty.points'::regtype), 4,
          'sum, min, max and avg aggregates over points');
SELECT is((SELECT nspowner FROM pg_namespace WHERE nspname = 'loyalty'),
          (SELECT extowner FROM pg_extension WHERE extname = 'pg_loyalty'),
          'the schema belongs to the extension owner');
SELECT is((SELECT count(*)::int FROM pg_type t
            WHERE t.typnamespace = 'loyalty'::regnamespace AND t.typtype = 'b'
              AND t.typowner <> (SELECT extowner FROM pg_extension WHERE extname = 'pg_loyalty')), 0,
          'every base type belongs to the extension owner');
SELECT is((SELECT count(*)::int FROM pg_depend d JOIN pg_type t ON t.oid = d.objid
            WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
              AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_loyalty')
              AND t.typname IN ('points', 'code')), 2,
          'both types are members of the extension');

SELECT * FROM finish();
ROLLBACK;
