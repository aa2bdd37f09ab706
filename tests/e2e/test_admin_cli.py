"""test_admin_cli.py: `sluice admin ...` against a real sluice-controller: every command in text and
--json, every exit code (docs/CLI.md), and the failures a user meets (wrong key, wrong role, no
controller, a key file others can read, bad flags, odd answers). Deployments and jobs run on a real
cluster (cluster_harness.py: the controller, a private and a public agent, a tiny model).
test_every_route_has_a_command fails when the controller's route table (--print-routes) has an
admin endpoint that no command calls.

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_admin_cli.py
"""

import http.server
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cli, binary, controller, free_port, sluice, write_private  # noqa: E402,F401 (fixtures)
from cluster_harness import LONG, PRIVATE, PUBLIC, make_model, running_cluster  # noqa: E402

TOKEN_RE = re.compile(r"sjt-[A-Za-z0-9_-]{40,}")
KEY_RE = re.compile(r"sk-sluice-[A-Za-z0-9_-]{40,}")


# the exit codes of cli/cli.h and docs/CLI.md
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_DENIED, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_REFUSED, EXIT_SERVER, \
    EXIT_UNREACHABLE, EXIT_JOB_FAILED = range(10)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def failed(r, status=EXIT_FAILURE, json_error=False):
    """A failure is one line on stderr and the exit status the CLI promises; stdout is empty, or
    with json_error, the controller's error object as it came."""
    assert r.returncode == status, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    if json_error:
        e = json.loads(r.stdout)["error"]
        assert {"message", "type", "code"} <= set(e), r.stdout
    else:
        assert r.stdout == ""
    assert r.stderr.startswith("sluice: ") and r.stderr.count("\n") == 1, r.stderr
    return r.stderr


def table(text):
    """Parses an aligned table (a header, columns starting where the header's words start) into a
    list of dicts."""
    lines = text.splitlines()
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [len(line)])]
        rows.append(dict(zip(names, cells)))
    return rows


def wait_for_log(controller, text, timeout=5, count=1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if controller.log().count(text) >= count:
            return True
        time.sleep(0.05)
    return False


# ---- help and usage ----

def test_help(sluice):
    assert "admin" in ok(sluice.run("--help", config=False)).stdout
    out = ok(sluice.run("admin", "--help", config=False)).stdout
    for word in ("join-token create", "key revoke", "node list", "audit", "deployment create", "deployment delete ID",
                 "job submit", "job cancel ID", "SLUICE_CONTROLLER_URL", "SLUICE_API_KEY_FILE", "SLUICE_CA_FILE",
                 "Exit codes"):
        assert word in out
    # the exit code table of the help is the one this test (and docs/CLI.md) relies on
    codes = dict(re.findall(r"^  (\d)  (\S.*)$", out, re.M))
    assert sorted(int(c) for c in codes) == list(range(10)), codes
    assert "404" in codes[str(EXIT_NOT_FOUND)] and "409" in codes[str(EXIT_CONFLICT)]
    assert "401" in codes[str(EXIT_DENIED)] and "5xx" in codes[str(EXIT_SERVER)]
    assert "key create" in ok(sluice.run("admin", "key", "--help", config=False)).stdout
    assert "--model" in ok(sluice.run("admin", "key", "create", "--help", config=False)).stdout
    r = sluice.run("admin", config=False)
    assert r.returncode == 2 and "Usage" in r.stderr


@pytest.mark.parametrize("args", [
    ["admin", "frobnicate"],
    ["admin", "key"],
    ["admin", "key", "frob"],
    ["admin", "key", "list", "--bogus"],
    ["admin", "key", "list", "extra"],
    ["admin", "join-token", "create", "--zone", "private"],
    ["admin", "join-token", "create", "--name", "n1", "--zone", "dmz"],
    ["admin", "join-token", "create", "--name", "n1", "--zone", "private", "--ttl", "soon"],
    ["admin", "join-token", "create", "--name"],
    ["admin", "key", "create", "--name", "k", "--role", "root"],
    ["admin", "key", "create", "--role", "admin"],
    ["admin", "key", "create", "--name", "k", "--role", "admin", "--label", "novalue"],
    ["admin", "key", "create", "--name", "k", "--role", "admin", "--label", "=v"],
    ["admin", "key", "create", "--name", "k", "--role", "admin", "--label", "a=1", "--label", "a=2"],
    ["admin", "key", "create", "--name", "k", "--role", "admin", "--ttl", "0"],
    ["admin", "key", "revoke"],
    ["admin", "key", "revoke", "a", "b"],
    ["admin", "node", "revoke"],
    ["admin", "audit", "--limit", "0"],
    ["admin", "audit", "--limit", "1001"],
    ["admin", "audit", "--limit", "ten"],
    ["admin", "audit", "extra"],
    ["admin", "deployment"],
    ["admin", "deployment", "create", "--source", "/m.gguf", "--sha256", "a" * 64],
    ["admin", "deployment", "create", "--model", "m", "--sha256", "a" * 64],
    ["admin", "deployment", "create", "--model", "m", "--source", "/m.gguf"],
    ["admin", "deployment", "create", "--model", "m", "--source", "/m.gguf", "--sha256", "abc"],
    ["admin", "deployment", "create", "--model", "m", "--source", "/m.gguf", "--sha256", "g" * 64],
    ["admin", "deployment", "create", "--model", "m", "--source", "/m.gguf", "--sha256", "a" * 64,
     "--replicas", "0"],
    ["admin", "deployment", "create", "--model", "m", "--source", "/m.gguf", "--sha256", "a" * 64,
     "--replicas", "1025"],
    ["admin", "deployment", "create", "--model", "m", "--source", "/m.gguf", "--sha256", "a" * 64, "--zone", "dmz"],
    ["admin", "deployment", "create", "--model", "m", "--source", "/m.gguf", "--sha256", "a" * 64, "--size", "-1"],
    ["admin", "deployment", "delete"],
    ["admin", "deployment", "delete", ""],
    ["admin", "deployment", "list", "x"],
    ["admin", "job", "submit"],
    ["admin", "job", "submit", "--prompt", "hi", "--prompt-file", "/dev/null"],
    ["admin", "job", "submit", "--prompt", "hi", "--max-tokens", "many"],
    ["admin", "job", "submit", "--prompt", "hi", "--temperature", "warm"],
    ["admin", "job", "submit", "--prompt", "hi", "--seed", "1.5"],
    ["admin", "job", "submit", "--prompt", "hi", "--stop", "a", "--stop", "b", "--stop", "c", "--stop", "d",
     "--stop", "e"],
    ["admin", "job", "submit", "--prompt", "hi", "--wait", "--interval", "10ms"],
    ["admin", "job", "submit", "--prompt", "hi", "--wait", "--interval", "soon"],
    ["admin", "job", "submit", "--prompt", "hi", "--wait-timeout", "10s"],
    ["admin", "job", "show"],
    ["admin", "job", "cancel", "a", "b"],
    ["admin", "job", "frob"],
    ["admin", "--list-endpoints", "extra"],
])
def test_usage_errors_exit_2(sluice, args):
    msg = failed(sluice.run(*args), status=EXIT_USAGE)
    assert "admin" in msg


def test_usage_errors_send_nothing(sluice, controller):
    """A usage error is found before any request (the controller's log shows none)."""
    before = controller.log().count("/v1/jobs")
    failed(sluice.run("admin", "job", "submit", "--prompt", "hi", "--temperature", "warm"), EXIT_USAGE)
    time.sleep(0.2)
    assert controller.log().count("/v1/jobs") == before


# ---- every admin endpoint has a command ----

def routes():
    """The controller's route table, from sluice-controller --print-routes."""
    r = subprocess.run([str(binary("controller/sluice-controller")), "--print-routes"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def shape(path):
    """/api/v1/keys/{id} -> /api/v1/keys/{}: parameter names may differ."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_route_has_a_command(sluice):
    """Every /api/v1 and /v1/jobs route that an admin or an auditor may call has a command, and
    every command calls a route that exists. Routes only others call (POST /api/v1/enroll: the
    agent, with a join token) are not the CLI's."""
    endpoints = json.loads(ok(sluice.run("admin", "--list-endpoints", "--json", config=False)).stdout)
    covered = {(e["method"], shape(e["path"])): e["command"] for e in endpoints}
    table = routes()
    admin_routes = [(r["method"], shape(r["path"])) for r in table
                    if (r["path"].startswith("/api/v1/") or r["path"].startswith("/v1/jobs"))
                    and {"admin", "auditor"} & set(r["allowed"])]
    assert admin_routes, table
    missing = [f"{m} {p}" for m, p in admin_routes if (m, p) not in covered]
    assert not missing, f"admin endpoints without a `sluice admin` command: {missing}"
    existing = {(r["method"], shape(r["path"])) for r in table}
    stale = [f"{m} {p} ({c})" for (m, p), c in covered.items() if (m, p) not in existing]
    assert not stale, f"commands calling endpoints the controller does not have: {stale}"
    # the text form lists the same, and each command exists and says what it calls
    text = ok(sluice.run("admin", "--list-endpoints", config=False)).stdout.splitlines()
    assert len(text) == len(endpoints)
    for e in endpoints:
        h = ok(sluice.run(*e["command"].split(), "--help", config=False)).stdout
        assert f"Calls {e['method']} {e['path']}." in h, h


def test_a_command_calls_the_endpoint_it_lists(sluice, controller):
    """The request lines in the controller's log are the ones --list-endpoints names."""
    endpoints = {e["command"]: e for e in json.loads(ok(sluice.run("--json", "admin", "--list-endpoints")).stdout)}
    for command in ("admin key list", "admin node list", "admin audit", "admin deployment list", "admin job list"):
        e = endpoints[command]
        before = controller.log().count(f"{e['method']} {e['path']}")
        ok(sluice.run(*command.split()))
        assert wait_for_log(controller, f"{e['method']} {e['path']}", count=before + 1), (command, e)


# ---- exit codes: one of each, and --json errors ----

def test_exit_code_denied_and_the_error_object_with_json(sluice, controller):
    kf = sluice.key_file("dev-json.key", controller.create_key("dev-json", "developer"))
    r = sluice.run("--json", "admin", "key", "list", key_file=kf)
    msg = failed(r, EXIT_DENIED, json_error=True)
    expected = controller.request("GET", "/api/v1/keys", key=controller.create_key("dev-json2", "developer"))
    assert json.loads(r.stdout)["error"]["code"] == expected.json()["error"]["code"]
    assert "403" in msg
    # the verb's --json works the same
    failed(sluice.run("admin", "node", "revoke", "x", "--json", key_file=kf), EXIT_DENIED, json_error=True)


def test_exit_code_not_found(sluice):
    r = sluice.run("--json", "admin", "key", "revoke", "0123456789abcdef")
    failed(r, EXIT_NOT_FOUND, json_error=True)
    msg = failed(sluice.run("admin", "job", "show", "job-" + "0" * 24), EXIT_NOT_FOUND)
    assert "404" in msg and "job_not_found" in msg
    msg = failed(sluice.run("admin", "job", "cancel", "job-" + "0" * 24), EXIT_NOT_FOUND)
    msg = failed(sluice.run("admin", "deployment", "delete", "no-such-deployment"), EXIT_NOT_FOUND)
    assert "404" in msg
    # a model that is not deployed
    msg = failed(sluice.run("admin", "job", "submit", "--prompt", "hi", "--model", "no-such-model"), EXIT_NOT_FOUND)
    assert "no-such-model" in msg


def test_exit_code_conflict(sluice, controller):
    secret = controller.create_key("twice", "developer")
    key_id = next(k["id"] for k in controller.request("GET", "/api/v1/keys").json()["data"] if k["name"] == "twice")
    ok(sluice.run("admin", "key", "revoke", key_id))
    msg = failed(sluice.run("admin", "key", "revoke", key_id), EXIT_CONFLICT)
    assert "409" in msg and "already revoked" in msg
    assert controller.request("GET", "/v1/models", key=secret).status_code == 401


def test_exit_code_refused(sluice):
    msg = failed(sluice.run("admin", "job", "submit", "--prompt", "hi", "--temperature", "7"), EXIT_REFUSED)
    assert "400" in msg and "temperature" in msg
    r = sluice.run("admin", "deployment", "create", "--model", "rel", "--source", "relative/path.gguf",
                   "--sha256", "a" * 64, "--size", "10", "--json")
    msg = failed(r, EXIT_REFUSED, json_error=True)
    assert "source" in msg


# ---- join tokens ----

def test_join_token_create_prints_only_the_token(sluice, controller):
    r = ok(sluice.run("admin", "join-token", "create", "--name", "gpu-priv-1", "--zone", "private", "--ttl", "1h"))
    assert TOKEN_RE.fullmatch(r.stdout.strip()), r.stdout
    assert r.stdout.count("\n") == 1
    assert "gpu-priv-1" in r.stderr and "private" in r.stderr
    listed = controller.request("GET", "/api/v1/join-tokens").json()["data"]
    assert any(t["name"] == "gpu-priv-1" and t["zone"] == "private" for t in listed)


@pytest.mark.parametrize("where", ["global", "verb"])
def test_join_token_create_json(sluice, where):
    args = ["admin", "join-token", "create", "--name", f"gpu-pub-{where}", "--zone", "public"]
    args = ["--json"] + args if where == "global" else args + ["--json"]
    r = ok(sluice.run(*args))
    o = json.loads(r.stdout)
    assert TOKEN_RE.fullmatch(o["token"])
    assert o["name"] == f"gpu-pub-{where}" and o["zone"] == "public"
    assert o["id"] and o["expires_at"]


def test_join_token_list(sluice, controller):
    ok(sluice.run("admin", "join-token", "create", "--name", "gpu-list-1", "--zone", "private"))
    ok(sluice.run("admin", "join-token", "create", "--name", "gpu-list-2", "--zone", "public", "--ttl", "1s"))
    time.sleep(1.1)
    r = ok(sluice.run("admin", "join-token", "list"))
    assert r.stdout.split("\n")[0].split() == ["ID", "NAME", "ZONE", "STATE", "CREATED", "EXPIRES", "USED"]
    assert "sjt-" not in r.stdout
    rows = {row["NAME"]: row for row in table(r.stdout)}
    assert rows["gpu-list-1"]["ZONE"] == "private" and rows["gpu-list-1"]["STATE"] == "valid"
    assert rows["gpu-list-2"]["ZONE"] == "public" and rows["gpu-list-2"]["STATE"] == "expired"
    assert rows["gpu-list-1"]["USED"] == "-"
    # --json is the controller's answer, byte for byte
    r = ok(sluice.run("--json", "admin", "join-token", "list"))
    assert r.stdout == controller.request("GET", "/api/v1/join-tokens").text + "\n"


# ---- API keys ----

def test_key_create_prints_only_the_key(sluice, controller):
    r = ok(sluice.run("admin", "key", "create", "--name", "svc-a", "--role", "developer", "--ttl", "30d",
                      "--model", "m1", "--model", "m2", "--label", "team=a", "--label", "env=prod"))
    secret = r.stdout.strip()
    assert KEY_RE.fullmatch(secret) and r.stdout.count("\n") == 1
    assert "svc-a" in r.stderr and "developer" in r.stderr
    # the key works, for what a developer may do
    assert controller.request("GET", "/v1/models", key=secret).status_code == 200
    keys = {k["name"]: k for k in controller.request("GET", "/api/v1/keys").json()["data"]}
    assert keys["svc-a"]["models"] == ["m1", "m2"]
    assert keys["svc-a"]["labels"] == {"team": "a", "env": "prod"}
    assert keys["svc-a"]["expires_at"]


def test_key_create_json(sluice):
    r = ok(sluice.run("--json", "admin", "key", "create", "--name", "audit-bot", "--role", "auditor"))
    o = json.loads(r.stdout)
    assert KEY_RE.fullmatch(o["key"])
    assert o["name"] == "audit-bot" and o["role"] == "auditor" and o["expires_at"] is None and o["models"] == []


def test_key_list(sluice, controller):
    ok(sluice.run("admin", "key", "create", "--name", "svc-list", "--role", "developer", "--model", "qwen",
                  "--label", "team=x"))
    r = ok(sluice.run("admin", "key", "list"))
    assert r.stdout.split("\n")[0].split() == ["ID", "NAME", "PREFIX", "ROLE", "STATE", "CREATED", "EXPIRES",
                                               "MODELS", "LABELS"]
    assert not KEY_RE.search(r.stdout)  # prefixes only, never a secret
    rows = {row["NAME"]: row for row in table(r.stdout)}
    assert rows["bootstrap-admin"]["ROLE"] == "admin" and rows["bootstrap-admin"]["MODELS"] == "*"
    assert rows["svc-list"]["STATE"] == "active" and rows["svc-list"]["EXPIRES"] == "never"
    assert rows["svc-list"]["MODELS"] == "qwen" and rows["svc-list"]["LABELS"] == "team=x"
    assert rows["svc-list"]["PREFIX"].startswith("sk-sluice-")
    r = ok(sluice.run("--json", "admin", "key", "list"))
    assert r.stdout == controller.request("GET", "/api/v1/keys").text + "\n"


def test_key_revoke(sluice, controller):
    secret = controller.create_key("to-revoke", "developer")
    assert controller.request("GET", "/v1/models", key=secret).status_code == 200
    keys = controller.request("GET", "/api/v1/keys").json()["data"]
    key_id = next(k["id"] for k in keys if k["name"] == "to-revoke")
    r = ok(sluice.run("admin", "key", "revoke", key_id))
    assert key_id in r.stdout
    assert controller.request("GET", "/v1/models", key=secret).status_code == 401
    rows = {row["NAME"]: row for row in table(ok(sluice.run("admin", "key", "list")).stdout)}
    assert rows["to-revoke"]["STATE"] == "revoked"
    msg = failed(sluice.run("admin", "key", "revoke", "0123456789abcdef"), EXIT_NOT_FOUND)
    assert "404" in msg and "not found" in msg


# ---- nodes ----

def enroll(controller, workdir, name, token):
    """Enrolls a node the way an agent does (an EC P-256 key, a CSR with CN=name); returns the answer."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is needed to make a CSR")
    key, csr = workdir / f"{name}.key", workdir / f"{name}.csr"
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(csr)],
                   check=True, capture_output=True)
    r = requests.post(controller.url + "/api/v1/enroll", json={"token": token, "csr": csr.read_text()},
                      verify=str(controller.ca_file), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_node_list_and_revoke(sluice, controller, tmp_path):
    r = ok(sluice.run("--json", "admin", "node", "list"))
    assert r.stdout == controller.request("GET", "/api/v1/nodes").text + "\n"

    token = ok(sluice.run("admin", "join-token", "create", "--name", "gpu-e2e-1", "--zone", "private")).stdout.strip()
    enroll(controller, tmp_path, "gpu-e2e-1", token)
    tokens = {row["NAME"]: row for row in table(ok(sluice.run("admin", "join-token", "list")).stdout)}
    assert tokens["gpu-e2e-1"]["STATE"] == "used" and tokens["gpu-e2e-1"]["USED"] != "-"

    r = ok(sluice.run("admin", "node", "list"))
    assert r.stdout.split("\n")[0].split() == ["NAME", "ZONE", "STATE", "CONNECTED", "ENROLLED", "LAST-SEEN",
                                               "CERT-EXPIRES", "ID"]
    rows = {row["NAME"]: row for row in table(r.stdout)}
    assert rows["gpu-e2e-1"]["ZONE"] == "private" and rows["gpu-e2e-1"]["CONNECTED"] == "no"
    assert rows["gpu-e2e-1"]["CERT-EXPIRES"] != "-"
    r = ok(sluice.run("--json", "admin", "node", "list"))
    assert r.stdout == controller.request("GET", "/api/v1/nodes").text + "\n"

    r = ok(sluice.run("admin", "node", "revoke", "gpu-e2e-1"))
    assert "gpu-e2e-1" in r.stdout
    rows = {row["NAME"]: row for row in table(ok(sluice.run("admin", "node", "list")).stdout)}
    assert rows["gpu-e2e-1"]["STATE"] == "revoked"
    msg = failed(sluice.run("admin", "node", "revoke", "no-such-node"), EXIT_NOT_FOUND)
    assert "404" in msg and "no-such-node" in msg


# ---- audit ----

def test_audit(sluice, controller):
    ok(sluice.run("admin", "key", "create", "--name", "audited", "--role", "auditor"))
    r = ok(sluice.run("admin", "audit"))
    assert r.stdout.split("\n")[0].split() == ["ID", "TIME", "ACTOR", "ACTION", "TARGET", "REQUEST-ID", "DETAIL"]
    rows = table(r.stdout)
    assert {"api_key.create", "join_token.create"} <= {row["ACTION"] for row in rows}
    assert [int(row["ID"]) for row in rows] == sorted((int(row["ID"]) for row in rows), reverse=True)
    # the request id the CLI sent is what the controller recorded
    newest = rows[0]
    assert newest["ACTION"] == "api_key.create" and newest["REQUEST-ID"].startswith("cli-")
    assert "sk-sluice-" not in r.stdout and "sjt-" not in r.stdout

    assert len(table(ok(sluice.run("admin", "audit", "--limit", "2")).stdout)) == 2
    o = json.loads(ok(sluice.run("--json", "admin", "audit", "--limit", "1")).stdout)
    assert len(o["data"]) == 1 and o["data"][0]["id"] == int(newest["ID"])


# ---- refusals: authentication, roles ----

def test_wrong_key_is_401(sluice, controller):
    wrong = "sk-sluice-" + "A" * 43
    kf = sluice.key_file("wrong.key", wrong)
    msg = failed(sluice.run("admin", "key", "list", key_file=kf), EXIT_DENIED)
    expected = controller.request("GET", "/api/v1/keys", key=wrong).json()["error"]["message"]
    assert "401" in msg and expected in msg
    m = re.search(r"request (cli-[0-9a-f]+)", msg)
    assert m, msg
    assert wait_for_log(controller, m.group(1)), "the request id the CLI reported is not in the controller's log"


def test_wrong_key_is_401_on_a_create_too(sluice, controller):
    kf = sluice.key_file("wrong2.key", "sk-sluice-" + "B" * 43)
    msg = failed(sluice.run("admin", "key", "create", "--name", "sneaky", "--role", "admin", key_file=kf), EXIT_DENIED)
    assert "401" in msg
    assert "sneaky" not in controller.request("GET", "/api/v1/keys").text, "a refused request created a key"


def test_developer_key_on_admin_command_is_403(sluice, controller):
    kf = sluice.key_file("dev.key", controller.create_key("dev-403", "developer"))
    msg = failed(sluice.run("admin", "key", "list", key_file=kf), EXIT_DENIED)
    assert "403" in msg and "role developer may not call GET /api/v1/keys" in msg
    msg = failed(sluice.run("admin", "join-token", "create", "--name", "dev-made", "--zone", "public", key_file=kf),
                 EXIT_DENIED)
    assert "403" in msg
    assert "dev-made" not in controller.request("GET", "/api/v1/join-tokens").text, "a refused request made a token"


def test_auditor_reads_audit_and_nodes_only(sluice, controller):
    kf = sluice.key_file("auditor.key", controller.create_key("auditor-1", "auditor"))
    ok(sluice.run("admin", "audit", "--limit", "1", key_file=kf))
    ok(sluice.run("admin", "node", "list", key_file=kf))
    assert "403" in failed(sluice.run("admin", "key", "list", key_file=kf), EXIT_DENIED)


# ---- refusals before any request: key files, config ----

@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(sluice, controller, mode):
    kf = sluice.key_file(f"open-{mode:o}.key", controller.admin_key, mode=mode)
    before = controller.log().count("GET /api/v1/keys")
    msg = failed(sluice.run("admin", "key", "list", key_file=kf))
    assert "too open" in msg and f"{mode:04o}" in msg and "chmod 600" in msg
    time.sleep(0.2)
    assert controller.log().count("GET /api/v1/keys") == before, "the key was sent anyway"


def test_key_file_problems(sluice, tmp_path):
    msg = failed(sluice.run("admin", "key", "list", key_file=tmp_path / "missing.key"))
    assert "cannot open API key file" in msg and "missing.key" in msg
    msg = failed(sluice.run("admin", "key", "list", key_file=write_private(tmp_path / "empty.key", "  \n")))
    assert "empty" in msg
    msg = failed(sluice.run("admin", "key", "list", key_file=write_private(tmp_path / "two.key", "a b\n")))
    assert "printable" in msg
    msg = failed(sluice.run("admin", "key", "list", config=sluice.config("nokey.json", api_key_file=None)))
    assert "no API key" in msg and "SLUICE_API_KEY_FILE" in msg


def test_key_file_whitespace_is_trimmed(sluice, controller, tmp_path):
    kf = write_private(tmp_path / "spaced.key", f"\n  {controller.admin_key}\t\r\n\n")
    ok(sluice.run("admin", "key", "list", key_file=kf))


def test_certificate_checks(sluice, tmp_path):
    # without the controller's CA, the system's CAs do not vouch for it
    msg = failed(sluice.run("admin", "node", "list", config=sluice.config("noca.json", ca_file=None)),
                 EXIT_UNREACHABLE)
    assert "cannot verify the certificate" in msg and "ca_file" in msg
    config = sluice.config("badca.json", ca_file=str(tmp_path / "x.pem"))
    msg = failed(sluice.run("admin", "node", "list", config=config))
    assert "cannot read ca_file" in msg
    url = sluice.controller.url.replace("https://", "http://")
    msg = failed(sluice.run("admin", "node", "list", config=sluice.config("http.json", controller_url=url)))
    assert "https://" in msg


def test_bad_config_file(sluice, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"controller_url": 42}')
    msg = failed(sluice.run("admin", "node", "list", config=bad))
    assert "controller_url" in msg


def test_environment_overrides_config(sluice, controller, tmp_path):
    wrong = sluice.config("wrong.json", controller_url=f"https://127.0.0.1:{free_port()}",
                          ca_file=str(tmp_path / "nope.pem"), api_key_file=str(tmp_path / "nope.key"))
    env = {"SLUICE_CONTROLLER_URL": controller.url, "SLUICE_CA_FILE": controller.ca_file,
           "SLUICE_API_KEY_FILE": controller.admin_key_file}
    ok(sluice.run("admin", "node", "list", config=wrong, env=env))
    # no config file at all: defaults plus the environment
    ok(sluice.run("admin", "node", "list", config=False, env=env))
    # $SLUICE_CONFIG names the config file
    ok(sluice.run("admin", "node", "list", config=False, env={"SLUICE_CONFIG": sluice.config("env.json")}))


def test_output_json_in_config(sluice, controller):
    r = ok(sluice.run("admin", "key", "list", config=sluice.config("json.json", output="json")))
    assert r.stdout == controller.request("GET", "/api/v1/keys").text + "\n"


# ---- no controller, or a broken one ----

def test_unreachable_controller(sluice):
    url = f"https://127.0.0.1:{free_port()}"
    msg = failed(sluice.run("admin", "node", "list", config=sluice.config("down.json", controller_url=url)),
                 EXIT_UNREACHABLE)
    assert f"is the controller running at {url}?" in msg


def test_silent_controller_times_out(sluice):
    with socket.socket() as s:  # accepts TCP connections (the kernel does) and never answers
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        url = f"https://127.0.0.1:{s.getsockname()[1]}"
        msg = failed(sluice.run("admin", "node", "list",
                                config=sluice.config("slow.json", controller_url=url, timeout_ms=300)), EXIT_UNREACHABLE)
    assert "no answer from the controller within 300 ms" in msg


class FakeController(http.server.BaseHTTPRequestHandler):
    """Answers like a broken controller or a proxy in front of one."""
    def do_GET(self):
        if self.path == "/api/v1/keys":  # over the CLI's 16 MiB limit
            body, status, ctype = b'{"data":"' + b"x" * (17 << 20) + b'"}', 200, "application/json"
        elif self.path == "/api/v1/nodes":
            body, status, ctype = b"<html>bad gateway</html>", 502, "text/html"
        else:
            body, status, ctype = b"not json", 200, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_controller(controller):
    """An HTTPS server with the controller's own certificate (so that TLS checks pass) that
    answers what FakeController says."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(controller.data_dir / "server.pem", controller.data_dir / "server.key")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeController)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_odd_answers(sluice, fake_controller):
    config = sluice.config("fake.json", controller_url=fake_controller)
    msg = failed(sluice.run("admin", "key", "list", config=config), EXIT_SERVER)
    assert "larger than the limit" in msg
    msg = failed(sluice.run("admin", "node", "list", config=config), EXIT_SERVER)
    assert "502 Bad Gateway" in msg and "request cli-" in msg
    # with --json too: a body that is not JSON is not passed on
    msg = failed(sluice.run("--json", "admin", "node", "list", config=config), EXIT_SERVER)
    assert "502 Bad Gateway" in msg
    msg = failed(sluice.run("admin", "audit", config=config), EXIT_SERVER)
    assert "not a JSON object" in msg


# ---- deployments and jobs, on a real cluster ----

@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The controller, a private and a public agent, the tiny model deployed on both."""
    with running_cluster(tmp_path_factory.mktemp("cluster")) as cl:
        yield cl


@pytest.fixture(scope="module")
def csl(cluster, tmp_path_factory):
    """The CLI pointed at the cluster's controller, with its admin key."""
    return Cli(cluster.ctl, tmp_path_factory.mktemp("cluster-cli"))


def test_deployment_create_list_delete(cluster, csl, tmp_path):
    path, sha = make_model(tmp_path / "tiny2.gguf", seed=11)
    r = ok(csl.run("admin", "deployment", "create", "--model", "tiny2", "--source", str(path), "--sha256", sha,
                   "--zone", "private", "--replicas", "1"))
    dep_id = r.stdout.strip()
    assert r.stdout.count("\n") == 1 and dep_id, r.stdout
    assert "tiny2" in r.stderr and dep_id in r.stderr
    d = next(d for d in cluster.admin("GET", "/api/v1/deployments").json()["data"] if d["id"] == dep_id)
    assert d["model"] == "tiny2" and d["placement"] == {"zones": ["private"]} and d["replicas"] == 1, d

    # the private node loads it; the list shows where
    def ready():
        rows = {row["ID"]: row for row in table(ok(csl.run("admin", "deployment", "list")).stdout)}
        return rows[dep_id] if rows[dep_id]["NODES"] == f"{PRIVATE}:ready" else None
    row = cluster.wait("tiny2 ready on the private node", ready, timeout=60)
    assert row["MODEL"] == "tiny2" and row["STATE"] == "active" and row["REPLICAS"] == "1"
    assert row["CANARY"] == "0" and row["PLACEMENT"] == "zones=private"
    r = ok(csl.run("admin", "deployment", "list"))
    assert r.stdout.split("\n")[0].split() == ["ID", "MODEL", "STATE", "REPLICAS", "CANARY", "PLACEMENT", "NODES"]
    assert ok(csl.run("--json", "admin", "deployment", "list")).stdout == \
        cluster.admin("GET", "/api/v1/deployments").text + "\n"

    # --json create: the whole answer; a placement on a node by name
    r = ok(csl.run("admin", "deployment", "create", "--json", "--model", "tiny2", "--source", str(path),
                   "--sha256", sha, "--node", PUBLIC))
    o = json.loads(r.stdout)
    assert o["placement"] == {"nodes": [PUBLIC]} and o["model"] == "tiny2" and o["state"] == "pending", o
    assert r.stderr == ""

    for i in (dep_id, o["id"]):
        r = ok(csl.run("admin", "deployment", "delete", i))
        assert i in r.stdout and "stopped" in r.stdout
    states = {d["id"]: d["state"] for d in cluster.admin("GET", "/api/v1/deployments").json()["data"]}
    assert states[dep_id] == "stopped" and states[o["id"]] == "stopped", states
    rows = {row["ID"]: row for row in table(ok(csl.run("admin", "deployment", "list")).stdout)}
    assert rows[dep_id]["STATE"] == "stopped"
    # the audit trail names each change, with the CLI's request ids
    actions = [row["ACTION"] for row in table(ok(csl.run("admin", "audit", "--limit", "20")).stdout)]
    assert actions.count("deployment.create") >= 2, actions


def test_deployment_delete_json_and_again(cluster, csl, tmp_path):
    path, sha = make_model(tmp_path / "tiny3.gguf", seed=12)
    dep_id = ok(csl.run("admin", "deployment", "create", "--model", "tiny3", "--source", str(path), "--sha256", sha,
                        "--node", "no-such-node")).stdout.strip()
    o = json.loads(ok(csl.run("--json", "admin", "deployment", "delete", dep_id)).stdout)
    assert o["id"] == dep_id and o["state"] == "stopped", o
    # stopping it again is a conflict
    r = csl.run("--json", "admin", "deployment", "delete", dep_id)
    msg = failed(r, EXIT_CONFLICT, json_error=True)
    assert "409" in msg and json.loads(r.stdout)["error"]["code"] == "already_stopped"


def test_job_submit_show_list(cluster, csl):
    r = ok(csl.run("admin", "job", "submit", "--model", "tiny", "--prompt", "Once upon a time", "--max-tokens", "8",
                   "--temperature", "0", "--seed", "1"))
    job_id = r.stdout.strip()
    assert re.fullmatch(r"job-[0-9a-f]{24}", job_id) and r.stdout.count("\n") == 1, r.stdout
    assert job_id in r.stderr
    done = cluster.wait(f"job {job_id} done", lambda: (lambda j: j if j["state"] == "done" else None)(
        cluster.admin("GET", f"/v1/jobs/{job_id}").json()), timeout=60)

    r = ok(csl.run("admin", "job", "show", job_id))
    record, _, text = r.stdout.partition("\n\n")
    fields = dict(line.split(None, 1) for line in record.splitlines())
    assert fields["ID"] == job_id and fields["STATE"] == "done" and fields["MODEL"] == "tiny"
    assert fields["ZONE"] == done["zone"] and fields["ATTEMPTS"] == "1" and fields["ERROR"] == "-"
    assert fields["COMPLETION-TOKENS"] == str(done["output"]["usage"]["completion_tokens"])
    assert text == done["output"]["text"] + "\n"
    assert json.loads(ok(csl.run("--json", "admin", "job", "show", job_id)).stdout) == done

    r = ok(csl.run("admin", "job", "list"))
    assert r.stdout.split("\n")[0].split() == ["ID", "STATE", "MODEL", "ZONE", "ATTEMPTS", "CREATED", "FINISHED"]
    rows = {row["ID"]: row for row in table(r.stdout)}
    assert rows[job_id]["STATE"] == "done" and rows[job_id]["ZONE"] == done["zone"]
    listed = json.loads(ok(csl.run("--json", "admin", "job", "list")).stdout)
    assert listed["object"] == "list" and job_id in [j["id"] for j in listed["data"]]


def test_job_submit_wait_prints_the_text(cluster, csl):
    want = cluster.dev("POST", "/v1/generate", json={"model": "tiny", "prompt": "The sea", "max_tokens": 10, "temperature": 0,
                                                      "seed": 3}).json()
    r = ok(csl.run("admin", "job", "submit", "--model", "tiny", "--prompt", "The sea", "--max-tokens", "10", "--temperature", "0",
                   "--seed", "3", "--wait", "--interval", "100ms"))
    assert r.stdout == want["text"] + "\n"
    lines = r.stderr.splitlines()
    job_id = re.match(r"job (job-[0-9a-f]{24}): (queued|running)", lines[0]).group(1)
    assert lines[-1].startswith(f"job {job_id}: done"), r.stderr

    # --json: the final job object; the prompt from a file, or from stdin
    prompt = tmp = csl.workdir / "prompt.txt"
    prompt.write_text("The sea")
    r = ok(csl.run("--json", "admin", "job", "submit", "--model", "tiny", "--prompt-file", str(tmp), "--max-tokens", "10",
                   "--temperature", "0", "--seed", "3", "--wait", "--interval", "100ms"))
    o = json.loads(r.stdout)
    assert o["state"] == "done" and o["output"]["text"] == want["text"], o
    cmd = [str(binary("cli/sluice")), "--config", str(csl.config()), "admin", "job", "submit", "--model", "tiny",
           "--prompt-file", "-",
           "--max-tokens", "10", "--temperature", "0", "--seed", "3", "--wait", "--interval", "100ms"]
    r = ok(subprocess.run(cmd, input="The sea", capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HOME": str(csl.workdir)}))
    assert r.stdout == want["text"] + "\n"


def test_job_wait_timeout_cancel_and_conflict(cluster, csl):
    r = csl.run("--json", "admin", "job", "submit", "--model", "tiny", "--prompt", "Once upon a time", "--temperature", "0", "--seed", "1",
                "--max-tokens", str(LONG), "--wait",
                "--interval", "100ms", "--wait-timeout", "1s")
    assert r.returncode == EXIT_JOB_FAILED, r
    o = json.loads(r.stdout)
    assert o["state"] in ("queued", "running"), o
    assert "--wait-timeout" in r.stderr and o["id"] in r.stderr

    r = ok(csl.run("admin", "job", "cancel", o["id"]))
    assert o["id"] in r.stdout and "cancelled" in r.stdout
    assert cluster.admin("GET", f"/v1/jobs/{o['id']}").json()["state"] == "cancelled"
    r = csl.run("--json", "admin", "job", "cancel", o["id"])
    msg = failed(r, EXIT_CONFLICT, json_error=True)
    assert "409" in msg and json.loads(r.stdout)["error"]["code"] == "job_finished"
    # the cancelled job, shown
    fields = dict(line.split(None, 1) for line in ok(csl.run("admin", "job", "show", o["id"])).stdout.splitlines())
    assert fields["STATE"] == "cancelled"


def test_job_wait_sees_a_cancel(cluster, csl):
    """A job cancelled while `submit --wait` watches it ends the wait with exit code 9."""
    proc = subprocess.Popen([str(binary("cli/sluice")), "--config", str(csl.config()), "admin", "job", "submit",
                             "--model", "tiny", "--prompt", "Once upon a time", "--temperature", "0", "--seed", "1",
                "--max-tokens", str(LONG), "--wait", "--interval", "100ms"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HOME": str(csl.workdir)})
    try:
        line = proc.stderr.readline()
        job_id = re.match(r"job (job-[0-9a-f]{24}):", line).group(1)
        ok(csl.run("admin", "job", "cancel", job_id))
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT_JOB_FAILED, (out, err)
    assert out == "" and f"sluice: job {job_id} was cancelled" in err


def test_prompt_file_limits(csl, tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate((64 << 20) + 1)  # sparse: one byte over the limit
    msg = failed(csl.run("admin", "job", "submit", "--prompt-file", str(big)))
    assert "larger than 64 MiB" in msg
    msg = failed(csl.run("admin", "job", "submit", "--prompt-file", str(tmp_path / "missing.txt")))
    assert "cannot read --prompt-file" in msg
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"a\0b")
    assert "NUL" in failed(csl.run("admin", "job", "submit", "--prompt-file", str(nul)))


def test_developer_key_runs_its_own_jobs(cluster, csl):
    """The job commands work with a developer key too (the API lets developers use /v1/jobs)."""
    kf = csl.key_file("cluster-dev.key", cluster.dev_key)
    job_id = ok(csl.run("admin", "job", "submit", "--model", "tiny", "--prompt", "Hi", "--max-tokens", "4", key_file=kf)).stdout.strip()
    ids = [row["ID"] for row in table(ok(csl.run("admin", "job", "list", key_file=kf)).stdout)]
    assert job_id in ids
    assert "403" in failed(csl.run("admin", "deployment", "list", key_file=kf), EXIT_DENIED)
