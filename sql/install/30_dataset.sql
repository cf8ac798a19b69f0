-- data8 install script, part 30: datasets (src/dataset.c).

CREATE FUNCTION data8.datasets(include_input boolean DEFAULT true,
                               include_output boolean DEFAULT true)
RETURNS SETOF data8.dataset
AS 'MODULE_PATHNAME', 'data8_datasets'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.datasets(boolean, boolean) IS
    'Lists the account''s datasets over all pages (GET /Dataset, read until an empty page), sorted by name; a NULL argument leaves its filter out (both kinds are then included).';

CREATE FUNCTION data8.dataset(name text)
RETURNS data8.dataset
AS 'MODULE_PATHNAME', 'data8_dataset'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.dataset(text) IS
    'Details of one dataset, with its columns (GET /Dataset/{name}).';

CREATE FUNCTION data8.create_dataset(name text, columns jsonb)
RETURNS data8.dataset
AS 'MODULE_PATHNAME', 'data8_create_dataset'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.create_dataset(text, jsonb) IS
    'Creates an input dataset (POST /Dataset); columns maps names to a type code 0-5 or name (see data8.column_type).';

CREATE FUNCTION data8.complete_dataset(name text, record_count bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_complete_dataset'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.complete_dataset(text, bigint) IS
    'Marks an input dataset complete (PUT /Dataset/{name}); the service checks record_count against the records it holds.';

CREATE FUNCTION data8.delete_dataset(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_delete_dataset'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.delete_dataset(text) IS
    'Deletes a dataset for good (DELETE /Dataset/{name}); its name can never be used again.';

CREATE FUNCTION data8.upload_block(name text, block_number integer, records jsonb)
RETURNS integer
AS 'MODULE_PATHNAME', 'data8_upload_block'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.upload_block(text, integer, jsonb) IS
    'Uploads one block of 1 to 1,000 records (PATCH /Dataset/{name}/data); the same block number overwrites. Returns the records sent.';

CREATE FUNCTION data8.download_block(name text, start bigint, count integer)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'data8_download_block'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.download_block(text, bigint, integer) IS
    'Downloads up to 1,000 records of an output dataset from record start (1-based) (GET /Dataset/{name}/data).';
