"""The plain serial client the benchmark compares the extension with.

What a data engineer would write in an afternoon with Debian's psycopg2 and
requests: one requests.Session (keep-alive), one request at a time.

  upload: a server-side cursor reads the table 1,000 rows at a time; each
          block is turned into a list of dicts and json.dumps'ed; one PATCH
          per block; the dataset is created first and completed last with the
          record count.
  fetch:  GET pages of 1,000 one at a time, INSERT each page with
          psycopg2.extras.execute_values.

Run with /usr/bin/python3 (Debian's), which has psycopg2 and requests.
"""
import datetime
import json
import time

import psycopg2.extras
import requests

BLOCK = 1000

# Data8 column type codes (DESIGN.md section 2) for the SQL types we meet.
TYPE_CODES = {
    "text": 0, "character varying": 0,
    "integer": 1, "bigint": 1, "smallint": 1,
    "numeric": 2, "double precision": 2, "real": 2,
    "boolean": 3,
    "date": 4,
    "timestamp with time zone": 5, "timestamp without time zone": 5,
}

UTC = datetime.timezone.utc


def table_columns(conn, table):
    """[(name, sql type)] of a table, in column order."""
    with conn.cursor() as cur:
        cur.execute("""SELECT attname, format_type(atttypid, NULL)
                         FROM pg_attribute
                        WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
                        ORDER BY attnum""", (table,))
        return cur.fetchall()


def _converter(sqltype):
    """A function turning a psycopg2 value into a JSON-ready value."""
    if sqltype == "numeric":
        return lambda v: None if v is None else float(v)
    if sqltype == "date":
        return lambda v: None if v is None else v.isoformat()
    if sqltype.startswith("timestamp"):
        def ts(v):
            if v is None:
                return None
            if v.tzinfo is not None:
                v = v.astimezone(UTC)
            return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return ts
    return None                 # text, integer, boolean: as they are


def block_bodies(conn, table, cursor_name="serial_up"):
    """Yields (records in block, JSON body) for each block of the table."""
    cols = table_columns(conn, table)
    names = [c for c, _ in cols]
    convs = [_converter(t) for _, t in cols]
    cur = conn.cursor(name=cursor_name)
    cur.itersize = BLOCK
    cur.execute("SELECT * FROM %s" % table)
    number = 0
    while True:
        rows = cur.fetchmany(BLOCK)
        if not rows:
            break
        records = []
        for row in rows:
            rec = {}
            for name, conv, v in zip(names, convs, row):
                rec[name] = conv(v) if conv else v
            records.append(rec)
        yield len(rows), json.dumps({"blockNumber": number, "records": records})
        number += 1
    cur.close()


class Client:
    """A requests.Session with a bearer token from the token endpoint."""

    def __init__(self, api_url, token_url, client_id, secret):
        self.api = api_url.rstrip("/")
        self.s = requests.Session()
        r = self.s.post(token_url, data={"grant_type": "client_credentials",
                                         "client_id": client_id,
                                         "client_secret": secret,
                                         "scope": "BatchApi"})
        r.raise_for_status()
        self.s.headers["Authorization"] = "Bearer " + r.json()["access_token"]
        self.requests = 0

    def call(self, method, path, expect, **kw):
        r = self.s.request(method, self.api + path, **kw)
        self.requests += 1
        if r.status_code != expect:
            raise RuntimeError("%s %s: HTTP %d %s" % (method, path, r.status_code, r.text[:300]))
        return r

    def upload(self, conn, table, dataset):
        """Creates, fills and completes the dataset; returns (records, blocks)."""
        cols = table_columns(conn, table)
        self.call("POST", "/Dataset", 201,
                  json={"name": dataset, "columns": {c: TYPE_CODES[t] for c, t in cols}})
        records = blocks = 0
        for n, body in block_bodies(conn, table):
            self.call("PATCH", "/Dataset/%s/data" % dataset, 204, data=body,
                      headers={"Content-Type": "application/json"})
            records += n
            blocks += 1
        conn.commit()
        self.call("PUT", "/Dataset/%s" % dataset, 204,
                  json={"recordCount": records, "completed": True})
        return records, blocks

    def run_echo(self, job, dataset, poll=0.1):
        """Starts an Echo job on the dataset, waits; returns the output dataset."""
        self.call("POST", "/Job", 201, json={"name": job, "workflowName": "Echo",
                                             "inputDatasets": {"Input": dataset}})
        while True:
            j = self.call("GET", "/Job/%s" % job, 200).json()
            if j["status"] == 2:
                return j["outputDatasets"]["Output"]
            if j["status"] in (3, 4):
                raise RuntimeError("job %s failed: %s" % (job, j.get("message")))
            time.sleep(poll)

    def fetch(self, conn, dataset, table, like):
        """Downloads the dataset page by page into a new table; returns (records, pages)."""
        cols = table_columns(conn, like)
        names = [c for c, _ in cols]
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE %s (LIKE %s)" % (table, like))
            total = self.call("GET", "/Dataset/%s" % dataset, 200).json()["recordCount"]
            records = pages = 0
            start = 1
            while start <= total:
                page = self.call("GET", "/Dataset/%s/data" % dataset, 200,
                                 params={"start": start, "count": BLOCK}).json()
                if isinstance(page, dict):
                    page = page["records"]
                if not page:
                    break
                psycopg2.extras.execute_values(
                    cur, "INSERT INTO %s VALUES %%s" % table,
                    [tuple(rec.get(n) for n in names) for rec in page], page_size=BLOCK)
                records += len(page)
                pages += 1
                start += len(page)
        conn.commit()
        return records, pages
