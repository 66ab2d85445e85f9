-- Everything the pg_loyalty extension consists of, as a sorted text listing,
-- one fact per line: "<object identity> | <aspect>: <value>".
--
-- test/tap/upgrade.sh runs it in a database with a fresh install of the
-- current version and in one with the oldest released version plus ALTER
-- EXTENSION pg_loyalty UPDATE, and diffs the two listings. pg_dump cannot be
-- used for that: for the members of an extension it prints only CREATE
-- EXTENSION. So this reads the catalogs: every object that pg_depend records
-- as a member of the extension (deptype 'e') and what hangs off it (columns,
-- defaults, constraints, indexes, triggers, rules, policies, sequences,
-- statistics, comments, ACLs, initial privileges), the extension's own row
-- (configuration tables for pg_dump) and its schema.
--
-- Multi-line definitions (functions, views) are split into numbered lines so
-- a diff shows the lines that differ. Nothing here depends on OIDs, on the
-- order objects were created in, or on the data in the tables, except
-- "rows:" which counts the rows the install script itself puts in tables.
-- Run with psql -X -A -t (unaligned, tuples only).

\set ON_ERROR_STOP 1
SET search_path = pg_catalog, pg_temp;
SET extra_float_digits = 0;
SET intervalstyle = postgres;
SET datestyle = 'ISO, YMD';

WITH
ext AS (
    SELECT e.oid, e.extname, e.extnamespace, e.extowner, e.extrelocatable,
           e.extversion, e.extconfig, e.extcondition
      FROM pg_extension e WHERE e.extname = 'pg_loyalty'),
mem AS (                                      -- the members
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
obj AS (                                      -- members and their identity
    SELECT m.classid, m.objid, m.objsubid,
           (pg_identify_object(m.classid, m.objid, m.objsubid)).type || ' '
           || (pg_identify_object(m.classid, m.objid, m.objsubid)).identity AS id
      FROM mem m),
rel AS (                                      -- relations: member relations, the
    SELECT c.oid, o.id                        -- relations of member composite types,
      FROM obj o JOIN pg_class c ON c.oid = o.objid
     WHERE o.classid = 'pg_class'::regclass
    UNION
    SELECT t.typrelid, o.id
      FROM obj o JOIN pg_type t ON t.oid = o.objid
     WHERE o.classid = 'pg_type'::regclass AND t.typtype = 'c'
    UNION                                     -- and sequences owned by member tables
    SELECT s.oid, 'sequence ' || s.oid::regclass::text
      FROM obj o JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = o.objid
                 JOIN pg_class s ON s.oid = d.objid AND d.classid = 'pg_class'::regclass
     WHERE o.classid = 'pg_class'::regclass AND s.relkind = 'S' AND d.deptype IN ('a', 'i')
       AND NOT EXISTS (SELECT 1 FROM mem m WHERE m.classid = 'pg_class'::regclass AND m.objid = s.oid)),
listing(line) AS (
    ------------------------------------------------------------------ extension
    SELECT 'extension pg_loyalty | version: ' || extversion FROM ext
    UNION ALL
    SELECT 'extension pg_loyalty | schema: ' || extnamespace::regnamespace::text FROM ext
    UNION ALL
    SELECT 'extension pg_loyalty | relocatable: ' || extrelocatable FROM ext
    UNION ALL
    SELECT 'extension pg_loyalty | comment: ' || coalesce(obj_description(oid, 'pg_extension'), '(none)') FROM ext
    UNION ALL                                 -- pg_extension_config_dump(), as a set
    SELECT 'extension pg_loyalty | config dump: ' || c.tab::regclass::text
           || ' where ' || quote_literal(coalesce(c.cond, '(null)'))
      FROM ext, unnest(ext.extconfig, ext.extcondition) AS c(tab, cond)
    ------------------------------------------------------------------ schema
    UNION ALL
    SELECT 'schema ' || n.nspname || ' | ' || x.line
      FROM ext JOIN pg_namespace n ON n.oid = ext.extnamespace,
           LATERAL (VALUES
               ('owner: ' || CASE WHEN n.nspowner = ext.extowner THEN '(extension owner)'
                                  ELSE n.nspowner::regrole::text END),
               ('acl: ' || coalesce(n.nspacl::text, '(default)')),
               ('comment: ' || coalesce(obj_description(n.oid, 'pg_namespace'), '(none)')),
               ('member: ' || EXISTS (SELECT 1 FROM mem m WHERE m.classid = 'pg_namespace'::regclass
                                                           AND m.objid = n.oid))) AS x(line)
    UNION ALL                                 -- objects in the schema that are not members
    SELECT 'schema ' || n.nspname || ' | not a member: function ' || p.oid::regprocedure::text
      FROM ext JOIN pg_namespace n ON n.oid = ext.extnamespace
               JOIN pg_proc p ON p.pronamespace = n.oid
     WHERE NOT EXISTS (SELECT 1 FROM mem m WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid)
    UNION ALL
    SELECT 'schema ' || n.nspname || ' | not a member: relation ' || c.oid::regclass::text
      FROM ext JOIN pg_namespace n ON n.oid = ext.extnamespace
               JOIN pg_class c ON c.relnamespace = n.oid
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND NOT EXISTS (SELECT 1 FROM mem m WHERE m.classid = 'pg_class'::regclass AND m.objid = c.oid)
    ------------------------------------------------------------------ every member
    UNION ALL
    SELECT o.id || ' | member' FROM obj o
    UNION ALL                                 -- comments (objects, columns)
    SELECT o.id || ' | ' || CASE WHEN d.objsubid = 0 THEN 'comment: '
                                 ELSE 'column ' || quote_ident(a.attname) || ' comment: ' END
           || d.description
      FROM obj o JOIN pg_description d ON d.classoid = o.classid AND d.objoid = o.objid
                 LEFT JOIN pg_attribute a ON d.classoid = 'pg_class'::regclass
                                         AND a.attrelid = d.objoid AND a.attnum = d.objsubid
    UNION ALL                                 -- comments on the columns of composite types
    SELECT r.id || ' | column ' || quote_ident(a.attname) || ' comment: ' || d.description
      FROM rel r JOIN pg_class c ON c.oid = r.oid AND c.relkind = 'c'
                 JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = r.oid AND d.objsubid > 0
                 JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = d.objsubid
    UNION ALL                                 -- privileges recorded at install/update time
    SELECT o.id || ' | ' || CASE WHEN i.objsubid = 0 THEN '' ELSE 'column ' || quote_ident(a.attname) || ' ' END
           || 'initial privileges (' || i.privtype::text || '): ' || i.initprivs::text
      FROM obj o JOIN pg_init_privs i ON i.classoid = o.classid AND i.objoid = o.objid
                 LEFT JOIN pg_attribute a ON i.classoid = 'pg_class'::regclass
                                         AND a.attrelid = i.objoid AND a.attnum = i.objsubid
    ------------------------------------------------------------------ functions
    UNION ALL
    SELECT o.id || ' | ' || x.line
      FROM obj o JOIN pg_proc p ON p.oid = o.objid AND o.classid = 'pg_proc'::regclass JOIN ext ON true,
           LATERAL (VALUES
               ('kind: ' || p.prokind::text),
               ('owner: ' || CASE WHEN p.proowner = ext.extowner THEN '(extension owner)'
                                  ELSE p.proowner::regrole::text END),
               ('acl: ' || coalesce(p.proacl::text, '(default)')),
               ('support: ' || p.prosupport::regproc::text)) AS x(line)
    UNION ALL                                 -- the full definition, line by line
    SELECT o.id || ' | def ' || lpad(l.n::text, 4, '0') || ': ' || l.t
      FROM obj o JOIN pg_proc p ON p.oid = o.objid AND o.classid = 'pg_proc'::regclass AND p.prokind <> 'a',
           LATERAL regexp_split_to_table(pg_get_functiondef(p.oid), E'\n') WITH ORDINALITY AS l(t, n)
    UNION ALL                                 -- aggregates
    SELECT o.id || ' | aggregate: ' || concat_ws(', ',
               'kind=' || g.aggkind::text, 'args=' || g.aggnumdirectargs,
               'sfunc=' || g.aggtransfn::regproc::text, 'stype=' || format_type(g.aggtranstype, NULL),
               'sspace=' || g.aggtransspace, 'finalfunc=' || g.aggfinalfn::regproc::text,
               'finalextra=' || g.aggfinalextra, 'finalmodify=' || g.aggfinalmodify::text,
               'combinefunc=' || g.aggcombinefn::regproc::text,
               'serialfunc=' || g.aggserialfn::regproc::text, 'deserialfunc=' || g.aggdeserialfn::regproc::text,
               'msfunc=' || g.aggmtransfn::regproc::text, 'minvfunc=' || g.aggminvtransfn::regproc::text,
               'mfinalfunc=' || g.aggmfinalfn::regproc::text, 'mstype=' || format_type(g.aggmtranstype, NULL),
               'initcond=' || coalesce(quote_literal(g.agginitval), 'null'),
               'minitcond=' || coalesce(quote_literal(g.aggminitval), 'null'),
               'sortop=' || g.aggsortop::regoperator::text,
               'signature=' || pg_get_function_arguments(p.oid) || ' -> ' || pg_get_function_result(p.oid),
               'volatility=' || p.provolatile::text, 'strict=' || p.proisstrict, 'parallel=' || p.proparallel::text)
      FROM obj o JOIN pg_proc p ON p.oid = o.objid AND o.classid = 'pg_proc'::regclass
                 JOIN pg_aggregate g ON g.aggfnoid = p.oid
    ------------------------------------------------------------------ relations
    UNION ALL
    SELECT r.id || ' | ' || x.line
      FROM rel r JOIN pg_class c ON c.oid = r.oid JOIN ext ON true,
           LATERAL (VALUES
               ('relkind: ' || c.relkind::text),
               ('persistence: ' || c.relpersistence::text),
               ('owner: ' || CASE WHEN c.relowner = ext.extowner THEN '(extension owner)'
                                  ELSE c.relowner::regrole::text END),
               ('acl: ' || coalesce(c.relacl::text, '(default)')),
               ('options: ' || coalesce(c.reloptions::text, '(none)')),
               ('row security: ' || c.relrowsecurity || ', forced: ' || c.relforcerowsecurity),
               ('replica identity: ' || c.relreplident::text),
               ('access method: ' || coalesce((SELECT amname FROM pg_am WHERE oid = c.relam), '(none)')),
               ('partition key: ' || coalesce(pg_get_partkeydef(c.oid), '(none)')),
               ('partition bound: ' || coalesce(pg_get_expr(c.relpartbound, c.oid), '(none)')),
               ('inherits: ' || coalesce((SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno)
                                            FROM pg_inherits i WHERE i.inhrelid = c.oid), '(none)'))) AS x(line)
    UNION ALL                                 -- columns, in order (dropped ones skipped)
    SELECT r.id || ' | column ' || lpad(a.pos::text, 3, '0') || ' ' || quote_ident(a.attname) || ': '
           || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                   THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
           || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
           || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                                 WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END
           || CASE WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'
                   WHEN ad.adbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid) ELSE '' END
           || CASE WHEN a.attstattarget >= 0 THEN ' STATISTICS ' || a.attstattarget ELSE '' END
           || CASE WHEN a.attstorage <> t.typstorage THEN ' STORAGE ' || a.attstorage::text ELSE '' END
           || CASE WHEN a.attcompression <> '' THEN ' COMPRESSION ' || a.attcompression::text ELSE '' END
           || coalesce(' OPTIONS ' || (SELECT string_agg(x, ', ' ORDER BY x) FROM unnest(a.attoptions) x
                                        WHERE x NOT LIKE 'pg\_attver=%'), '')   -- (a per-database counter
                                                                                -- some builds keep there)
           || CASE WHEN a.attacl IS NOT NULL THEN ' ACL ' || a.attacl::text ELSE '' END
      FROM rel r
           JOIN (SELECT pa.*, row_number() OVER (PARTITION BY pa.attrelid ORDER BY pa.attnum) AS pos
                   FROM pg_attribute pa WHERE pa.attnum > 0 AND NOT pa.attisdropped) a ON a.attrelid = r.oid
           JOIN pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL                                 -- constraints
    SELECT r.id || ' | constraint ' || quote_ident(k.conname) || ': ' || pg_get_constraintdef(k.oid)
           || coalesce(' COMMENT ' || quote_literal(obj_description(k.oid, 'pg_constraint')), '')
      FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid
    UNION ALL                                 -- indexes
    SELECT r.id || ' | index: ' || pg_get_indexdef(i.indexrelid)
           || CASE WHEN i.indisclustered THEN ' CLUSTERED' ELSE '' END
           || CASE WHEN i.indisreplident THEN ' REPLICA IDENTITY' ELSE '' END
           || CASE WHEN NOT i.indisvalid THEN ' INVALID' ELSE '' END
           || coalesce(' COMMENT ' || quote_literal(obj_description(i.indexrelid, 'pg_class')), '')
      FROM rel r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL                                 -- triggers
    SELECT r.id || ' | trigger ' || quote_ident(g.tgname) || ': ' || pg_get_triggerdef(g.oid)
           || CASE WHEN g.tgenabled <> 'O' THEN ' ENABLED ' || g.tgenabled::text ELSE '' END
           || coalesce(' COMMENT ' || quote_literal(obj_description(g.oid, 'pg_trigger')), '')
      FROM rel r JOIN pg_trigger g ON g.tgrelid = r.oid AND NOT g.tgisinternal
    UNION ALL                                 -- rules (other than the view's own)
    SELECT r.id || ' | rule ' || quote_ident(w.rulename) || ': ' || pg_get_ruledef(w.oid)
           || CASE WHEN w.ev_enabled <> 'O' THEN ' ENABLED ' || w.ev_enabled::text ELSE '' END
      FROM rel r JOIN pg_rewrite w ON w.ev_class = r.oid AND w.rulename <> '_RETURN'
    UNION ALL                                 -- row security policies
    SELECT r.id || ' | policy ' || quote_ident(p.polname) || ': ' || concat_ws(' ',
               'FOR ' || p.polcmd::text, CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
               'TO ' || (SELECT string_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END, ', ' ORDER BY 1)
                           FROM unnest(p.polroles) x),
               'USING (' || pg_get_expr(p.polqual, p.polrelid) || ')',
               'WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')')
      FROM rel r JOIN pg_policy p ON p.polrelid = r.oid
    UNION ALL                                 -- extended statistics
    SELECT r.id || ' | statistics: ' || pg_get_statisticsobjdef(s.oid)
      FROM rel r JOIN pg_statistic_ext s ON s.stxrelid = r.oid
    UNION ALL                                 -- views and materialized views, line by line
    SELECT r.id || ' | view ' || lpad(l.n::text, 4, '0') || ': ' || l.t
      FROM rel r JOIN pg_class c ON c.oid = r.oid AND c.relkind IN ('v', 'm'),
           LATERAL regexp_split_to_table(pg_get_viewdef(c.oid), E'\n') WITH ORDINALITY AS l(t, n)
    UNION ALL                                 -- sequences
    SELECT r.id || ' | sequence: ' || concat_ws(' ', 'AS ' || format_type(s.seqtypid, NULL),
               'START ' || s.seqstart, 'INCREMENT ' || s.seqincrement, 'MINVALUE ' || s.seqmin,
               'MAXVALUE ' || s.seqmax, 'CACHE ' || s.seqcache,
               CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END,
               'OWNED BY ' || coalesce((SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname)
                                          FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid
                                                                              AND a.attnum = d.refobjsubid
                                         WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                                           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                                           AND d.refobjsubid > 0), 'NONE'))
      FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
    UNION ALL                                 -- rows the install script puts into tables
    SELECT r.id || ' | rows: '
           || (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM ONLY %s', c.oid::regclass),
                                                     false, true, '')))[1]::text
      FROM rel r JOIN pg_class c ON c.oid = r.oid AND c.relkind = 'r'
    ------------------------------------------------------------------ types
    UNION ALL
    SELECT o.id || ' | ' || x.line
      FROM obj o JOIN pg_type t ON t.oid = o.objid AND o.classid = 'pg_type'::regclass JOIN ext ON true,
           LATERAL (VALUES
               ('typtype: ' || t.typtype::text),
               ('owner: ' || CASE WHEN t.typowner = ext.extowner THEN '(extension owner)'
                                  ELSE t.typowner::regrole::text END),
               ('acl: ' || coalesce(t.typacl::text, '(default)')),
               ('storage: ' || concat_ws(' ', 'len=' || t.typlen, 'byval=' || t.typbyval, 'align=' || t.typalign::text,
                                         'storage=' || t.typstorage::text, 'category=' || t.typcategory::text,
                                         'preferred=' || t.typispreferred, 'delim=' || t.typdelim::text,
                                         'collation=' || coalesce(t.typcollation::regcollation::text, '0'))),
               ('functions: ' || concat_ws(' ', 'input=' || t.typinput::regproc::text,
                                           'output=' || t.typoutput::regproc::text,
                                           'receive=' || t.typreceive::regproc::text,
                                           'send=' || t.typsend::regproc::text,
                                           'typmod_in=' || t.typmodin::regproc::text,
                                           'typmod_out=' || t.typmodout::regproc::text,
                                           'analyze=' || t.typanalyze::regproc::text,
                                           'subscript=' || t.typsubscript::regproc::text)),
               ('element: ' || coalesce(format_type(nullif(t.typelem, 0), NULL), '(none)')),
               ('array type: ' || coalesce(format_type(nullif(t.typarray, 0), NULL), '(none)')),
               ('domain: ' || CASE WHEN t.typtype = 'd'
                                   THEN format_type(t.typbasetype, t.typtypmod)
                                        || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                                   ELSE '(not a domain)' END),
               ('default: ' || coalesce(pg_get_expr(t.typdefaultbin, 0), t.typdefault, '(none)'))) AS x(line)
    UNION ALL                                 -- domain constraints
    SELECT o.id || ' | constraint ' || quote_ident(k.conname) || ': ' || pg_get_constraintdef(k.oid)
      FROM obj o JOIN pg_constraint k ON k.contypid = o.objid AND o.classid = 'pg_type'::regclass
    UNION ALL                                 -- enum labels, in their order
    SELECT o.id || ' | label ' || lpad(e.pos::text, 3, '0') || ': ' || e.enumlabel
      FROM obj o JOIN (SELECT pe.*, row_number() OVER (PARTITION BY pe.enumtypid ORDER BY pe.enumsortorder) AS pos
                         FROM pg_enum pe) e ON e.enumtypid = o.objid AND o.classid = 'pg_type'::regclass
    UNION ALL                                 -- range types
    SELECT o.id || ' | range: ' || concat_ws(' ', 'subtype=' || format_type(g.rngsubtype, NULL),
               'multirange=' || format_type(g.rngmultitypid, NULL),
               'collation=' || coalesce(g.rngcollation::regcollation::text, '0'),
               'opclass=' || (SELECT opcname FROM pg_opclass WHERE oid = g.rngsubopc),
               'canonical=' || g.rngcanonical::regproc::text, 'subdiff=' || g.rngsubdiff::regproc::text)
      FROM obj o JOIN pg_range g ON g.rngtypid = o.objid AND o.classid = 'pg_type'::regclass
    ------------------------------------------------------------------ operators, casts, classes
    UNION ALL
    SELECT o.id || ' | operator: ' || concat_ws(' ', 'result=' || format_type(p.oprresult, NULL),
               'function=' || p.oprcode::regproc::text,
               'commutator=' || coalesce(nullif(p.oprcom, 0)::regoperator::text, '-'),
               'negator=' || coalesce(nullif(p.oprnegate, 0)::regoperator::text, '-'),
               'restrict=' || p.oprrest::regproc::text, 'join=' || p.oprjoin::regproc::text,
               'merges=' || p.oprcanmerge, 'hashes=' || p.oprcanhash)
      FROM obj o JOIN pg_operator p ON p.oid = o.objid AND o.classid = 'pg_operator'::regclass
    UNION ALL
    SELECT o.id || ' | cast: ' || concat_ws(' ', 'function=' || coalesce(nullif(c.castfunc, 0)::regprocedure::text, '-'),
               'context=' || c.castcontext::text, 'method=' || c.castmethod::text)
      FROM obj o JOIN pg_cast c ON c.oid = o.objid AND o.classid = 'pg_cast'::regclass
    UNION ALL
    SELECT o.id || ' | operator class: ' || concat_ws(' ', 'type=' || format_type(c.opcintype, NULL),
               'default=' || c.opcdefault,
               'family=' || (SELECT f.opfnamespace::regnamespace::text || '.' || f.opfname || ' USING ' || a.amname
                               FROM pg_opfamily f JOIN pg_am a ON a.oid = f.opfmethod WHERE f.oid = c.opcfamily),
               'storage=' || coalesce(format_type(nullif(c.opckeytype, 0), NULL), '-'))
      FROM obj o JOIN pg_opclass c ON c.oid = o.objid AND o.classid = 'pg_opclass'::regclass
    UNION ALL                                 -- the operators and support functions of families
    SELECT o.id || ' | operator ' || a.amopstrategy || ' (' || format_type(a.amoplefttype, NULL) || ', '
           || format_type(a.amoprighttype, NULL) || '): ' || a.amopopr::regoperator::text
           || ' purpose=' || a.amoppurpose::text
           || coalesce(' sortfamily=' || (SELECT f.opfname FROM pg_opfamily f WHERE f.oid = a.amopsortfamily), '')
      FROM obj o JOIN pg_amop a ON a.amopfamily = o.objid AND o.classid = 'pg_opfamily'::regclass
    UNION ALL
    SELECT o.id || ' | function ' || a.amprocnum || ' (' || format_type(a.amproclefttype, NULL) || ', '
           || format_type(a.amprocrighttype, NULL) || '): ' || a.amproc::regprocedure::text
      FROM obj o JOIN pg_amproc a ON a.amprocfamily = o.objid AND o.classid = 'pg_opfamily'::regclass
    UNION ALL
    SELECT o.id || ' | language: ' || concat_ws(' ', 'trusted=' || l.lanpltrusted,
               'handler=' || l.lanplcallfoid::regproc::text, 'inline=' || l.laninline::regproc::text,
               'validator=' || l.lanvalidator::regproc::text,
               'acl=' || coalesce(l.lanacl::text, '(default)'))
      FROM obj o JOIN pg_language l ON l.oid = o.objid AND o.classid = 'pg_language'::regclass
)
SELECT l.line FROM (SELECT replace(coalesce(line, '(a NULL line: fix extension_catalog.sql)'), E'\n', '\n') AS line FROM listing) l
 ORDER BY l.line COLLATE "C";
