-- api_key: create, list, get, update, delete, the allowed domains, IP
-- networks and services of a key, the errors, privileges and isolation
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');

-- create with a chosen key and every field
SELECT * FROM data8.create_api_key(key => 'ak_full', description => 'Full key', username => 'web',
       expires_on => '2030-06-01 12:00:00+00', max_requests_per_ip_per_day => 500,
       is_client_key => true);
-- only the key: NULL fields are left out
SELECT * FROM data8.create_api_key('ak_min');
-- a generated key (not shown: it differs on each run)
SELECT key AS gen_key, description AS gen_description FROM data8.create_api_key(description => 'generated') \gset
SELECT length(:'gen_key') > 0 AS generated, :'gen_description' AS description;

-- get and list
SELECT * FROM data8.api_key('ak_full');
SELECT key, description, is_client_key FROM data8.api_keys() WHERE key LIKE 'ak\_%' ORDER BY key;
SELECT count(*) AS generated_listed FROM data8.api_keys() WHERE key = :'gen_key';

-- update: only the given fields change; the answer is the key as it now is
SELECT * FROM data8.update_api_key('ak_full', description => 'Changed', max_requests_per_ip_per_day => 0);
SELECT key, username, expires_on, is_client_key
  FROM data8.update_api_key(key => 'ak_full', username => 'api', expires_on => '2031-01-01 00:00:00.5+00',
                            is_client_key => false);
-- nothing to change: no PUT is sent, the key is read back
SELECT key, description FROM data8.update_api_key('ak_min');
SELECT count(*) AS puts_to_ak_min FROM
  regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS l
 WHERE l LIKE '%"PUT"%' AND l LIKE '%"/ApiKey/ak_min"%';

-- allowed domains (case-insensitive: sent in lower case; adding twice is no error)
SELECT data8.add_api_key_allowed_domain('ak_full', 'www.Example.com');
SELECT data8.add_api_key_allowed_domain('ak_full', '*.example.org');
SELECT data8.add_api_key_allowed_domain('ak_full', 'www.example.com');
SELECT * FROM data8.api_key_allowed_domains('ak_full') ORDER BY 1;
SELECT data8.remove_api_key_allowed_domain('ak_full', 'WWW.example.com');
SELECT * FROM data8.api_key_allowed_domains('ak_full') ORDER BY 1;
SELECT data8.remove_api_key_allowed_domain('ak_full', 'www.example.com');

-- allowed IP networks: added with the body form (POST .../allowedIPs, the
-- network as a CIDR string), removed with network and prefix in the path,
-- percent-encoded (the request log below leaves out requests the simulator
-- failed on purpose)
SELECT data8.add_api_key_allowed_ip('ak_full', '10.1.0.0/16');
SELECT data8.add_api_key_allowed_ip('ak_full', '192.168.1.7');
SELECT data8.add_api_key_allowed_ip(key => 'ak_full', network => '2001:db8::/32');
SELECT data8.api_key_allowed_ips('ak_full') AS network ORDER BY 1;
SELECT data8.remove_api_key_allowed_ip('ak_full', '10.1.0.0/16');
SELECT data8.api_key_allowed_ips('ak_full') AS network ORDER BY 1;
SELECT data8.remove_api_key_allowed_ip('ak_full', '10.1.0.0/16');
SELECT l::jsonb->>'method' AS method, l::jsonb->>'path' AS path, l::jsonb->>'status' AS status FROM
  regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS l
 WHERE l LIKE '%/allowedIPs%' AND l::jsonb->>'fault' IS NULL ORDER BY (l::jsonb->>'seq')::bigint;

-- allowed services
SELECT data8.add_api_key_allowed_service('ak_full', 'AddressCapture');
SELECT data8.add_api_key_allowed_service(key => 'ak_full', service => 'Email.Validation-v2');
SELECT * FROM data8.api_key_allowed_services('ak_full') ORDER BY 1;
SELECT data8.remove_api_key_allowed_service('ak_full', 'AddressCapture');
SELECT * FROM data8.api_key_allowed_services('ak_full') ORDER BY 1;
SELECT data8.remove_api_key_allowed_service('ak_full', 'AddressCapture');

-- the key with its restrictions
SELECT * FROM data8.api_key('ak_full');

-- 409: the key exists
SELECT data8.create_api_key('ak_full');
\set VERBOSITY sqlstate
SELECT data8.create_api_key('ak_full');
\set VERBOSITY default

-- 400: the longest key is the service's rule
SELECT data8.create_api_key(repeat('k', 101));

-- 404
SELECT data8.api_key('ak_missing');
\set VERBOSITY sqlstate
SELECT data8.api_key('ak_missing');
\set VERBOSITY default
SELECT data8.update_api_key('ak_missing', description => 'x');
SELECT data8.update_api_key('ak_missing');
SELECT data8.delete_api_key('ak_missing');
SELECT * FROM data8.api_key_allowed_domains('ak_missing');
SELECT data8.add_api_key_allowed_domain('ak_missing', 'example.com');
SELECT data8.remove_api_key_allowed_domain('ak_missing', 'example.com');
SELECT * FROM data8.api_key_allowed_ips('ak_missing');
SELECT data8.add_api_key_allowed_ip('ak_missing', '10.0.0.0/8');
SELECT data8.remove_api_key_allowed_ip('ak_missing', '10.0.0.0/8');
SELECT * FROM data8.api_key_allowed_services('ak_missing');
SELECT data8.add_api_key_allowed_service('ak_missing', 'AddressCapture');
SELECT data8.remove_api_key_allowed_service('ak_missing', 'AddressCapture');

-- rejected before anything is sent
SELECT key AS before_posts FROM (SELECT count(*)::text AS key FROM
  regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS l
 WHERE l LIKE '%"POST"%') s \gset
SELECT data8.api_key('');
SELECT data8.api_key('zz bad');
SELECT data8.api_key('zz/../Dataset');
SELECT data8.create_api_key(key => '');
SELECT data8.create_api_key(key => 'zz.key');
SELECT data8.create_api_key(key => 'zz_neg', max_requests_per_ip_per_day => -1);
SELECT data8.create_api_key(key => 'zz_inf', expires_on => 'infinity');
SELECT data8.create_api_key(description => 'zz_far', expires_on => '10000-01-01 00:00:00+00');
SELECT data8.update_api_key(NULL, description => 'x');
SELECT data8.update_api_key('zz_upd', expires_on => '-infinity');
SELECT data8.update_api_key('zz_upd', max_requests_per_ip_per_day => -5);
SELECT data8.delete_api_key('zz key');
SELECT data8.add_api_key_allowed_domain('zz_dom', 'https://example.com');
SELECT data8.add_api_key_allowed_domain('zz_dom', 'exa mple.com');
SELECT data8.add_api_key_allowed_domain('zz_dom', '-bad.example.com');
SELECT data8.add_api_key_allowed_domain('zz_dom', 'bad-.example.com');
SELECT data8.add_api_key_allowed_domain('zz_dom', 'a..example.com');
SELECT data8.add_api_key_allowed_domain('zz_dom', 'www.*.example.com');
SELECT data8.add_api_key_allowed_domain('zz_dom', repeat('a', 64) || '.com');
SELECT data8.add_api_key_allowed_domain('zz_dom', repeat('abcdefghi.', 26) || 'com');
SELECT data8.add_api_key_allowed_domain('zz_dom', '*.');
SELECT data8.remove_api_key_allowed_domain('zz_dom', '');
SELECT data8.add_api_key_allowed_ip('zz ip', '10.0.0.0/8');
SELECT data8.add_api_key_allowed_service('zz_svc', 'Address Capture');
SELECT data8.add_api_key_allowed_service('zz_svc', '../Dataset');
SELECT data8.remove_api_key_allowed_service('zz_svc', '');
SELECT data8.api_key(NULL) IS NULL AS strict,
       data8.delete_api_key(NULL) IS NULL AS strict_delete,
       data8.add_api_key_allowed_ip('ak_full', NULL) IS NULL AS strict_add;
-- nothing above reached the service
SELECT count(*) AS requests_with_rejected_names FROM
  regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS l
 WHERE l LIKE '%zz%';
SELECT count(*) - :before_posts AS new_posts FROM
  regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS l
 WHERE l LIKE '%"POST"%';

-- administrative functions are not executable by PUBLIC
SELECT p.oid::regprocedure AS function,
       NOT EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    WHERE a.grantee = 0) AS public_denied
  FROM pg_proc p
 WHERE p.pronamespace = 'data8'::regnamespace AND p.proname LIKE '%api_key%'
 ORDER BY p.proname;

-- accounts are isolated
SELECT data8.set_profile('other', 'other-client', 'other-secret-77aa31',
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET data8.profile = 'other';
SELECT count(*) AS keys_seen_by_other FROM data8.api_keys() WHERE key IN ('ak_full', 'ak_min', :'gen_key');
SELECT data8.api_key('ak_full');
SELECT data8.delete_api_key('ak_full');
SELECT * FROM data8.create_api_key('ak_full', description => 'other account''s own');
SELECT data8.delete_api_key('ak_full');
RESET data8.profile;
SELECT key, description FROM data8.api_key('ak_full');

-- delete
SELECT data8.delete_api_key('ak_full');
SELECT data8.delete_api_key('ak_min');
SELECT data8.delete_api_key(:'gen_key');
SELECT data8.api_key('ak_full');
SELECT count(*) AS keys_left FROM data8.api_keys() WHERE key IN ('ak_full', 'ak_min', :'gen_key');
