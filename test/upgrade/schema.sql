-- Describes every object of the data8 extension, one line each, in an
-- order that does not depend on how the objects came to be: what a fresh
-- install and an upgraded one must have alike (test/upgrade.sh diffs them).
\pset tuples_only on
\pset format unaligned
WITH members AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_catalog.pg_depend d
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'data8')
       AND d.deptype = 'e'
)
SELECT line FROM (
    -- each member with its definition
    SELECT pg_catalog.pg_describe_object(m.classid, m.objid, m.objsubid) || ': ' ||
           CASE m.classid
             WHEN 'pg_catalog.pg_proc'::regclass THEN
                 pg_catalog.pg_get_functiondef(m.objid) ||
                 ' acl=' || coalesce((SELECT proacl::text FROM pg_catalog.pg_proc WHERE oid = m.objid), 'default')
             WHEN 'pg_catalog.pg_class'::regclass THEN
                 (SELECT c.relkind::text || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity ||
                         ' acl=' || coalesce(c.relacl::text, 'default') ||
                         coalesce(' view=' || pg_catalog.pg_get_viewdef(c.oid), '')
                    FROM pg_catalog.pg_class c WHERE c.oid = m.objid)
             WHEN 'pg_catalog.pg_type'::regclass THEN
                 (SELECT t.typtype::text FROM pg_catalog.pg_type t WHERE t.oid = m.objid)
             ELSE ''
           END AS line
      FROM members m
    UNION ALL
    -- columns of member tables, views and composite types, in their order
    SELECT pg_catalog.format('column %s.%s #%s %s%s%s%s', c.oid::regclass, a.attname,
               pg_catalog.row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               pg_catalog.format_type(a.atttypid, a.atttypmod),
               CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
               coalesce(' default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), ''),
               coalesce(' acl=' || a.attacl::text, ''))
      FROM members m
      JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::regclass AND c.oid = m.objid
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
    UNION ALL
    SELECT pg_catalog.format('column %s.%s #%s %s', t.oid::regtype, a.attname,
               pg_catalog.row_number() OVER (PARTITION BY t.oid ORDER BY a.attnum),
               pg_catalog.format_type(a.atttypid, a.atttypmod))
      FROM members m
      JOIN pg_catalog.pg_type t ON m.classid = 'pg_catalog.pg_type'::regclass AND t.oid = m.objid
      JOIN pg_catalog.pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE t.typtype = 'c'
    UNION ALL
    -- constraints, indexes, policies and triggers of member tables
    SELECT pg_catalog.format('constraint %s on %s: %s', co.conname, co.conrelid::regclass,
                             pg_catalog.pg_get_constraintdef(co.oid))
      FROM pg_catalog.pg_constraint co JOIN members m
        ON m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = co.conrelid
    UNION ALL
    SELECT pg_catalog.format('index %s', pg_catalog.pg_get_indexdef(i.indexrelid))
      FROM pg_catalog.pg_index i JOIN members m
        ON m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = i.indrelid
    UNION ALL
    SELECT pg_catalog.format('policy %s on %s: %s %s to %s using %s check %s', p.polname,
                             p.polrelid::regclass, p.polcmd, p.polpermissive,
                             p.polroles::regrole[]::text,
                             pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                             pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
      FROM pg_catalog.pg_policy p JOIN members m
        ON m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = p.polrelid
    UNION ALL
    SELECT pg_catalog.format('trigger %s', pg_catalog.pg_get_triggerdef(tg.oid))
      FROM pg_catalog.pg_trigger tg JOIN members m
        ON m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = tg.tgrelid
     WHERE NOT tg.tgisinternal
    UNION ALL
    -- comments on members and on their columns
    SELECT pg_catalog.format('comment on %s: %s',
                             pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
      FROM pg_catalog.pg_description d JOIN members m
        ON m.classid = d.classoid AND m.objid = d.objoid
    UNION ALL
    -- comments on the policies and triggers of member tables
    SELECT pg_catalog.format('comment on %s: %s',
                             pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
      FROM pg_catalog.pg_description d
     WHERE (d.classoid = 'pg_catalog.pg_policy'::regclass
            AND d.objoid IN (SELECT p.oid FROM pg_catalog.pg_policy p JOIN members m
                               ON m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = p.polrelid))
        OR (d.classoid = 'pg_catalog.pg_trigger'::regclass
            AND d.objoid IN (SELECT t.oid FROM pg_catalog.pg_trigger t JOIN members m
                               ON m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = t.tgrelid))
    UNION ALL
    -- the schema's own privileges, and what pg_dump keeps of the tables
    SELECT 'schema data8 acl=' || coalesce(nspacl::text, 'default')
      FROM pg_catalog.pg_namespace WHERE nspname = 'data8'
    UNION ALL
    SELECT 'config dump: ' || pg_catalog.array_to_string(
               ARRAY(SELECT x::regclass::text FROM pg_catalog.unnest(extconfig) x ORDER BY 1), ', ')
      FROM pg_catalog.pg_extension WHERE extname = 'data8'
    UNION ALL
    -- objects in the schema that do not belong to the extension
    SELECT pg_catalog.format('stray object %s', pg_catalog.pg_describe_object('pg_catalog.pg_class'::regclass, c.oid, 0))
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'data8'::regnamespace AND c.relkind IN ('r', 'v', 'S', 'p', 'm')
       AND NOT EXISTS (SELECT 1 FROM members m WHERE m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = c.oid)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d JOIN members m ON m.objid = d.refobjid
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
) s
ORDER BY line COLLATE "C";
