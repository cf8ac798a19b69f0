-- data8 install script, part 10: API keys (src/api_key.c).
--
-- Creating, changing and deleting API keys and their restrictions changes
-- what the account's keys may do: these functions are administrative, so
-- PUBLIC may not execute them; the owner grants them to whom it chooses.

CREATE FUNCTION data8.api_keys()
RETURNS SETOF data8.api_key
AS 'MODULE_PATHNAME', 'data8_api_keys'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_keys() IS
    'Lists the account''s API keys with their restrictions (GET /ApiKey).';

CREATE FUNCTION data8.api_key(key text)
RETURNS data8.api_key
AS 'MODULE_PATHNAME', 'data8_api_key'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_key(text) IS
    'Details of one API key (GET /ApiKey/{key}).';

CREATE FUNCTION data8.create_api_key(
    key text DEFAULT NULL, description text DEFAULT NULL, username text DEFAULT NULL,
    expires_on timestamptz DEFAULT NULL, max_requests_per_ip_per_day integer DEFAULT NULL,
    is_client_key boolean DEFAULT false)
RETURNS data8.api_key
AS 'MODULE_PATHNAME', 'data8_create_api_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.create_api_key(text, text, text, timestamptz, integer, boolean) IS
    'Creates an API key (POST /ApiKey); a NULL key lets Data8 generate one, other NULL fields are left out. Returns the new key.';
-- administrative: creates a credential for Data8's services
REVOKE ALL ON FUNCTION data8.create_api_key(text, text, text, timestamptz, integer, boolean) FROM PUBLIC;

CREATE FUNCTION data8.update_api_key(
    key text, description text DEFAULT NULL, username text DEFAULT NULL,
    expires_on timestamptz DEFAULT NULL, max_requests_per_ip_per_day integer DEFAULT NULL,
    is_client_key boolean DEFAULT NULL)
RETURNS data8.api_key
AS 'MODULE_PATHNAME', 'data8_update_api_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.update_api_key(text, text, text, timestamptz, integer, boolean) IS
    'Changes the non-NULL fields of an API key (PUT /ApiKey/{key}; NULL leaves a field unchanged) and returns the key as it now is.';
-- administrative: changes what a key may do
REVOKE ALL ON FUNCTION data8.update_api_key(text, text, text, timestamptz, integer, boolean) FROM PUBLIC;

CREATE FUNCTION data8.delete_api_key(key text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_delete_api_key'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.delete_api_key(text) IS
    'Deletes an API key (DELETE /ApiKey/{key}); returns nothing, an error if the key does not exist.';
-- administrative: revokes a key that applications may depend on
REVOKE ALL ON FUNCTION data8.delete_api_key(text) FROM PUBLIC;

-- allowed domains
CREATE FUNCTION data8.api_key_allowed_domains(key text)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'data8_api_key_allowed_domains'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_key_allowed_domains(text) IS
    'Domains an API key can be used from in client-side code (GET /ApiKey/{key}/allowedDomains).';

CREATE FUNCTION data8.add_api_key_allowed_domain(key text, domain text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_add_api_key_allowed_domain'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.add_api_key_allowed_domain(text, text) IS
    'Allows an API key to be used from a domain, e.g. www.example.com or *.example.com (PUT /ApiKey/{key}/allowedDomains/{domain}); returns nothing, adding a listed domain is no error.';
-- administrative: widens where a key may be used
REVOKE ALL ON FUNCTION data8.add_api_key_allowed_domain(text, text) FROM PUBLIC;

CREATE FUNCTION data8.remove_api_key_allowed_domain(key text, domain text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_remove_api_key_allowed_domain'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.remove_api_key_allowed_domain(text, text) IS
    'Removes a domain from an API key''s allowed domains (DELETE /ApiKey/{key}/allowedDomains/{domain}); returns nothing, an error if the domain is not listed.';
-- administrative: changes where a key may be used
REVOKE ALL ON FUNCTION data8.remove_api_key_allowed_domain(text, text) FROM PUBLIC;

-- allowed IP networks
CREATE FUNCTION data8.api_key_allowed_ips(key text)
RETURNS SETOF cidr
AS 'MODULE_PATHNAME', 'data8_api_key_allowed_ips'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_key_allowed_ips(text) IS
    'IP networks an API key can be used from (GET /ApiKey/{key}/allowedIPs); none means any address.';

CREATE FUNCTION data8.add_api_key_allowed_ip(key text, network cidr)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_add_api_key_allowed_ip'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.add_api_key_allowed_ip(text, cidr) IS
    'Allows an API key to be used from an IP network (POST /ApiKey/{key}/allowedIPs with the network as a CIDR string); returns nothing, adding a listed network is no error.';
-- administrative: widens where a key may be used
REVOKE ALL ON FUNCTION data8.add_api_key_allowed_ip(text, cidr) FROM PUBLIC;

CREATE FUNCTION data8.remove_api_key_allowed_ip(key text, network cidr)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_remove_api_key_allowed_ip'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.remove_api_key_allowed_ip(text, cidr) IS
    'Removes an IP network from an API key''s allowed networks (DELETE /ApiKey/{key}/allowedIPs/{network}/{prefix}); returns nothing, an error if it is not listed.';
-- administrative: changes where a key may be used
REVOKE ALL ON FUNCTION data8.remove_api_key_allowed_ip(text, cidr) FROM PUBLIC;

-- allowed services
CREATE FUNCTION data8.api_key_allowed_services(key text)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'data8_api_key_allowed_services'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_key_allowed_services(text) IS
    'Data8 services an API key can be used to access (GET /ApiKey/{key}/allowedServices).';

CREATE FUNCTION data8.add_api_key_allowed_service(key text, service text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_add_api_key_allowed_service'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.add_api_key_allowed_service(text, text) IS
    'Allows an API key to access a Data8 service (PUT /ApiKey/{key}/allowedServices/{service}); returns nothing, adding a listed service is no error.';
-- administrative: widens what a key may do
REVOKE ALL ON FUNCTION data8.add_api_key_allowed_service(text, text) FROM PUBLIC;

CREATE FUNCTION data8.remove_api_key_allowed_service(key text, service text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_remove_api_key_allowed_service'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.remove_api_key_allowed_service(text, text) IS
    'Removes a service from an API key''s allowed services (DELETE /ApiKey/{key}/allowedServices/{service}); returns nothing, an error if it is not listed.';
-- administrative: changes what a key may do
REVOKE ALL ON FUNCTION data8.remove_api_key_allowed_service(text, text) FROM PUBLIC;
