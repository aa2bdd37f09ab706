"""test_admin_cli.py: `sluice admin ...` against a real sluice-controller: every verb in text and
--json, exit codes, and the failures a user meets (wrong key, wrong role, no controller, a key file
others can read, bad flags, odd answers).

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q tests/e2e/test_admin_cli.py
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
from harness import controller, free_port, sluice, write_private  # noqa: E402,F401 (fixtures)

TOKEN_RE = re.compile(r"sjt-[A-Za-z0-9_-]{40,}")
KEY_RE = re.compile(r"sk-sluice-[A-Za-z0-9_-]{40,}")


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def failed(r, status=1):
    """A failure is one line on stderr, nothing on stdout, and the exit status the CLI promises."""
    assert r.returncode == status, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
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


def wait_for_log(controller, text, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in controller.log():
            return True
        time.sleep(0.05)
    return False


# ---- help and usage ----

def test_help(sluice):
    assert "admin" in ok(sluice.run("--help", config=False)).stdout
    out = ok(sluice.run("admin", "--help", config=False)).stdout
    for word in ("join-token create", "key revoke", "node list", "audit", "SLUICE_CONTROLLER_URL",
                 "SLUICE_API_KEY_FILE", "SLUICE_CA_FILE", "Exit codes"):
        assert word in out
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
])
def test_usage_errors_exit_2(sluice, args):
    msg = failed(sluice.run(*args), status=2)
    assert "admin" in msg


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
    msg = failed(sluice.run("admin", "key", "revoke", "0123456789abcdef"))
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
    msg = failed(sluice.run("admin", "node", "revoke", "no-such-node"))
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
    msg = failed(sluice.run("admin", "key", "list", key_file=kf))
    expected = controller.request("GET", "/api/v1/keys", key=wrong).json()["error"]["message"]
    assert "401" in msg and expected in msg
    m = re.search(r"request (cli-[0-9a-f]+)", msg)
    assert m, msg
    assert wait_for_log(controller, m.group(1)), "the request id the CLI reported is not in the controller's log"


def test_wrong_key_is_401_on_a_create_too(sluice, controller):
    kf = sluice.key_file("wrong2.key", "sk-sluice-" + "B" * 43)
    msg = failed(sluice.run("admin", "key", "create", "--name", "sneaky", "--role", "admin", key_file=kf))
    assert "401" in msg
    assert "sneaky" not in controller.request("GET", "/api/v1/keys").text, "a refused request created a key"


def test_developer_key_on_admin_command_is_403(sluice, controller):
    kf = sluice.key_file("dev.key", controller.create_key("dev-403", "developer"))
    msg = failed(sluice.run("admin", "key", "list", key_file=kf))
    assert "403" in msg and "role developer may not call GET /api/v1/keys" in msg
    msg = failed(sluice.run("admin", "join-token", "create", "--name", "dev-made", "--zone", "public", key_file=kf))
    assert "403" in msg
    assert "dev-made" not in controller.request("GET", "/api/v1/join-tokens").text, "a refused request made a token"


def test_auditor_reads_audit_and_nodes_only(sluice, controller):
    kf = sluice.key_file("auditor.key", controller.create_key("auditor-1", "auditor"))
    ok(sluice.run("admin", "audit", "--limit", "1", key_file=kf))
    ok(sluice.run("admin", "node", "list", key_file=kf))
    assert "403" in failed(sluice.run("admin", "key", "list", key_file=kf))


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
    msg = failed(sluice.run("admin", "node", "list", config=sluice.config("noca.json", ca_file=None)))
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
    msg = failed(sluice.run("admin", "node", "list", config=sluice.config("down.json", controller_url=url)))
    assert f"is the controller running at {url}?" in msg


def test_silent_controller_times_out(sluice):
    with socket.socket() as s:  # accepts TCP connections (the kernel does) and never answers
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        url = f"https://127.0.0.1:{s.getsockname()[1]}"
        msg = failed(sluice.run("admin", "node", "list",
                                config=sluice.config("slow.json", controller_url=url, timeout_ms=300)))
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
    msg = failed(sluice.run("admin", "key", "list", config=config))
    assert "larger than the limit" in msg
    msg = failed(sluice.run("admin", "node", "list", config=config))
    assert "502 Bad Gateway" in msg and "request cli-" in msg
    msg = failed(sluice.run("admin", "audit", config=config))
    assert "not a JSON object" in msg
