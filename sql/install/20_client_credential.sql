-- data8 install script, part 20: client credentials and their secrets
-- (src/client_credential.c).
--
-- Client credentials are what obtains OAuth tokens for this account's
-- batch API: creating, changing or deleting them (and above all creating a
-- secret, whose value is returned) is administrative, so PUBLIC may not
-- execute these functions; the owner grants them to whom it chooses.

CREATE FUNCTION data8.client_credentials()
RETURNS SETOF data8.client_credential
AS 'MODULE_PATHNAME', 'data8_client_credentials'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.client_credentials() IS
    'Lists the account''s client credentials (GET /ClientCredential); secrets is NULL in the list.';

CREATE FUNCTION data8.client_credential(client_id text)
RETURNS data8.client_credential
AS 'MODULE_PATHNAME', 'data8_client_credential'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.client_credential(text) IS
    'Details of one client credential with its secrets (never their values) (GET /ClientCredential/{id}).';

CREATE FUNCTION data8.create_client_credential(description text DEFAULT NULL)
RETURNS data8.client_credential
AS 'MODULE_PATHNAME', 'data8_create_client_credential'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.create_client_credential(text) IS
    'Creates a client credential with a generated client_id and no secret yet (POST /ClientCredential); see data8.create_client_secret().';
-- administrative: creates a credential of the account
REVOKE ALL ON FUNCTION data8.create_client_credential(text) FROM PUBLIC;

CREATE FUNCTION data8.update_client_credential(client_id text, description text)
RETURNS data8.client_credential
AS 'MODULE_PATHNAME', 'data8_update_client_credential'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.update_client_credential(text, text) IS
    'Changes the description of a client credential (PUT /ClientCredential/{id}; NULL leaves it unchanged) and returns the credential as it now is.';
-- administrative: changes a credential of the account
REVOKE ALL ON FUNCTION data8.update_client_credential(text, text) FROM PUBLIC;

CREATE FUNCTION data8.delete_client_credential(client_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_delete_client_credential'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.delete_client_credential(text) IS
    'Deletes a client credential and its secrets (DELETE /ClientCredential/{id}); returns nothing.';
-- administrative: cuts off whatever uses the credential
REVOKE ALL ON FUNCTION data8.delete_client_credential(text) FROM PUBLIC;

CREATE FUNCTION data8.client_secrets(client_id text)
RETURNS SETOF data8.client_secret
AS 'MODULE_PATHNAME', 'data8_client_secrets'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.client_secrets(text) IS
    'The secrets of a client credential, without their values (GET /ClientCredential/{id}/secrets).';

CREATE FUNCTION data8.client_secret(client_id text, secret_id integer)
RETURNS data8.client_secret
AS 'MODULE_PATHNAME', 'data8_client_secret'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.client_secret(text, integer) IS
    'One secret of a client credential, without its value (GET /ClientCredential/{id}/secrets/{secretId}).';

CREATE FUNCTION data8.create_client_secret(client_id text, description text DEFAULT NULL,
                                           expires timestamptz DEFAULT NULL)
RETURNS data8.new_client_secret
AS 'MODULE_PATHNAME', 'data8_create_client_secret'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.create_client_secret(text, text, timestamptz) IS
    'Creates a secret for a client credential (POST /ClientCredential/{id}/secrets); generated_secret is returned this once and cannot be read again. NULL expires: no expiry.';
-- administrative, and it returns a secret that obtains tokens for the account
REVOKE ALL ON FUNCTION data8.create_client_secret(text, text, timestamptz) FROM PUBLIC;

CREATE FUNCTION data8.update_client_secret(client_id text, secret_id integer,
                                           description text DEFAULT NULL,
                                           expires timestamptz DEFAULT NULL)
RETURNS data8.client_secret
AS 'MODULE_PATHNAME', 'data8_update_client_secret'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.update_client_secret(text, integer, text, timestamptz) IS
    'Changes the non-NULL fields of a client secret (PUT /ClientCredential/{id}/secrets/{secretId}) and returns it as it now is.';
-- administrative: extends or ends a secret's life
REVOKE ALL ON FUNCTION data8.update_client_secret(text, integer, text, timestamptz) FROM PUBLIC;

CREATE FUNCTION data8.delete_client_secret(client_id text, secret_id integer)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_delete_client_secret'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.delete_client_secret(text, integer) IS
    'Deletes a client secret (DELETE /ClientCredential/{id}/secrets/{secretId}); returns nothing.';
-- administrative: cuts off whatever uses the secret
REVOKE ALL ON FUNCTION data8.delete_client_secret(text, integer) FROM PUBLIC;
