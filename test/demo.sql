-- The data8 demo (make demo): messy contacts, cleansed by Data8.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS data8;
RESET client_min_messages;
SELECT data8.set_profile('default', :'client_id', :'secret',
       api_url => :'sim_url', token_url => :'sim_url' || '/connect/token') \gset

CREATE TABLE contacts (
    id       integer PRIMARY KEY,
    name     text,
    email    text,
    phone    text,
    postcode text
);
INSERT INTO contacts VALUES
    (1, '  john   SMITH ', 'John.Smith@Example.COM ', '07700 900123', 'sw1a1aa'),
    (2, 'mary o''brien',   ' MARY@example.org',     '+44 7700-900456', 'EC1A  1BB'),
    (3, 'ANNE-MARIE jones', 'anne@@example',        '(01632) 960 001', 'm1 1ae'),
    (4, 'bob',              NULL,                   '12345',           'not a postcode');

\echo
\echo '== Before: a table of messy contacts'
TABLE contacts ORDER BY id;

\echo '== Upload it as a Data8 dataset'
SELECT (data8.create_dataset('demo_contacts',
        '{"id": "integer", "name": "string", "email": "string", "phone": "string", "postcode": "string"}')).name AS dataset;
SELECT data8.upload_block('demo_contacts', 0, jsonb_agg(to_jsonb(c) ORDER BY id)) AS records_sent FROM contacts c;
SELECT data8.complete_dataset('demo_contacts', 4) \gset
SELECT name, input, completed, record_count FROM data8.datasets();
