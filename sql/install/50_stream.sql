-- data8 install script, part 50: the streaming data path
-- (src/stream_upload.c, src/stream_fetch.c).

CREATE FUNCTION data8.upload_dataset(name text, query text,
                                     first_block integer DEFAULT 0,
                                     complete boolean DEFAULT true)
RETURNS data8.upload_summary
AS 'MODULE_PATHNAME', 'data8_upload_dataset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.upload_dataset(text, text, integer, boolean) IS
    'Creates a dataset typed after the query''s columns and streams its rows in blocks of 1,000 (data8.parallel_requests in flight); completes it with the exact count unless complete is false.';

CREATE FUNCTION data8.fetch_output(name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'data8_fetch_output'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION data8.fetch_output(text) IS
    'An output dataset''s records as rows: give a column definition list (AS t(id int, ...)); columns are matched by name.';

CREATE FUNCTION data8.fetch_output(name text, rowtype anyelement)
RETURNS SETOF anyelement
AS 'MODULE_PATHNAME', 'data8_fetch_output'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION data8.fetch_output(text, anyelement) IS
    'An output dataset''s records as rows of a composite type: data8.fetch_output(name, NULL::my_table).';

CREATE FUNCTION data8.fetch_output_json(name text)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'data8_fetch_output_json'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION data8.fetch_output_json(text) IS
    'An output dataset''s records as jsonb objects, in dataset order.';

CREATE FUNCTION data8.column_type_for(type regtype)
RETURNS integer
AS 'MODULE_PATHNAME', 'data8_column_type_for'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION data8.column_type_for(regtype) IS
    'The Data8 column type code (see data8.column_type) that data8.upload_dataset() sends a column of this type as, or NULL if it cannot be sent.';
