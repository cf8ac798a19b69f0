#!/usr/bin/python3
"""Tests for data8-sim, the Data8 service simulator.

Starts its own simulator processes on free ports (one clean, then one per
fault mode) and drives every route and every fault over real HTTP.
Standard library only.  Prints one line per test and ends with
"N passed, M failed"; exit status 0 only when M is 0.
"""
import base64
import datetime
import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.environ.get("DATA8_SIM", os.path.join(HERE, "data8-sim"))

PASSED = 0
FAILED = 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Sim:
    def __init__(self, *args, accounts=("alice:asecret", "bob:bsecret", "carol:csecret"), umask=-1):
        self.port = free_port()
        fd, self.log = tempfile.mkstemp(prefix="data8sim-", suffix=".log")
        os.close(fd)
        cmd = [SIM, "--port", str(self.port), "--log", self.log]
        for a in accounts:
            cmd += ["--account", a]
        cmd += [str(a) for a in args]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, umask=umask)
        line = self.proc.stderr.readline()
        if "listening on" not in line:
            raise RuntimeError("simulator did not start: " + line)
        self.tokens = {}

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        self.proc.stderr.close()
        try:
            os.unlink(self.log)
        except OSError:
            pass
        return rc

    def log_lines(self, settle=True):
        # a line is written when the server finishes a request, which can be
        # just after the client has read the response: wait until it is quiet
        last = None
        for _ in range(40):
            with open(self.log) as f:
                lines = [json.loads(l) for l in f if l.strip()]
            if not settle or (last is not None and len(lines) == len(last)):
                return lines
            last = lines
            time.sleep(0.05)
        return lines

    # ---- HTTP ----
    def raw(self, method, path, body=None, headers=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def token(self, user="alice", secret=None, fresh=False):
        if user in self.tokens and not fresh:
            return self.tokens[user]
        secret = secret or {"alice": "asecret", "bob": "bsecret", "carol": "csecret"}[user]
        st, h, b = self.form({"grant_type": "client_credentials", "client_id": user,
                              "client_secret": secret, "scope": "BatchApi"})
        assert st == 200, (st, b)
        tok = json.loads(b)["access_token"]
        self.tokens[user] = tok
        return tok

    def form(self, fields, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.raw("POST", "/connect/token", urllib.parse.urlencode(fields), h)

    def call(self, method, path, body=None, user="alice", token=None, headers=None, ctype="application/json",
             timeout=10):
        h = {}
        tok = token if token is not None else self.token(user)
        if tok:
            h["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if ctype:
                h["Content-Type"] = ctype
        h.update(headers or {})
        st, hd, b = self.raw(method, path, data, h, timeout)
        j = None
        if b:
            try:
                j = json.loads(b)
            except ValueError:
                j = None
        return st, hd, j


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def check(cond, msg=""):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, msg=""):
    if a != b:
        raise AssertionError("%s: %r != %r" % (msg, a, b))


def problem(st, hd, j, status, field=None):
    eq(st, status, "status")
    check(hd.get("content-type", "").startswith("application/problem+json"), "problem content type %r" % hd)
    for k in ("type", "title", "status", "detail", "instance"):
        check(k in j, "problem lacks " + k)
    eq(j["status"], status, "problem status")
    if field is not None:
        check(field in j.get("errors", {}), "errors lacks %r: %r" % (field, j.get("errors")))


# ---------------------------------------------------------------- helpers

def mkds(s, name, cols, user="alice"):
    st, hd, j = s.call("POST", "/Dataset", {"name": name, "columns": cols}, user=user)
    eq(st, 201, "create dataset %s: %r" % (name, j))
    return j


def upload(s, name, blocks, user="alice", complete=True):
    total = 0
    for n, recs in blocks:
        st, hd, j = s.call("PATCH", "/Dataset/%s/data" % name, {"blockNumber": n, "records": recs}, user=user)
        eq(st, 204, "patch %r" % j)
    held = s.call("GET", "/Dataset/" + name, user=user)[2]["recordCount"]
    if complete:
        st, hd, j = s.call("PUT", "/Dataset/" + name, {"recordCount": held, "completed": True}, user=user)
        eq(st, 204, "complete %r" % j)
    return held


def wait_job(s, name, user="alice", timeout=20):
    t0 = time.time()
    while time.time() - t0 < timeout:
        st, hd, j = s.call("GET", "/Job/" + urllib.parse.quote(name, safe=""), user=user)
        eq(st, 200)
        if j["status"] in (2, 3, 4):
            return j
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def download_all(s, name, user="alice"):
    n = s.call("GET", "/Dataset/" + name, user=user)[2]["recordCount"]
    out = []
    start = 1
    while start <= n:
        st, hd, j = s.call("GET", "/Dataset/%s/data?start=%d&count=1000" % (name, start), user=user)
        eq(st, 200, "download")
        out += j
        start += 1000
    return out


def run_job(s, name, wf, inputs, params=None, user="alice"):
    body = {"name": name, "workflowName": wf, "inputDatasets": inputs, "parameters": params or {},
            "inputFilename": None}
    st, hd, j = s.call("POST", "/Job", body, user=user)
    eq(st, 201, "start job %r" % j)
    return j


def fnv1a(s):
    h = 2166136261
    for c in s.encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    return h


# ---------------------------------------------------------------- token

@test
def token_form_and_basic(s):
    st, hd, b = s.form({"grant_type": "client_credentials", "client_id": "alice", "client_secret": "asecret",
                        "scope": "BatchApi"})
    eq(st, 200)
    j = json.loads(b)
    eq(j["token_type"], "Bearer")
    eq(j["scope"], "BatchApi")
    eq(j["expires_in"], 3600)
    check(len(j["access_token"]) >= 32)
    basic = base64.b64encode(b"bob:bsecret").decode()
    st, hd, b = s.form({"grant_type": "client_credentials"}, {"Authorization": "Basic " + basic})
    eq(st, 200)
    tok = json.loads(b)["access_token"]
    st, hd, j = s.call("GET", "/Dataset", token=tok)
    eq(st, 200)


@test
def token_errors(s):
    st, hd, b = s.form({"grant_type": "client_credentials", "client_id": "alice", "client_secret": "wrong"})
    eq(st, 401); eq(json.loads(b)["error"], "invalid_client")
    st, hd, b = s.form({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"})
    eq(st, 401); eq(json.loads(b)["error"], "invalid_client")
    st, hd, b = s.form({"grant_type": "password", "client_id": "alice", "client_secret": "asecret"})
    eq(st, 400); eq(json.loads(b)["error"], "unsupported_grant_type")
    st, hd, b = s.form({"grant_type": "client_credentials", "client_id": "alice", "client_secret": "asecret",
                        "scope": "Other"})
    eq(st, 400); eq(json.loads(b)["error"], "invalid_scope")
    st, hd, b = s.form({"grant_type": "client_credentials", "client_id": "alice", "client_secret": "asecret"})
    eq(st, 200, "scope optional")
    st, hd, b = s.raw("GET", "/connect/token")
    eq(st, 405)


@test
def bearer_required(s):
    st, hd, j = s.call("GET", "/ApiKey", token="")
    problem(st, hd, j, 401)
    eq(hd.get("www-authenticate"), 'Bearer error="invalid_token"')
    st, hd, j = s.call("GET", "/Dataset", token="0" * 48)
    problem(st, hd, j, 401)
    st, hd, j = s.call("GET", "/Job", token="garbage")
    problem(st, hd, j, 401)


@test
def routing_404_405(s):
    st, hd, j = s.call("GET", "/Nothing")
    eq(st, 404)
    st, hd, j = s.call("GET", "/Dataset/x/y/z")
    eq(st, 404)
    st, hd, j = s.call("DELETE", "/Dataset")
    problem(st, hd, j, 405)
    check("GET" in hd.get("allow", ""), "Allow header")
    st, hd, j = s.call("POST", "/Job/somejob", {})
    eq(st, 405)
    st, hd, j = s.call("PATCH", "/ApiKey")
    eq(st, 405)
    st, hd, j = s.call("POST", "/ClientCredential/abc")
    eq(st, 405)


@test
def content_type_and_invalid_json(s):
    st, hd, j = s.call("POST", "/Dataset", '{"name":"x","columns":{"a":0}}', ctype="text/plain")
    problem(st, hd, j, 415)
    st, hd, j = s.call("POST", "/Dataset", '{"name":"x",', ctype="application/json")
    problem(st, hd, j, 400, "body")
    st, hd, j = s.call("POST", "/Dataset", '{"name":"ct_ok","columns":{"a":0}}',
                       ctype="application/json; charset=utf-8")
    eq(st, 201)
    eq(hd["content-type"], "application/json; charset=utf-8")
    eq(hd["location"], "/Dataset/ct_ok")


# ---------------------------------------------------------------- ApiKey

@test
def apikey_crud(s):
    st, hd, j = s.call("POST", "/ApiKey", {"description": "gen", "isClientKey": True})
    eq(st, 201)
    k = j["key"]
    check(len(k) == 32 and all(c in "0123456789abcdef" for c in k), "generated key " + k)
    eq(hd["location"], "/ApiKey/" + k)
    for f in ("allowedDomains", "allowedIPs", "allowedServices"):
        eq(j[f], [])
    eq(j["isClientKey"], True); eq(j["expiresOn"], None); eq(j["maxRequestsPerIPPerDay"], None)
    st, hd, j = s.call("POST", "/ApiKey", {"key": "my-key_1", "description": "d", "username": "u",
                                           "expiresOn": "2030-01-02T03:04:05Z", "maxRequestsPerIPPerDay": 50})
    eq(st, 201)
    eq(j["expiresOn"], "2030-01-02T03:04:05.0000000Z")
    eq(j["maxRequestsPerIPPerDay"], 50)
    st, hd, j = s.call("POST", "/ApiKey", {"key": "my-key_1"})
    problem(st, hd, j, 409)
    for bad in ("has space", "", "x" * 101, "semi;colon"):
        st, hd, j = s.call("POST", "/ApiKey", {"key": bad})
        problem(st, hd, j, 400, "key")
    st, hd, j = s.call("POST", "/ApiKey", {"maxRequestsPerIPPerDay": "many"})
    problem(st, hd, j, 400, "maxRequestsPerIPPerDay")
    st, hd, j = s.call("POST", "/ApiKey", {"expiresOn": "not a date"})
    problem(st, hd, j, 400, "expiresOn")
    st, hd, j = s.call("GET", "/ApiKey")
    eq(st, 200)
    eq(sorted(x["key"] for x in j), sorted([k, "my-key_1"]))
    st, hd, j = s.call("PUT", "/ApiKey/my-key_1", {"description": "new", "key": "my-key_1"})
    eq(st, 204)
    st, hd, j = s.call("GET", "/ApiKey/my-key_1")
    eq(j["description"], "new"); eq(j["username"], "u"); eq(j["maxRequestsPerIPPerDay"], 50)
    st, hd, j = s.call("PUT", "/ApiKey/my-key_1", {"key": "other"})
    problem(st, hd, j, 400, "key")
    st, hd, j = s.call("PUT", "/ApiKey/my-key_1", {"username": 5})
    problem(st, hd, j, 400, "username")
    eq(s.call("GET", "/ApiKey/my-key_1")[2]["username"], "u", "400 left state unchanged")
    st, hd, j = s.call("PUT", "/ApiKey/nokey", {"description": "x"})
    eq(st, 404)
    st, hd, j = s.call("GET", "/ApiKey/nokey")
    eq(st, 404)
    st, hd, j = s.call("DELETE", "/ApiKey/" + k)
    eq(st, 204)
    eq(s.call("GET", "/ApiKey/" + k)[0], 404)
    eq(s.call("DELETE", "/ApiKey/" + k)[0], 404)


@test
def apikey_domains(s):
    s.call("POST", "/ApiKey", {"key": "dom"})
    eq(s.call("PUT", "/ApiKey/dom/allowedDomains/example.com")[0], 204)
    eq(s.call("PUT", "/ApiKey/dom/allowedDomains/example.com")[0], 204, "idempotent")
    eq(s.call("PUT", "/ApiKey/dom/allowedDomains/*.example.org")[0], 204)
    st, hd, j = s.call("GET", "/ApiKey/dom/allowedDomains")
    eq(j, ["example.com", "*.example.org"])
    for bad in ("bad_domain", "-x.com", "a..b", "x" * 64 + ".com"):
        st, hd, j = s.call("PUT", "/ApiKey/dom/allowedDomains/" + urllib.parse.quote(bad))
        problem(st, hd, j, 400, "domain")
    eq(s.call("DELETE", "/ApiKey/dom/allowedDomains/absent.com")[0], 404)
    eq(s.call("DELETE", "/ApiKey/dom/allowedDomains/example.com")[0], 204)
    eq(s.call("GET", "/ApiKey/dom")[2]["allowedDomains"], ["*.example.org"])
    eq(s.call("PUT", "/ApiKey/nokey/allowedDomains/example.com")[0], 404)
    eq(s.call("POST", "/ApiKey/dom/allowedDomains/example.com")[0], 405)


@test
def apikey_ips(s):
    s.call("POST", "/ApiKey", {"key": "ips"})
    st, hd, j = s.call("POST", "/ApiKey/ips/allowedIPs", json.dumps("123.45.6.0/24"))
    eq(st, 201); eq(j, "123.45.6.0/24")
    st, hd, j = s.call("POST", "/ApiKey/ips/allowedIPs", json.dumps("10.0.0.1"))
    eq(st, 201); eq(j, "10.0.0.1/32")
    eq(s.call("PUT", "/ApiKey/ips/allowedIPs/192.168.0.0/16")[0], 204)
    eq(s.call("PUT", "/ApiKey/ips/allowedIPs/2001%3ADB8%3A%3A/32")[0], 204)
    eq(s.call("PUT", "/ApiKey/ips/allowedIPs/" + urllib.parse.quote("::1", safe="") + "/128")[0], 204)
    st, hd, j = s.call("GET", "/ApiKey/ips/allowedIPs")
    eq(j, ["123.45.6.0/24", "10.0.0.1/32", "192.168.0.0/16", "2001:db8::/32", "::1/128"])
    st, hd, j = s.call("PUT", "/ApiKey/ips/allowedIPs/10.0.0.1/24")
    problem(st, hd, j, 400)
    st, hd, j = s.call("PUT", "/ApiKey/ips/allowedIPs/10.0.0.0/33")
    problem(st, hd, j, 400, "prefix")
    st, hd, j = s.call("PUT", "/ApiKey/ips/allowedIPs/300.1.1.1/32")
    problem(st, hd, j, 400, "network")
    st, hd, j = s.call("PUT", "/ApiKey/ips/allowedIPs/2001%3Adb8%3A%3A/129")
    problem(st, hd, j, 400)
    st, hd, j = s.call("POST", "/ApiKey/ips/allowedIPs", json.dumps("not-an-ip"))
    problem(st, hd, j, 400, "network")
    st, hd, j = s.call("POST", "/ApiKey/ips/allowedIPs", {"network": "1.2.3.4"})
    problem(st, hd, j, 400)
    eq(s.call("DELETE", "/ApiKey/ips/allowedIPs/8.8.8.0/24")[0], 404)
    eq(s.call("DELETE", "/ApiKey/ips/allowedIPs/192.168.0.0/16")[0], 204)
    eq(s.call("DELETE", "/ApiKey/ips/allowedIPs/2001%3Adb8%3A%3A/32")[0], 204)
    eq(s.call("GET", "/ApiKey/ips")[2]["allowedIPs"], ["123.45.6.0/24", "10.0.0.1/32", "::1/128"])


@test
def apikey_services(s):
    s.call("POST", "/ApiKey", {"key": "svc"})
    eq(s.call("PUT", "/ApiKey/svc/allowedServices/AddressCapture")[0], 204)
    eq(s.call("PUT", "/ApiKey/svc/allowedServices/Email.Validation-2_x")[0], 204)
    st, hd, j = s.call("PUT", "/ApiKey/svc/allowedServices/a%20b")
    problem(st, hd, j, 400, "service")
    eq(s.call("GET", "/ApiKey/svc/allowedServices")[2], ["AddressCapture", "Email.Validation-2_x"])
    eq(s.call("DELETE", "/ApiKey/svc/allowedServices/Nope")[0], 404)
    eq(s.call("DELETE", "/ApiKey/svc/allowedServices/AddressCapture")[0], 204)
    eq(s.call("GET", "/ApiKey/svc/allowedServices")[2], ["Email.Validation-2_x"])


# ---------------------------------------------------------------- ClientCredential

@test
def client_credentials(s):
    st, hd, j = s.call("POST", "/ClientCredential", {"description": "etl"})
    eq(st, 201)
    cid = j["clientId"]
    check(len(cid) == 24, cid)
    eq(j["secrets"], []); eq(j["description"], "etl")
    eq(hd["location"], "/ClientCredential/" + cid)
    problem(*s.call("POST", "/ClientCredential", {"clientId": "mine"}), 400, "clientId")
    problem(*s.call("POST", "/ClientCredential", {"secrets": [{"description": "x"}]}), 400, "secrets")
    st, hd, j = s.call("GET", "/ClientCredential")
    eq(j, [{"clientId": cid, "description": "etl", "secrets": None}])
    eq(s.call("PUT", "/ClientCredential/" + cid, {"description": "etl2"})[0], 204)
    problem(*s.call("PUT", "/ClientCredential/" + cid, {"clientId": "other"}), 400, "clientId")
    eq(s.call("GET", "/ClientCredential/" + cid)[2]["description"], "etl2")
    eq(s.call("GET", "/ClientCredential/nope")[0], 404)
    # secrets
    st, hd, j = s.call("POST", "/ClientCredential/%s/secrets" % cid, {"description": "s1"})
    eq(st, 201)
    eq(j["clientSecretId"], 1); eq(j["expires"], None); eq(j["description"], "s1")
    sec1 = j["generatedSecret"]
    eq(len(sec1), 40)
    st, hd, j = s.call("POST", "/ClientCredential/%s/secrets" % cid,
                       {"description": "s2", "expires": "2099-01-01T00:00:00Z"})
    eq(j["clientSecretId"], 2); eq(j["expires"], "2099-01-01T00:00:00.0000000Z")
    problem(*s.call("POST", "/ClientCredential/%s/secrets" % cid, {"expires": "2001-01-01T00:00:00Z"}),
            400, "expires")
    st, hd, j = s.call("GET", "/ClientCredential/%s/secrets" % cid)
    eq([x["clientSecretId"] for x in j], [1, 2])
    check(all("generatedSecret" not in x for x in j), "secret value never shown again")
    eq(len(s.call("GET", "/ClientCredential/" + cid)[2]["secrets"]), 2)
    eq(s.call("GET", "/ClientCredential/%s/secrets/2" % cid)[2]["description"], "s2")
    eq(s.call("PUT", "/ClientCredential/%s/secrets/2" % cid, {"description": "s2b"})[0], 204)
    eq(s.call("GET", "/ClientCredential/%s/secrets/2" % cid)[2]["description"], "s2b")
    problem(*s.call("GET", "/ClientCredential/%s/secrets/abc" % cid), 400)
    eq(s.call("GET", "/ClientCredential/%s/secrets/9" % cid)[0], 404)
    eq(s.call("DELETE", "/ClientCredential/%s/secrets/9" % cid)[0], 404)
    # the created secret obtains tokens bound to alice's account
    st, hd, b = s.form({"grant_type": "client_credentials", "client_id": cid, "client_secret": sec1,
                        "scope": "BatchApi"})
    eq(st, 200)
    tok = json.loads(b)["access_token"]
    st, hd, j = s.call("GET", "/ClientCredential", token=tok)
    eq(st, 200); eq(j[0]["clientId"], cid, "token bound to alice")
    eq(s.call("DELETE", "/ClientCredential/%s/secrets/1" % cid)[0], 204)
    st, hd, b = s.form({"grant_type": "client_credentials", "client_id": cid, "client_secret": sec1})
    eq(st, 401, "deleted secret no longer works")
    eq(s.call("DELETE", "/ClientCredential/" + cid)[0], 204)
    eq(s.call("GET", "/ClientCredential/" + cid)[0], 404)
    eq(s.call("GET", "/ClientCredential/%s/secrets" % cid)[0], 404)


@test
def account_isolation(s):
    mkds(s, "iso_a", {"a": 0}, user="alice")
    eq(s.call("GET", "/Dataset/iso_a", user="bob")[0], 404)
    check(all(x["name"] != "iso_a" for x in s.call("GET", "/Dataset", user="bob")[2]))
    mkds(s, "iso_a", {"b": 1}, user="bob")  # same name, other account
    eq(s.call("GET", "/Dataset/iso_a", user="alice")[2]["columns"], {"a": 0})
    s.call("POST", "/ApiKey", {"key": "isokey"}, user="alice")
    eq(s.call("GET", "/ApiKey/isokey", user="bob")[0], 404)
    eq(s.call("GET", "/ApiKey", user="bob")[2], [])
    eq(s.call("GET", "/ClientCredential", user="bob")[2], [])


# ---------------------------------------------------------------- Dataset

@test
def dataset_create_validation(s):
    j = mkds(s, "people", {"firstname": 0, "lastname": 0, "priority": 1})
    eq(j, {"name": "people", "columns": {"firstname": 0, "lastname": 0, "priority": 1}, "input": True,
           "recordCount": 0, "completed": False})
    problem(*s.call("POST", "/Dataset", {"name": "people", "columns": {"a": 0}}), 409)
    for bad in ("Bad", "1abc", "a-b", "", "a" * 101):
        problem(*s.call("POST", "/Dataset", {"name": bad, "columns": {"a": 0}}), 400, "name")
    eq(s.call("POST", "/Dataset", {"name": "a" * 100, "columns": {"a": 0}})[0], 201)
    problem(*s.call("POST", "/Dataset", {"name": "x1", "columns": {"FirstName": 0}}), 400, "columns.FirstName")
    problem(*s.call("POST", "/Dataset", {"name": "x1", "columns": {"a": 6}}), 400, "columns.a")
    problem(*s.call("POST", "/Dataset", {"name": "x1", "columns": {"a": "0"}}), 400, "columns.a")
    problem(*s.call("POST", "/Dataset", {"name": "x1", "columns": {}}), 400, "columns")
    problem(*s.call("POST", "/Dataset", {"name": "x1", "columns": [["a", 0]]}), 400, "columns")
    problem(*s.call("POST", "/Dataset", {"name": "x1", "columns": {"c%d" % i: 0 for i in range(1001)}}), 400,
            "columns")
    eq(s.call("POST", "/Dataset", {"name": "wide", "columns": {"c%d" % i: i % 6 for i in range(1000)}})[0], 201)
    problem(*s.call("POST", "/Dataset", {"columns": {"a": 0}}), 400, "name")
    problem(*s.call("POST", "/Dataset", [1, 2]), 400)
    eq(s.call("GET", "/Dataset/nope")[0], 404)


@test
def dataset_patch_validation(s):
    mkds(s, "typed", {"s": 0, "i": 1, "d": 2, "b": 3, "dt": 4, "ts": 5})
    P = lambda body: s.call("PATCH", "/Dataset/typed/data", body)
    good = {"s": "x", "i": -9223372036854775808, "d": 1.5, "b": True, "dt": "2024-02-29",
            "ts": "2024-05-01T10:20:30Z"}
    eq(P({"blockNumber": 0, "records": [good, {"s": None, "i": 1, "d": 2, "b": False, "dt": None,
                                                "ts": "2024-05-01T10:20:30.123456Z"}, {}]})[0], 204)
    problem(*P({"blockNumber": -1, "records": [good]}), 400, "blockNumber")
    problem(*P({"blockNumber": "1", "records": [good]}), 400, "blockNumber")
    problem(*P({"records": [good]}), 400, "blockNumber")
    problem(*P({"blockNumber": 1, "records": []}), 400, "records")
    problem(*P({"blockNumber": 1, "records": [good] * 1001}), 400, "records")
    problem(*P({"blockNumber": 1}), 400, "records")
    problem(*P({"blockNumber": 1, "records": [good, good, good, dict(good, email="x")]}), 400, "records[3].email")
    problem(*P({"blockNumber": 1, "records": [good, 5]}), 400, "records[1]")
    bad_values = [("s", 5), ("s", True), ("i", 1.5), ("i", "5"), ("d", "1.0"), ("b", 1), ("b", "true"),
                  ("dt", "2023-02-29"), ("dt", "2024-1-01"), ("dt", "2024-01-01T00:00:00Z"),
                  ("ts", "2024-05-01 10:20:30"), ("ts", "2024-05-01T10:20:30+01:00"), ("ts", "2024-05-01T25:00:00Z"),
                  ("ts", "2024-05-01"), ("s", [1]), ("d", {"x": 1})]
    for col, v in bad_values:
        problem(*P({"blockNumber": 1, "records": [good, dict(good, **{col: v})]}), 400, "records[1].%s" % col)
    eq(s.call("GET", "/Dataset/typed")[2]["recordCount"], 3, "rejected blocks leave no trace")
    # the same block number overwrites; held count is the sum over blocks
    eq(P({"blockNumber": 5, "records": [good] * 4})[0], 204)
    eq(s.call("GET", "/Dataset/typed")[2]["recordCount"], 7)
    eq(P({"blockNumber": 5, "records": [good] * 2})[0], 204)
    eq(s.call("GET", "/Dataset/typed")[2]["recordCount"], 5)
    eq(s.call("PATCH", "/Dataset/nope/data", {"blockNumber": 0, "records": [good]})[0], 404)
    # completion guard
    problem(*s.call("PUT", "/Dataset/typed", {"recordCount": 6, "completed": True}), 400, "recordCount")
    problem(*s.call("PUT", "/Dataset/typed", {"recordCount": 5}), 400, "completed")
    eq(s.call("PUT", "/Dataset/typed", {"recordCount": 5, "completed": True})[0], 204)
    st, hd, j = s.call("GET", "/Dataset/typed")
    eq((j["completed"], j["recordCount"]), (True, 5))
    problem(*s.call("PUT", "/Dataset/typed", {"recordCount": 5, "completed": True}), 400)
    problem(*P({"blockNumber": 9, "records": [good]}), 400)
    problem(*s.call("GET", "/Dataset/typed/data?start=1&count=10"), 400)
    eq(s.call("PUT", "/Dataset/nope", {"recordCount": 0, "completed": True})[0], 404)


@test
def dataset_delete_never_reused(s):
    mkds(s, "gone", {"a": 0})
    eq(s.call("DELETE", "/Dataset/gone")[0], 204)
    eq(s.call("GET", "/Dataset/gone")[0], 404)
    eq(s.call("DELETE", "/Dataset/gone")[0], 404)
    problem(*s.call("POST", "/Dataset", {"name": "gone", "columns": {"a": 0}}), 409)


@test
def dataset_paging(s):
    for i in range(150):
        mkds(s, "page_%03d" % (149 - i), {"a": 0}, user="carol")
    st, hd, p1 = s.call("GET", "/Dataset", user="carol")
    eq(len(p1), 100)
    eq(p1[0], {"name": "page_000", "input": True, "completed": False, "recordCount": 0,
               "location": "/Dataset/page_000"})
    p2 = s.call("GET", "/Dataset?page=2", user="carol")[2]
    eq(len(p2), 50)
    names = [x["name"] for x in p1 + p2]
    eq(names, sorted(names)); eq(len(set(names)), 150)
    eq(s.call("GET", "/Dataset?page=3", user="carol")[2], [])
    eq(s.call("GET", "/Dataset?page=1&input=false", user="carol")[2], [])
    eq(len(s.call("GET", "/Dataset?output=false", user="carol")[2]), 100)
    for q in ("page=0", "page=x", "page=1.5", "input=maybe", "output=1"):
        problem(*s.call("GET", "/Dataset?" + q, user="carol"), 400)


# ---------------------------------------------------------------- Job

@test
def job_validation(s):
    mkds(s, "jin", {"name": 0})
    upload(s, "jin", [(0, [{"name": "a"}])])
    mkds(s, "jin_open", {"name": 0})
    ok = {"name": "j ok", "workflowName": "Echo", "inputDatasets": {"Input": "jin"}}
    for bad in ("a/b", "a:b", "a*b", "a?b", 'a"b', "a<b", "a>b", "a|b", "a\x01b", "", "x" * 201):
        problem(*s.call("POST", "/Job", dict(ok, name=bad)), 400, "name")
    problem(*s.call("POST", "/Job", dict(ok, workflowName="Nope")), 400, "workflowName")
    problem(*s.call("POST", "/Job", dict(ok, inputDatasets={})), 400, "inputDatasets.Input")
    problem(*s.call("POST", "/Job", dict(ok, inputDatasets={"Input": "jin", "Extra": "jin"})), 400,
            "inputDatasets.Extra")
    problem(*s.call("POST", "/Job", dict(ok, inputDatasets={"Input": "nope"})), 400, "inputDatasets.Input")
    problem(*s.call("POST", "/Job", dict(ok, inputDatasets={"Input": "jin_open"})), 400, "inputDatasets.Input")
    problem(*s.call("POST", "/Job", {"name": "cdc", "workflowName": "ContactDeceasedCheck",
                                     "inputDatasets": {"Contacts": "jin"}, "parameters": {"MaxContactAge": "abc"}}),
            400, "parameters.MaxContactAge")
    problem(*s.call("POST", "/Job", {"name": "cdc", "workflowName": "ContactDeceasedCheck",
                                     "inputDatasets": {"Contacts": "jin"}, "parameters": {"MaxContactAge": -1}}),
            400, "parameters.MaxContactAge")
    j = run_job(s, "Contact Deceased Check 3124", "Echo", {"Input": "jin"})
    problem(*s.call("POST", "/Job", dict(ok, name="Contact Deceased Check 3124")), 409)
    out = j["outputDatasets"]["Output"]
    check(out.startswith("job") and out.endswith("_output"), out)
    # the output dataset exists at once and cannot be written or completed
    st, hd, d = s.call("GET", "/Dataset/" + out)
    eq(st, 200); eq(d["input"], False)
    problem(*s.call("PATCH", "/Dataset/%s/data" % out, {"blockNumber": 0, "records": [{"name": "x"}]}), 400)
    problem(*s.call("PUT", "/Dataset/" + out, {"recordCount": 0, "completed": True}), 400)
    problem(*s.call("GET", "/Dataset/jin/data?start=1&count=1"), 400)
    st, hd, g = s.call("GET", "/Job/Contact%20Deceased%20Check%203124")
    eq(st, 200); eq(g["name"], "Contact Deceased Check 3124")
    eq(s.call("GET", "/Job/nojob")[0], 404)


@test
def workflow_echo(s):
    mkds(s, "echo_in", {"id": 1, "name": 0, "amt": 2, "ok": 3, "born": 4, "seen": 5})
    recs = lambda lo, hi: [{"id": i, "name": "n%d" % i, "amt": i / 4, "ok": i % 2 == 0, "born": "2000-01-%02d" % (i % 28 + 1),
                            "seen": "2024-05-01T10:20:30Z"} for i in range(lo, hi)]
    sparse = [{"id": 999}]  # missing keys are null
    upload(s, "echo_in", [(2, recs(2000, 2500)), (0, recs(0, 1000)), (1, recs(1000, 2000)), (7, sparse)])
    j = run_job(s, "echo1", "Echo", {"Input": "echo_in"}, {"Foo": "bar"})
    eq(j["status"], 0); eq(j["percentComplete"], 0); eq(j["completedAt"], None)
    eq(j["parameters"], {"Foo": "bar"}); eq(j["inputDatasets"], {"Input": "echo_in"})
    for k in ("submittedAt", "estimatedFinishTime", "statistics", "inputFilename", "outputFilenames"):
        check(k in j, k)
    f = wait_job(s, "echo1")
    eq(f["status"], 2); eq(f["percentComplete"], 100)
    check(f["completedAt"] is not None)
    eq(f["statistics"], {"recordsProcessed": 2501})
    out = f["outputDatasets"]["Output"]
    d = s.call("GET", "/Dataset/" + out)[2]
    eq((d["completed"], d["recordCount"], d["input"]), (True, 2501, False))
    eq(d["columns"], {"id": 1, "name": 0, "amt": 2, "ok": 3, "born": 4, "seen": 5})
    got = download_all(s, out)
    exp = recs(0, 2500) + [{"id": 999, "name": None, "amt": None, "ok": None, "born": None, "seen": None}]
    eq(got, exp, "echo output")
    # paging edge cases
    eq(s.call("GET", "/Dataset/%s/data?start=2501&count=5" % out)[2], [exp[-1]])
    eq(s.call("GET", "/Dataset/%s/data?start=999&count=3" % out)[2], exp[998:1001])
    eq(s.call("GET", "/Dataset/%s/data?start=2502&count=5" % out)[2], [])
    for q in ("start=0&count=5", "start=1&count=0", "start=1&count=1001", "start=x&count=1", "count=5", "start=1"):
        problem(*s.call("GET", "/Dataset/%s/data?%s" % (out, q)), 400)
    eq(s.call("GET", "/Dataset/nope/data?start=1&count=1")[0], 404)
    # output datasets are listed with input=false
    outs = s.call("GET", "/Dataset?input=false")[2]
    check(out in [x["name"] for x in outs] and all(not x["input"] for x in outs))


MESSY = [
    {"id": 1, "name": "  mary-jane  o'BRIEN ", "email": " Mary.OBrien@Example.COM ", "phone": "07700 900123",
     "postcode": "sw1a1aa", "note": "  keep  "},
    {"id": 2, "name": "JOHN SMITH", "email": "john@@example.com", "phone": "+44 7700 900456",
     "postcode": " ec1a 1bb ", "note": None},
    {"id": 3, "name": "  de la cruz ", "email": "bad-email", "phone": "0044 7700-900789", "postcode": "M1 1AE",
     "note": "x"},
    {"id": 4, "name": None, "email": None, "phone": "(01632) 960 001", "postcode": None, "note": "y"},
    {"id": 5, "name": "anne-marie", "email": "a@b", "phone": "12345", "postcode": "NOT A CODE", "note": ""},
    {"id": 6, "name": "o'neil   mc-dowell", "email": "  X@Y.CO.UK", "phone": " 020 7946 0000 ",
     "postcode": "b338th", "note": "z"},
]
CLEANSED = [
    {"id": 1, "name": "Mary-Jane O'Brien", "email": "mary.obrien@example.com", "phone": "+447700900123",
     "postcode": "SW1A 1AA", "note": "  keep  ", "email_valid": True, "phone_valid": True, "postcode_valid": True},
    {"id": 2, "name": "John Smith", "email": "john@@example.com", "phone": "+447700900456",
     "postcode": "EC1A 1BB", "note": None, "email_valid": False, "phone_valid": True, "postcode_valid": True},
    {"id": 3, "name": "De La Cruz", "email": "bad-email", "phone": "+447700900789", "postcode": "M1 1AE",
     "note": "x", "email_valid": False, "phone_valid": True, "postcode_valid": True},
    {"id": 4, "name": None, "email": None, "phone": "+441632960001", "postcode": None, "note": "y",
     "email_valid": None, "phone_valid": True, "postcode_valid": None},
    {"id": 5, "name": "Anne-Marie", "email": "a@b", "phone": "12345", "postcode": "NOT A CODE", "note": "",
     "email_valid": False, "phone_valid": False, "postcode_valid": False},
    {"id": 6, "name": "O'Neil Mc-Dowell", "email": "x@y.co.uk", "phone": "+442079460000", "postcode": "B33 8TH",
     "note": "z", "email_valid": True, "phone_valid": True, "postcode_valid": True},
]


@test
def workflow_cleanse_contacts(s):
    mkds(s, "contacts", {"id": 1, "name": 0, "email": 0, "phone": 0, "postcode": 0, "note": 0})
    upload(s, "contacts", [(0, MESSY)])
    run_job(s, "cleanse 1", "CleanseContacts", {"Contacts": "contacts"})
    f = wait_job(s, "cleanse 1")
    eq(f["status"], 2)
    out = f["outputDatasets"]["Contacts"]
    check(out.endswith("_contacts"), out)
    eq(s.call("GET", "/Dataset/" + out)[2]["columns"],
       {"id": 1, "name": 0, "email": 0, "phone": 0, "postcode": 0, "note": 0, "email_valid": 3,
        "phone_valid": 3, "postcode_valid": 3})
    got = download_all(s, out)
    for g, e in zip(got, CLEANSED):
        eq(g, e, "cleansed record %d" % e["id"])
    eq(len(got), len(CLEANSED))
    # only the flags of the columns present are added
    mkds(s, "emails_only", {"email": 0, "other": 1})
    upload(s, "emails_only", [(0, [{"email": " A@B.COM ", "other": 1}])])
    run_job(s, "cleanse 2", "CleanseContacts", {"Contacts": "emails_only"})
    f = wait_job(s, "cleanse 2")
    eq(download_all(s, f["outputDatasets"]["Contacts"]), [{"email": "a@b.com", "other": 1, "email_valid": True}])


@test
def exact_numbers(s):
    # numbers are stored and served back exactly as the client wrote them (the
    # real service keeps 28-29 significant digits); Echo and CleanseContacts
    # pass unchanged columns through byte for byte
    decs = ["99999999999999.99", "-123456789.123456789", "0.000001", "12345678901234567890.123456789",
            "1e-7", "0.1", "12345678901234567890", "1E+2", "-0", "0.10", "7"]
    ints = ["9223372036854775807", "-9223372036854775808", "0", "-1", "42"]
    mkds(s, "exact_in", {"name": 0, "amount": 2, "n": 1, "email": 0})
    recs = []
    for i, dv in enumerate(decs):
        iv = ints[i % len(ints)]
        # odd spacing and an escaped key: the raw scanner must find the same spans as jansson
        recs.append('{ "name" : " ann  lee ", "\\u0061mount":%s ,"n" :\n%s, "email":"A@B.COM"}' % (dv, iv))
    body = '{"records":[%s],\n "blockNumber" : 0}' % ",".join(recs)
    st, hd, j = s.call("PATCH", "/Dataset/exact_in/data", body)
    eq(st, 204, "patch %r" % j)
    eq(s.call("PUT", "/Dataset/exact_in", {"recordCount": len(decs), "completed": True})[0], 204)

    def raw_download(name):
        st, hd, b = s.raw("GET", "/Dataset/%s/data?start=1&count=1000" % name,
                          headers={"Authorization": "Bearer " + s.token()})
        eq(st, 200)
        return b.decode()

    run_job(s, "exact echo", "Echo", {"Input": "exact_in"})
    out = wait_job(s, "exact echo")["outputDatasets"]["Output"]
    exp = "[" + ",".join('{"name":" ann  lee ","amount":%s,"n":%s,"email":"A@B.COM"}' % (dv, ints[i % len(ints)])
                         for i, dv in enumerate(decs)) + "]"
    eq(raw_download(out), exp, "Echo output text")
    run_job(s, "exact cleanse", "CleanseContacts", {"Contacts": "exact_in"})
    out = wait_job(s, "exact cleanse")["outputDatasets"]["Contacts"]
    exp = "[" + ",".join('{"name":"Ann Lee","amount":%s,"n":%s,"email":"a@b.com","email_valid":true}'
                         % (dv, ints[i % len(ints)]) for i, dv in enumerate(decs)) + "]"
    eq(raw_download(out), exp, "CleanseContacts output text")
    run_job(s, "exact dc", "ContactDeceasedCheck", {"Contacts": "exact_in"})
    got = raw_download(wait_job(s, "exact dc")["outputDatasets"]["Contacts"])
    for i, dv in enumerate(decs):
        check('"amount":%s,"n":%s,' % (dv, ints[i % len(ints)]) in got, "ContactDeceasedCheck keeps %s" % dv)


@test
def number_validation_raw(s):
    mkds(s, "numv", {"i": 1, "d": 2, "s": 0})
    P = lambda text: s.call("PATCH", "/Dataset/numv/data", text)
    eq(P('{"blockNumber":0,"records":[{"i":9223372036854775807,"d":123456789012345678901234567890}]}')[0], 204)
    eq(P('{"blockNumber":1,"records":[{"i":-9223372036854775808,"d":-1.5e-300}]}')[0], 204)
    eq(P('{"blockNumber":2147483647,"records":[{"i":-0,"d":1E400}]}')[0], 400, "beyond double range is not JSON jansson reads")
    for bad in ("9223372036854775808", "-9223372036854775809", "99999999999999999999", "1e3", "1.0", "1E0", "-0.0"):
        problem(*P('{"blockNumber":3,"records":[{"i":1},{"i":%s}]}' % bad), 400, "records[1].i")
    for bad in ('"1"', "true", "[1]", "{}"):
        problem(*P('{"blockNumber":3,"records":[{"d":1},{"d":%s}]}' % bad), 400, "records[1].d")
    problem(*P('{"blockNumber":3,"records":[{"s":1.5}]}'), 400, "records[0].s")
    for bad in ("1.0", "1e0", "2147483648", "-1", "99999999999999999999", '"1"', "null"):
        problem(*P('{"blockNumber":%s,"records":[{"i":1}]}' % bad), 400, "blockNumber")
    eq(P('{"blockNumber":2147483647,"records":[{"i":1}]}')[0], 204)
    eq(P('{"blockNumber":3,"records":[{"i":1}],"records":[{"i":2}]}')[0], 400, "duplicate keys")
    eq(s.call("GET", "/Dataset/numv")[2]["recordCount"], 3, "rejected blocks leave no trace")


@test
def patch_strings_exact(s):
    # a block of plain values is read in one pass (block.c's fast path), any
    # other by jansson; both store the same text: escapes as buf_json_string
    # writes them, raw UTF-8 as sent, numbers as sent
    mkds(s, "px", {"name": 0, "qty": 1, "price": 2, "active": 3, "born": 4, "seen": 5})
    fast = ('{"name":"a\\"b\\\\c\\nd\\re\\tf\\bg\\fh \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f","qty":-0,"price":1E+2,'
            '"active":true,"born":"2024-02-29","seen":"2024-05-01T10:20:30.123456789Z"}')
    body0 = ' {"records" : [ %s ,\n{"seen":null, "qty":9223372036854775807}, {}],\t"blockNumber": 0 }\r\n' % fast
    # \/, \u escapes (a pair, a control character) and an escaped key: jansson decodes them
    body1 = ('{"blockNumber":1,"records":[{"name":"\\/ \\u00e9 \\u0001 \\ud83d\\ude00","\\u0071ty":1,'
             '"born":"1950\\u002d01-02","price":-0.5e-3}]}')
    for body in (body0, body1):
        st, hd, j = s.call("PATCH", "/Dataset/px/data", body.encode("latin-1"))
        eq(st, 204, "patch %r" % j)
    eq(s.call("PUT", "/Dataset/px", {"recordCount": 4, "completed": True})[0], 204)
    out = wait_job(s, run_job(s, "px echo", "Echo", {"Input": "px"})["name"])["outputDatasets"]["Output"]
    st, hd, got = s.raw("GET", "/Dataset/%s/data?start=1&count=10" % out,
                        headers={"Authorization": "Bearer " + s.token()})
    eq(st, 200)
    exp = ('[' + fast + ',{"name":null,"qty":9223372036854775807,"price":null,"active":null,"born":null,"seen":null},'
           '{"name":null,"qty":null,"price":null,"active":null,"born":null,"seen":null},'
           '{"name":"/ \xc3\xa9 \\u0001 \xf0\x9f\x98\x80","qty":1,"price":-0.5e-3,"active":null,"born":"1950-01-02",'
           '"seen":null}]')
    eq(got, exp.encode("latin-1"), "stored text")
    lines = [l for l in s.log_lines() if l["method"] == "PATCH" and l["path"] == "/Dataset/px/data"]
    eq(sorted((l["status"], l["block"], l["records"]) for l in lines), [(204, 0, 3), (204, 1, 1)])


@test
def patch_rejections_unchanged(s):
    # what the one-pass reader declines gets jansson's and the checks' answers
    mkds(s, "pr", {"name": 0, "qty": 1, "price": 2, "active": 3, "born": 4, "seen": 5})
    bad_json = "The request body is not valid JSON."
    see = "See the errors property for details."
    B = lambda recs: '{"blockNumber":0,"records":[%s]}' % recs
    cases = [
        (B('{"qty":1,"qty":2}'), bad_json,
         {"body": ["Invalid JSON at line 1 column 42: duplicate object key near '\"qty\"'"]}),
        (B('{"qty":1,"q\\u0074y":2}'), bad_json,
         {"body": ["Invalid JSON at line 1 column 47: duplicate object key near '\"q\\u0074y\"'"]}),
        ('{"blockNumber":0,"records":[{}],"records":[{}]}', bad_json,
         {"body": ["Invalid JSON at line 1 column 41: duplicate object key near '\"records\"'"]}),
        (B('{"price":1e400}'), bad_json, {"body": ["Invalid JSON at line 1 column 42: real number overflow near '1e400'"]}),
        (B('{"price":-1E+400}'), bad_json,
         {"body": ["Invalid JSON at line 1 column 44: real number overflow near '-1E+400'"]}),
        (B('{"name":"\\ud800"}'), bad_json,
         {"body": ["Invalid JSON at line 1 column 44: invalid Unicode '\\uD800' near '\"\\ud800\"'"]}),
        (B('{"name":"\xc0\xaf"}'), bad_json, {"body": ["Invalid JSON at line 1 column 37: unable to decode byte 0xc0 near '\"'"]}),
        (B('{"name":"\xed\xa0\x80"}'), bad_json,
         {"body": ["Invalid JSON at line 1 column 37: unable to decode byte 0xed near '\"'"]}),
        (B('{"name":"a\x01"}'), bad_json, {"body": ["Invalid JSON at line 1 column 38: control character 0x1 near '\"a'"]}),
        (B('{"name":"a\\u0000"}'), bad_json,
         {"body": ["Invalid JSON at line 1 column 45: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000\"'"]}),
        (B('{"qty":01}'), bad_json, {"body": ["Invalid JSON at line 1 column 36: invalid token near '0'"]}),
        (B('{}') + " x", bad_json, {"body": ["Invalid JSON at line 1 column 34: end of file expected near 'x'"]}),
        (B('{"email":"x"}'), see, {"records[0].email": ["Unknown column."]}),
        (B('{"qty":"1","active":1,"name":true}'), see,
         {"records[0].qty": ["The value must be an integer (64-bit) or null."],
          "records[0].active": ["The value must be true, false or null."],
          "records[0].name": ["The value must be a string or null."]}),
        (B(""), see, {"records": ["A block must hold between 1 and 1000 records."]}),
        (B(",".join(["{}"] * 1001)), see, {"records": ["A block must hold between 1 and 1000 records."]}),
    ]
    for body, detail, errors in cases:
        st, hd, j = s.call("PATCH", "/Dataset/pr/data", body.encode("latin-1"))
        problem(st, hd, j, 400)
        eq((j["detail"], j["errors"]), (detail, errors), body[:60])
    # bad JSON is answered before the dataset is looked up
    st, hd, j = s.call("PATCH", "/Dataset/nope/data", B('{"qty":1,"qty":2}'))
    eq((st, list(j["errors"])), (400, ["body"]))
    problem(*s.call("PATCH", "/Dataset/nope/data", B("{}")), 404)
    eq(s.call("GET", "/Dataset/pr")[2]["recordCount"], 0, "rejected blocks leave no trace")
    # a valid block, for a dataset that takes no records
    eq(s.call("PATCH", "/Dataset/pr/data", B('{"qty":1}'))[0], 204)
    eq(s.call("PUT", "/Dataset/pr", {"recordCount": 1, "completed": True})[0], 204)
    st, hd, j = s.call("PATCH", "/Dataset/pr/data", B('{"qty":1}'))
    eq((st, j["errors"]), (400, {"name": ["The dataset is completed; no more records can be uploaded."]}))
    out = run_job(s, "pr echo", "Echo", {"Input": "pr"})["outputDatasets"]["Output"]
    st, hd, j = s.call("PATCH", "/Dataset/%s/data" % out, '{"blockNumber":0,"records":[{"qty":1}]}')
    eq((st, j["errors"]), (400, {"name": ["Records can only be uploaded to input datasets."]}))


@test
def workflow_deceased_check(s):
    names = ["Alice Smith", "Bob Jones", "Carol White", "Dan Brown", "Eve Black", None] + ["Person %d" % i for i in range(60)]
    mkds(s, "dc_in", {"name": 0, "ref": 1})
    upload(s, "dc_in", [(0, [{"name": n, "ref": i} for i, n in enumerate(names)])])
    run_job(s, "dc1", "ContactDeceasedCheck", {"Contacts": "dc_in"}, {"MaxContactAge": "5"})
    f = wait_job(s, "dc1")
    eq(f["status"], 2); eq(f["parameters"], {"MaxContactAge": "5"})
    got = download_all(s, f["outputDatasets"]["Contacts"])
    exp = []
    for i, n in enumerate(names):
        if n is None:
            exp.append({"name": None, "ref": i, "deceased": None, "mover": None})
        else:
            h = fnv1a(n)
            exp.append({"name": n, "ref": i, "deceased": h % 11 == 0, "mover": h % 7 == 0})
    eq(got, exp)
    check(any(r["deceased"] for r in got) and any(r["mover"] for r in got), "some flags set")
    run_job(s, "dc2", "ContactDeceasedCheck", {"Contacts": "dc_in"})  # MaxContactAge optional
    eq(wait_job(s, "dc2")["status"], 2)


@test
def workflow_always_fails(s):
    mkds(s, "af_in", {"a": 0})
    upload(s, "af_in", [(0, [{"a": "x"}])])
    run_job(s, "fail me", "AlwaysFails", {"Input": "af_in"})
    f = wait_job(s, "fail me")
    eq(f["status"], 3)
    eq(f["message"], "workflow AlwaysFails failed: simulated failure")
    check(f["completedAt"] is not None)
    eq(f["outputDatasets"], {})


@test
def workflow_fails_silently(s):
    mkds(s, "fs_in", {"a": 0})
    upload(s, "fs_in", [(0, [{"a": "x"}, {"a": "y"}])])
    run_job(s, "fail quietly", "FailsSilently", {"Input": "fs_in"})
    f = wait_job(s, "fail quietly")
    eq(f["status"], 3)
    check("message" not in f, "no message: %r" % f)
    eq(f["statistics"], {"recordsProcessed": 2})
    eq(f["outputDatasets"], {})


@test
def workflow_match_accounts(s):
    # two inputs: Contacts get the account_name of the Accounts record with their account_id
    mkds(s, "ma_contacts", {"id": 1, "name": 0, "account_id": 1})
    mkds(s, "ma_accounts", {"account_id": 2, "account_name": 0})
    upload(s, "ma_contacts", [(0, [{"id": 1, "name": "Ann", "account_id": 10},
                                   {"id": 2, "name": "Bob", "account_id": 20},
                                   {"id": 3, "name": "Cy", "account_id": 99},
                                   {"id": 4, "name": "Di", "account_id": None}])])
    upload(s, "ma_accounts", [(0, [{"account_id": 10.0, "account_name": "Acme"},
                                   {"account_id": 20, "account_name": "Bolt Ltd"},
                                   {"account_id": 20, "account_name": "a later duplicate"}])])
    j = run_job(s, "match 1", "MatchAccounts", {"Contacts": "ma_contacts", "Accounts": "ma_accounts"})
    eq(j["inputDatasets"], {"Contacts": "ma_contacts", "Accounts": "ma_accounts"})
    out = j["outputDatasets"]["Contacts"]
    eq(wait_job(s, "match 1")["status"], 2)
    d = s.call("GET", "/Dataset/" + out)[2]
    eq(d["columns"], {"id": 1, "name": 0, "account_id": 1, "account_name": 0})
    eq(download_all(s, out), [
        {"id": 1, "name": "Ann", "account_id": 10, "account_name": "Acme"},
        {"id": 2, "name": "Bob", "account_id": 20, "account_name": "Bolt Ltd"},
        {"id": 3, "name": "Cy", "account_id": 99, "account_name": None},
        {"id": 4, "name": "Di", "account_id": None, "account_name": None}])
    # both inputs are required, and must have the columns the workflow reads
    problem(*s.call("POST", "/Job", {"name": "match 2", "workflowName": "MatchAccounts",
                                     "inputDatasets": {"Contacts": "ma_contacts"}}), 400, "inputDatasets.Accounts")
    problem(*s.call("POST", "/Job", {"name": "match 3", "workflowName": "MatchAccounts",
                                     "inputDatasets": {"Contacts": "ma_accounts", "Accounts": "ma_contacts"}}),
            400, "inputDatasets.Accounts")
    problem(*s.call("POST", "/Job", {"name": "match 4", "workflowName": "MatchAccounts",
                                     "inputDatasets": {"Contacts": "ma_contacts", "Accounts": "ma_accounts",
                                                       "Other": "ma_accounts"}}), 400, "inputDatasets.Other")
    problem(*s.call("POST", "/Job", {"name": "match 5", "workflowName": "Echo",
                                     "inputDatasets": {"Input": "ma_contacts", "Accounts": "ma_accounts"}}),
            400, "inputDatasets.Accounts")


@test
def job_progress(s):
    # the clean simulator runs at --rate 4000: 8,000 records take 2 s
    mkds(s, "slow_in", {"a": 1})
    upload(s, "slow_in", [(b, [{"a": i} for i in range(1000)]) for b in range(8)])
    j = run_job(s, "slow", "Echo", {"Input": "slow_in"})
    eq(j["status"], 0)
    out = j["outputDatasets"]["Output"]
    eq(s.call("GET", "/Dataset/" + out)[2]["completed"], False)
    problem(*s.call("GET", "/Dataset/%s/data?start=1&count=1" % out), 400)
    time.sleep(0.4)
    seen = []
    for _ in range(10):
        g = s.call("GET", "/Job/slow")[2]
        if g["status"] != 1:
            break
        seen.append(g["percentComplete"])
        check(0 < g["percentComplete"] < 100, g)
        check(g["estimatedFinishTime"] > g["submittedAt"])
        time.sleep(0.1)
    check(len(seen) >= 3 and seen == sorted(seen) and seen[-1] > seen[0], "progress observed: %r" % seen)
    f = wait_job(s, "slow")
    eq(f["status"], 2); eq(f["statistics"]["recordsProcessed"], 8000)
    eq(s.call("GET", "/Dataset/" + out)[2]["recordCount"], 8000)


@test
def job_list_filters_paging(s):
    mkds(s, "jl_in", {"a": 0}, user="carol")
    upload(s, "jl_in", [(0, [{"a": "x"}])], user="carol")
    for i in range(105):
        run_job(s, "list job %03d" % i, "Echo", {"Input": "jl_in"}, user="carol")
    for i in range(3):
        run_job(s, "list dc %d" % i, "ContactDeceasedCheck", {"Contacts": "jl_in"}, user="carol")
    p1 = s.call("GET", "/Job", user="carol")[2]
    eq(len(p1), 100)
    eq(p1[0]["name"], "list dc 2", "newest first")
    eq(set(p1[0]), {"name", "workflowName", "submittedAt", "completedAt", "status", "percentComplete"})
    p2 = s.call("GET", "/Job?page=2", user="carol")[2]
    eq(len(p2), 8); eq(p2[-1]["name"], "list job 000")
    eq(s.call("GET", "/Job?page=3", user="carol")[2], [])
    eq([x["name"] for x in s.call("GET", "/Job?workflow=ContactDeceasedCheck", user="carol")[2]],
       ["list dc 2", "list dc 1", "list dc 0"])
    today = datetime.datetime.now(datetime.timezone.utc).date()
    yday = today - datetime.timedelta(days=1)
    eq(len(s.call("GET", "/Job?startDate=%s&endDate=%s&page=2" % (today, today), user="carol")[2]), 8)
    eq(s.call("GET", "/Job?endDate=%s" % yday, user="carol")[2], [])
    eq(s.call("GET", "/Job?startDate=%s" % (today + datetime.timedelta(days=1)), user="carol")[2], [])
    eq(len(s.call("GET", "/Job?startDate=%sT00:00:00Z&workflow=ContactDeceasedCheck" % today, user="carol")[2]), 3)
    for q in ("startDate=yesterday", "endDate=2024-13-01", "page=0", "page=abc"):
        problem(*s.call("GET", "/Job?" + q, user="carol"), 400)
    eq(s.call("GET", "/Job", user="bob")[2], [], "isolation")


@test
def gzip_when_asked(s):
    st, hd, b = s.raw("GET", "/Dataset?input=true", headers={"Authorization": "Bearer " + s.token("carol"),
                                                               "Accept-Encoding": "gzip"})
    eq(st, 200); eq(hd.get("content-encoding"), "gzip")
    data = json.loads(gzip.decompress(b))
    eq(len(data), 100)
    st, hd, b = s.raw("GET", "/Dataset?input=true", headers={"Authorization": "Bearer " + s.token("carol")})
    check("content-encoding" not in hd)
    # the same list (jobs still running may complete outputs in between)
    eq([d["name"] for d in json.loads(b)], [d["name"] for d in data])


@test
def hostile_off_by_default(s):
    # without --hostile a hostile_ name is an ordinary (unknown) dataset
    problem(*s.call("GET", "/Dataset/hostile_invalid_json"), 404)
    problem(*s.call("GET", "/Dataset/hostile_huge/data?start=1&count=10"), 404)
    st, h, j = s.call("GET", "/Dataset/hostile_redirect")
    eq((st, h.get("location")), (404, None))
    check(all("local" not in l and "authorization" not in l for l in s.log_lines()))


@test
def request_log(s):
    lines = s.log_lines()
    text = open(s.log).read()
    check(all(k in lines[0] for k in ("seq", "method", "path", "query", "account", "status", "fault", "ms")))
    tok = [l for l in lines if l["path"] == "/connect/token"]
    check(tok and tok[0]["method"] == "POST", "token requests logged")
    for secret in ("asecret", "bsecret", "csecret") + tuple(s.tokens.values()):
        check(secret not in text, "log leaks a secret or token")
    patches = [l for l in lines if l["method"] == "PATCH" and l["path"] == "/Dataset/echo_in/data"]
    eq(sorted((l["block"], l["records"]) for l in patches), [(0, 1000), (1, 1000), (2, 500), (7, 1)])
    rej = [l for l in lines if l["method"] == "PATCH" and l["status"] == 400 and l.get("block") == -1]
    check(rej, "rejected block logged with its block number")
    lists = [l for l in lines if l["path"] == "/Dataset" and l["query"] == "page=2"]
    check(lists and lists[0]["account"] == "carol")


# ---------------------------------------------------------------- separate simulators

def test_token_lifetime_and_max_body():
    s = Sim("--token-lifetime", "1", "--max-body", "2000")
    try:
        tok = s.token()
        eq(json.loads(s.form({"grant_type": "client_credentials", "client_id": "alice",
                              "client_secret": "asecret"})[2])["expires_in"], 1)
        eq(s.call("GET", "/Dataset", token=tok)[0], 200)
        time.sleep(1.3)
        st, hd, j = s.call("GET", "/Dataset", token=tok)
        problem(st, hd, j, 401)
        eq(hd.get("www-authenticate"), 'Bearer error="invalid_token"')
        tok = s.token(fresh=True)
        st, hd, j = s.call("POST", "/Dataset", {"name": "big", "columns": {"c%03d" % i: 0 for i in range(300)}},
                           token=tok)
        problem(st, hd, j, 413)
        eq(s.call("GET", "/Dataset/big", token=tok)[0], 404)
        eq(s.call("POST", "/Dataset", {"name": "small", "columns": {"a": 0}}, token=tok)[0], 201)
    finally:
        eq(s.stop(), 0, "exit status after SIGTERM")


def test_fault_503():
    s = Sim("--fail-503-every", "3", "--retry-after", "7")
    try:
        s.token()  # token requests are not counted
        eq(s.call("GET", "/Dataset")[0], 200)             # 1
        eq(s.call("GET", "/ApiKey")[0], 200)              # 2
        st, hd, j = s.call("POST", "/Dataset", {"name": "f", "columns": {"a": 0}})  # 3: faulted
        problem(st, hd, j, 503)
        eq(hd.get("retry-after"), "7")
        eq(s.call("GET", "/Dataset/f")[0], 404, "faulted request had no effect")  # 4
        eq(s.call("POST", "/Dataset", {"name": "f", "columns": {"a": 0}})[0], 201)  # 5
        eq(s.call("GET", "/Dataset/f")[0], 503)  # 6
        s.token(fresh=True)
        eq(s.call("GET", "/Dataset/f")[0], 200)  # 7
        # lines are written in completion order: sort them by the fault counter
        faults = [l["fault"] for l in sorted(s.log_lines(), key=lambda l: l["seq"]) if l["path"] != "/connect/token"]
        eq(faults, [None, None, "503", None, None, "503", None])
        eq([l["status"] for l in s.log_lines() if l["fault"]], [503, 503])
    finally:
        eq(s.stop(), 0)


def test_fault_429():
    s = Sim("--fail-429-every", "2", "--retry-after", "3")
    try:
        eq(s.call("GET", "/Dataset")[0], 200)
        st, hd, j = s.call("PATCH", "/Dataset/x/data", {"blockNumber": 4, "records": [{}]})
        problem(st, hd, j, 429)
        eq(hd.get("retry-after"), "3")
        log = [l for l in s.log_lines() if l["fault"] == "429"]
        eq(len(log), 1); eq(log[0]["status"], 429)
    finally:
        eq(s.stop(), 0)


def test_max_concurrent():
    # two requests held by latency fill the limit: a third one in flight gets a
    # 429 with Retry-After and no effect; once they are answered, requests pass
    s = Sim("--max-concurrent", "2", "--latency-ms", "400", "--retry-after", "2")
    try:
        s.token()
        results = []
        threads = [threading.Thread(target=lambda: results.append(s.call("GET", "/Dataset")[0]))
                   for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.15)
        st, hd, j = s.call("POST", "/Dataset", {"name": "mc_x", "columns": {"a": 0}})
        problem(st, hd, j, 429)
        eq(hd.get("retry-after"), "2")
        for t in threads:
            t.join()
        eq(sorted(results), [200, 200])
        eq(s.call("GET", "/Dataset/mc_x")[0], 404, "the refused request had no effect")
        eq(s.call("GET", "/Dataset")[0], 200, "below the limit again")
        log = [l for l in s.log_lines() if l["fault"] == "limit"]
        eq(len(log), 1); eq(log[0]["status"], 429)
    finally:
        eq(s.stop(), 0)


def test_fault_drop():
    s = Sim("--drop-every", "2")
    try:
        eq(s.call("GET", "/Dataset")[0], 200)  # 1
        try:
            s.call("POST", "/Dataset", {"name": "d", "columns": {"a": 0}})  # 2: dropped
            raise AssertionError("expected a transport error")
        except (http.client.HTTPException, ConnectionError, OSError) as e:
            check(not isinstance(e, AssertionError))
        eq(s.call("GET", "/Dataset/d")[0], 404, "dropped request had no effect")  # 3
        try:
            s.call("GET", "/Dataset")  # 4: dropped
            raise AssertionError("expected a transport error")
        except (http.client.HTTPException, ConnectionError, OSError):
            pass
        eq([l["fault"] for l in sorted(s.log_lines(), key=lambda l: l["seq"]) if l["path"] != "/connect/token"],
           [None, "drop", None, "drop"])
    finally:
        eq(s.stop(), 0)


def test_fault_drop_after():
    s = Sim("--drop-after-every", "2")
    lost = (http.client.HTTPException, ConnectionError, OSError)

    def expect_lost(*a):
        try:
            s.call(*a)
        except lost:
            return
        raise AssertionError("expected a transport error")
    try:
        eq(s.call("GET", "/Dataset")[0], 200)                                   # 1
        expect_lost("POST", "/Dataset", {"name": "d", "columns": {"a": 0}})     # 2: acts, answer lost
        eq(s.call("GET", "/Dataset/d")[0], 200, "the dropped request took effect")  # 3
        expect_lost("PATCH", "/Dataset/d/data", {"blockNumber": 0, "records": [{"a": "x"}]})  # 4
        eq(s.call("GET", "/Dataset/d")[2]["recordCount"], 1, "the dropped PATCH took effect")  # 5
        expect_lost("POST", "/Dataset", {"name": "d", "columns": {"a": 0}})     # 6: 409, lost
        api = [l for l in sorted(s.log_lines(), key=lambda l: l["seq"]) if l["path"] != "/connect/token"]
        eq([l["fault"] for l in api], [None, "drop-after", None, "drop-after", None, "drop-after"])
        eq([l["status"] for l in api if l["fault"]], [201, 204, 409], "the handler's status is logged")
        eq(api[3]["block"], 0); eq(api[3]["records"], 1)
    finally:
        eq(s.stop(), 0)


def test_token_log():
    d = tempfile.mkdtemp(prefix="data8sim-")
    path = os.path.join(d, "tokens.txt")
    s = Sim("--token-log", path, umask=0o077)
    try:
        eq(os.stat(path).st_mode & 0o777, 0o644, "token log mode")
        t1 = s.token()
        t2 = s.token(fresh=True)
        cid = s.call("POST", "/ClientCredential", {"description": "tl"})[2]["clientId"]
        sec = s.call("POST", "/ClientCredential/%s/secrets" % cid, {})[2]["generatedSecret"]
        st, hd, b = s.form({"grant_type": "client_credentials", "client_id": cid, "client_secret": sec})
        eq(st, 200)
        t3 = json.loads(b)["access_token"]
        eq(s.form({"grant_type": "client_credentials", "client_id": "alice", "client_secret": "no"})[0], 401)
        with open(path) as f:
            eq(f.read(), "%s\n%s\n%s\n" % (t1, t2, t3), "every issued token, one per line, nothing else")
        with open(s.log) as f:
            log = f.read()
        check(t1 not in log and t3 not in log, "tokens are not in the request log")
    finally:
        eq(s.stop(), 0)
    s = Sim("--token-log", path)  # an existing file is appended to
    try:
        t4 = s.token()
        with open(path) as f:
            eq(f.read().splitlines(), [t1, t2, t3, t4])
    finally:
        eq(s.stop(), 0)
        os.unlink(path)
        os.rmdir(d)


def test_default_threads_and_stalls():
    # without delays: the default pool of 8 threads
    s = Sim()
    try:
        with open("/proc/%d/status" % s.proc.pid) as f:
            eq([l.split()[1] for l in f if l.startswith("Threads:")], ["9"], "main thread + 8 pool threads")
    finally:
        eq(s.stop(), 0)
    # with stalls (or latency): a thread per connection, so a stalled
    # request never holds up another connection's
    s = Sim("--stall-every", "2", "--stall-ms", "2500")
    try:
        s.token()
        for i in range(12):
            eq(s.call("GET", "/Dataset")[0], 200)  # odd: answered
            try:
                s.call("GET", "/Dataset", timeout=0.3)  # even: stalls its connection's thread
                raise AssertionError("expected a timeout")
            except socket.timeout:
                pass
        t0 = time.time()
        eq(s.call("GET", "/Dataset", timeout=2)[0], 200, "answered while 12 requests stall")
        check(time.time() - t0 < 1, "no wait for a stalled thread")
    finally:
        eq(s.stop(), 0)


def test_fault_stall():
    s = Sim("--stall-every", "2", "--stall-ms", "1500")
    try:
        eq(s.call("GET", "/Dataset")[0], 200)
        t0 = time.time()
        try:
            s.call("POST", "/Dataset", {"name": "st", "columns": {"a": 0}}, timeout=0.5)
            raise AssertionError("expected a timeout")
        except socket.timeout:
            pass
        check(time.time() - t0 < 1.2)
        time.sleep(1.3)
        eq(s.call("GET", "/Dataset/st")[0], 404, "stalled request had no effect")
        log = [l for l in s.log_lines() if l["fault"] == "stall"]
        eq(len(log), 1)
    finally:
        eq(s.stop(), 0)


def test_latency():
    s = Sim("--latency-ms", "200")
    try:
        s.token()
        t0 = time.time()
        s.token(fresh=True)
        check(time.time() - t0 < 0.15, "no latency on /connect/token")
        t0 = time.time()
        eq(s.call("GET", "/Dataset")[0], 200)
        check(time.time() - t0 >= 0.2, "latency applied")
    finally:
        eq(s.stop(), 0)


def test_seed_repeatable():
    keys = []
    for _ in range(2):
        s = Sim("--seed", "42")
        try:
            keys.append((s.token(), s.call("POST", "/ApiKey", {})[2]["key"]))
        finally:
            s.stop()
    eq(keys[0], keys[1], "same seed, same generated values")


# ---------------------------------------------------------------- load check

def test_put_replaces():
    # PUT replaces the whole object: fields the body leaves out are cleared
    s = Sim("--put-replaces")
    try:
        eq(s.call("POST", "/ApiKey", {"key": "k1", "description": "d", "username": "u",
                                      "expiresOn": "2030-01-02T03:04:05Z", "maxRequestsPerIPPerDay": 50,
                                      "isClientKey": True})[0], 201)
        eq(s.call("PUT", "/ApiKey/k1/allowedDomains/example.com")[0], 204)
        eq(s.call("PUT", "/ApiKey/k1", {"description": "new"})[0], 204)
        j = s.call("GET", "/ApiKey/k1")[2]
        eq((j["description"], j["username"], j["expiresOn"], j["maxRequestsPerIPPerDay"], j["isClientKey"]),
           ("new", None, None, None, False), "absent fields cleared")
        eq(j["allowedDomains"], ["example.com"], "the lists are not part of the body")
        problem(*s.call("PUT", "/ApiKey/k1", {"username": 5}), 400, "username")
        eq(s.call("GET", "/ApiKey/k1")[2]["description"], "new", "a 400 changes nothing")
        cid = s.call("POST", "/ClientCredential", {"description": "etl"})[2]["clientId"]
        eq(s.call("PUT", "/ClientCredential/" + cid, {"clientId": cid})[0], 204)
        eq(s.call("GET", "/ClientCredential/" + cid)[2]["description"], None)
        eq(s.call("POST", "/ClientCredential/%s/secrets" % cid,
                  {"description": "s1", "expires": "2099-01-01T00:00:00Z"})[0], 201)
        eq(s.call("PUT", "/ClientCredential/%s/secrets/1" % cid, {"description": "s1b"})[0], 204)
        j = s.call("GET", "/ClientCredential/%s/secrets/1" % cid)[2]
        eq((j["description"], j["expires"]), ("s1b", None))
    finally:
        eq(s.stop(), 0)


def test_hostile():
    s = Sim("--hostile")
    try:
        tok = s.token()
        auth = {"Authorization": "Bearer " + tok}

        def get(path, headers=None, timeout=20):
            h = dict(auth)
            h.update(headers or {})
            return s.raw("GET", path, None, h, timeout)

        def both(name):
            return [get("/Dataset/" + name), get("/Dataset/" + name + "/data?start=1&count=10")]

        # authentication still comes first
        eq(s.raw("GET", "/Dataset/hostile_invalid_json")[0], 401)
        # an unknown mode, other methods and other routes are the normal service
        eq(get("/Dataset/hostile_no_such_mode")[0], 404)
        eq(s.call("DELETE", "/Dataset/hostile_invalid_json")[0], 404)
        eq(get("/Dataset/hostile_invalid_json/other")[0], 404)
        eq(get("/Dataset")[0], 200)

        for st, h, b in both("hostile_invalid_json"):
            eq(st, 200)
            check(h["content-type"].startswith("application/json"))
            check(b.startswith(b'{"name": "x", '), b)
            check(bad_json(b), b)
        for st, h, b in both("hostile_truncated_json"):
            eq(st, 200)
            eq(int(h["content-length"]), len(b))
            check(bad_json(b), b)
        for st, h, b in both("hostile_deep_json"):
            eq(st, 200)
            eq(b, b"[" * 100000 + b"]" * 100000)
        st, h, b = get("/Dataset/hostile_deep_json_page/data?start=1&count=1000")
        eq(b, b'[{"id":1,"name":' + b"[" * 100000 + b"]" * 100000 + b"}]")
        for st, h, b in both("hostile_wrong_type"):
            eq(st, 200)
            check(h["content-type"].startswith("text/html"))
            check(b.lstrip().lower().startswith(b"<!doctype html>"), b)
        for st, h, b in both("hostile_redirect"):
            eq(st, 302)
            eq(h["location"], "http://127.0.0.2:%d/Dataset/x" % s.port)

        # huge: 200 MB, chunked, generated on the fly (the simulator stays small)
        for path in ("/Dataset/hostile_huge", "/Dataset/hostile_huge/data?start=1&count=10"):
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
            c.request("GET", path, headers=auth)
            r = c.getresponse()
            eq(r.status, 200)
            eq(r.getheader("Transfer-Encoding"), "chunked")
            check(r.getheader("Content-Length") is None)
            n, head, tail = 0, b"", b""
            while True:
                d = r.read(1 << 20)
                if not d:
                    break
                if not head:
                    head = d[:200]
                tail = (tail + d)[-200:]
                n += len(d)
            c.close()
            eq(n, 1 + 3276800 * 64)
            check(head.startswith(b'[{"id":1,"name":"xxx'), head)
            check(tail.endswith(b'{"id":3276800,"name":"' + b"x" * 39 + b'"}]'), tail)
        with open("/proc/%d/status" % s.proc.pid) as f:
            rss = int([l for l in f if l.startswith("VmRSS")][0].split()[1])
        check(rss < 64 * 1024, "simulator RSS %d kB after streaming 200 MB" % rss)

        # record modes: a good completed output dataset, bad records
        def ds(name):
            st, h, b = get("/Dataset/" + name)
            eq(st, 200)
            return json.loads(b)

        def recs(name, q="start=1&count=1000"):
            st, h, b = get("/Dataset/%s/data?%s" % (name, q))
            eq(st, 200)
            return b

        d = ds("hostile_bad_records")
        eq((d["columns"], d["input"], d["completed"], d["recordCount"]), ({"id": 1, "name": 0}, False, True, 3))
        eq(json.loads(recs("hostile_bad_records")),
           [{"id": 1, "name": "a", "unexpected": True}, {"id": "two", "name": "b"},
            {"id": 3, "name": {"nested": [1, 2]}}])
        eq(json.loads(recs("hostile_bad_records", "start=2&count=1")), [{"id": "two", "name": "b"}])
        eq(json.loads(recs("hostile_bad_records", "start=4&count=10")), [])
        eq(json.loads(recs("hostile_bad_records_key"))[1], {"id": 2, "name": "b", "unexpected": True})
        eq(json.loads(recs("hostile_bad_records_type"))[1], {"id": "two", "name": "b"})
        eq(json.loads(recs("hostile_bad_records_object"))[1], {"id": 2, "name": {"nested": [1, 2]}})
        for m, third in (("number", 42), ("string", "text"), ("array", [1, 2]), ("null", None)):
            eq(json.loads(recs("hostile_bad_records_" + m)), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, third])
            eq(json.loads(recs("hostile_bad_records_" + m, "start=3&count=1")), [third])
        eq(ds("hostile_bad_records_short")["recordCount"], 3)
        eq(json.loads(recs("hostile_bad_records_short", "start=1&count=3")), [{"id": 1, "name": "a"}])
        eq(ds("hostile_nul")["recordCount"], 1)
        eq(json.loads(recs("hostile_nul")), [{"id": 1, "name": "a\x00b"}])
        b = recs("hostile_bad_utf8")
        check(b"\xff" in b, b)
        try:
            b.decode("utf-8")
            check(False, "valid UTF-8")
        except UnicodeDecodeError:
            pass

        # lists: hostile_list_short pages 1 item at a time, hostile_list_ignore_page ignores page
        for n in ("list_a1", "list_a2", "hostile_list_short"):
            mkds(s, n, {"id": 1})
        names = lambda q: [x["name"] for x in s.call("GET", "/Dataset" + q)[2]]
        eq((names(""), names("?page=2"), names("?page=3"), names("?page=4")),
           (["hostile_list_short"], ["list_a1"], ["list_a2"], []))
        mkds(s, "hostile_list_ignore_page", {"id": 1})
        eq(names("?page=3"), ["hostile_list_ignore_page"])
        eq(s.call("GET", "/Job?page=7")[0], 200)
        for n in ("hostile_list_short", "hostile_list_ignore_page"):
            eq(s.call("DELETE", "/Dataset/" + n)[0], 204)
        eq(names("?page=1"), ["list_a1", "list_a2"])
        # a key named hostile_ips... lists an entry with host bits set
        eq(s.call("POST", "/ApiKey", {"key": "hostile_ips_1"})[0], 201)
        eq(s.call("GET", "/ApiKey/hostile_ips_1/allowedIPs")[2], ["10.1.2.3/16"])
        eq(s.call("GET", "/ApiKey/hostile_ips_1")[2]["allowedIPs"], ["10.1.2.3/16"])
        problem(*s.call("POST", "/ApiKey/hostile_ips_1/allowedIPs", '"10.1.2.3/16"'), 400, "network")

        # _page: a good dataset of 5000 records (huge: 3,276,800), a bad data route
        for m in ("invalid_json", "truncated_json", "deep_json", "wrong_type", "redirect"):
            d = ds("hostile_%s_page" % m)
            eq((d["completed"], d["input"], d["recordCount"]), (True, False, 5000))
        eq(ds("hostile_huge_page")["recordCount"], 3276800)
        eq(get("/Dataset/hostile_redirect_page/data?start=1&count=1000")[0], 302)
        check(bad_json(get("/Dataset/hostile_invalid_json_page/data?start=1&count=1000")[2]))

        # the redirect target (another host, same port) is served and logged:
        # a client that followed it would show up with local 127.0.0.2
        eq(s.raw("GET", "/Dataset/x", None, auth)[0], 404)
        c = http.client.HTTPConnection("127.0.0.2", s.port, timeout=10)
        c.request("GET", "/Dataset/x", headers={"Authorization": "Bearer nope"})
        eq(c.getresponse().status, 401)
        c.close()
        c = http.client.HTTPConnection("127.0.0.2", s.port, timeout=10)
        c.request("GET", "/Dataset/x")
        eq(c.getresponse().status, 401)
        c.close()
        lines = s.log_lines()
        at2 = [l for l in lines if l["local"] == "127.0.0.2"]
        # two connections, two threads: the log may hold them in either order
        eq(sorted((l["path"], l["authorization"]) for l in at2), [("/Dataset/x", False), ("/Dataset/x", True)])
        check(all(l["local"] == "127.0.0.1" for l in lines if l not in at2))
        check(all(isinstance(l["authorization"], bool) for l in lines))
        check(not any(tok in json.dumps(l) for l in lines), "token in the log")
    finally:
        eq(s.stop(), 0)


def bad_json(b):
    try:
        json.loads(b)
        return False
    except ValueError:
        return True


def load_check():
    s = Sim("--threads", "4")
    try:
        tok = s.token()
        mkds(s, "load", {"id": 1, "name": 0, "email": 0, "phone": 0, "amount": 2, "created": 4})
        recs = [{"id": i, "name": "Customer Name %d" % i, "email": "customer%d@example.com" % i,
                 "phone": "07700 9%05d" % i, "amount": i * 1.25, "created": "2024-05-%02d" % (i % 28 + 1)}
                for i in range(1000)]
        tail = b',"records":' + json.dumps(recs, separators=(",", ":")).encode() + b"}"
        nblocks, nconn = 2000, 4
        hdr = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
        errors = []

        def worker(w):
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
            try:
                for b in range(w, nblocks, nconn):
                    body = b'{"blockNumber":' + str(b).encode() + tail
                    c.request("PATCH", "/Dataset/load/data", body, hdr)
                    r = c.getresponse()
                    r.read()
                    if r.status != 204:
                        errors.append(r.status)
            except Exception as e:  # noqa
                errors.append(repr(e))
            finally:
                c.close()

        def cpu():
            with open("/proc/%d/stat" % s.proc.pid) as f:
                parts = f.read().rsplit(")", 1)[1].split()
            return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")

        c0 = cpu()
        t0 = time.time()
        ts = [threading.Thread(target=worker, args=(w,)) for w in range(nconn)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        dt = time.time() - t0
        c1 = cpu()
        eq(errors, [], "load errors")
        n = nblocks * 1000
        eq(s.call("PUT", "/Dataset/load", {"recordCount": n, "completed": True})[0], 204)
        print("# load check: %d blocks x 1000 records x 6 columns over %d keep-alive connections in %.2f s: "
              "%.0f records/s, %.0f requests/s, %.1f MB/s; simulator CPU %.2f s" %
              (nblocks, nconn, dt, n / dt, nblocks / dt, nblocks * (len(tail) + 20) / dt / 1e6, c1 - c0))
        with open("/proc/%d/status" % s.proc.pid) as f:
            rss = [l for l in f if l.startswith("VmRSS")][0].split()[1]
        print("# load check: simulator RSS holding %d records: %d MB" % (n, int(rss) // 1024))
    finally:
        eq(s.stop(), 0)


def main():
    global PASSED, FAILED
    if not os.path.exists(SIM):
        print("data8-sim not built; run make -C test/sim")
        return 1
    t_start = time.time()
    s = Sim("--rate", "4000")

    def run(name, fn, *a):
        global PASSED, FAILED
        t0 = time.time()
        try:
            fn(*a)
            PASSED += 1
            print("ok   %-32s %.2fs" % (name, time.time() - t0))
        except Exception as e:  # noqa
            FAILED += 1
            print("FAIL %-32s %s" % (name, e))
            traceback.print_exc(limit=3, file=sys.stdout)
        sys.stdout.flush()

    try:
        for fn in TESTS:
            run(fn.__name__, fn, s)
    finally:
        rc = s.stop()
    run("sigterm_exit_0", lambda: eq(rc, 0))
    for fn in (test_token_lifetime_and_max_body, test_fault_503, test_fault_429, test_max_concurrent,
               test_fault_drop,
               test_fault_drop_after, test_fault_stall, test_default_threads_and_stalls, test_token_log,
               test_latency, test_seed_repeatable, test_put_replaces, test_hostile, load_check):
        run(fn.__name__, fn)
    print("# total %.1f s" % (time.time() - t_start))
    print("%d passed, %d failed" % (PASSED, FAILED))
    return 0 if FAILED == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
