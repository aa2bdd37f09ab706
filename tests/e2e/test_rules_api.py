"""test_rules_api.py: the routing rule set's versions against a real sluice-controller and a real
sluice-agent: the shipped default stored as version 1 at the first start; GET/PUT /api/v1/rules and
GET /api/v1/rules/versions with their refusals (a bad document names its field and changes nothing,
a document over 512 KiB is 413, roles); the audit row of each version; the new version pushed to a
connected agent, which acks it (the controller's frame log shows both frames); the version kept
across a restart; a stored version that no longer compiles stopping the start; and the
`sluice admin rules` commands. The tests of this module run in order on one controller.

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_rules_api.py
"""

import json
import os
import sqlite3
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from agent_harness import Agent, validate_frame  # noqa: E402
from harness import Cli, Controller, write_private  # noqa: E402

NODE = "rules-node-1"
RULES_DOCUMENT_MAX = 512 * 1024
# the example of policy/rules.h: an entity type that does not exist, named by its field
BAD_ENTITY = {"rules": [{"id": "typo", "class": "sensitive", "when": {"entities": ["emial"]}}]}
EXIT_FAILURE, EXIT_NOT_FOUND, EXIT_REFUSED = 1, 4, 6


class Env:
    """The module's controller (with a frame log), its agent, and the CLI."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.frames_path = tmp / "controller" / "frames.jsonl"
        self.ctl = Controller(tmp / "controller", config={"heartbeat_interval_ms": 1000},
                              env={**os.environ, "SLUICE_FRAME_LOG": str(self.frames_path)})
        self.agent = None
        self.cli = None

    def start_agent(self):
        r = self.ctl.request("POST", "/api/v1/join-tokens", json={"name": NODE, "zone": "public", "ttl": "10m"})
        assert r.status_code == 201, r.text
        work = self.tmp / NODE
        work.mkdir()
        self.agent = Agent(work, {
            "controller_url": self.ctl.url,
            "agent_url": f"wss://127.0.0.1:{self.ctl.agent_port}/",
            "ca_file": str(self.ctl.ca_file),
            "node_name": NODE,
            "data_dir": str(work / "data"),
            "join_token_file": str(write_private(work / "token", r.json()["token"] + "\n")),
            "threads": 1,
            "device": "cpu",
        }).start()
        self.agent.wait_for("welcomed by the controller", timeout=30)

    def restart_controller(self):
        """SIGTERM (must exit 0), then the same data directory on the same ports, so that the agent
        comes back; returns once it has been welcomed again."""
        welcomed = self.agent.count("welcomed by the controller")
        assert self.ctl.stop() == 0, self.ctl.log_tail(60)
        self.start_on_same_ports()
        self.agent.wait_for("welcomed by the controller", count=welcomed + 1, timeout=40)

    def start_on_same_ports(self):
        ports = iter([self.ctl.api_port, self.ctl.agent_port])
        saved, harness.free_port = harness.free_port, lambda: next(ports)
        try:
            self.ctl.start()
        finally:
            harness.free_port = saved

    def frames(self, type_, direction):
        """The frames of type_ the controller sent ("out") or received ("in") to/from NODE."""
        out = []
        for line in self.frames_path.read_text().splitlines():
            rec = json.loads(line)
            frame = json.loads(rec["text"])
            if rec["dir"] == direction and rec["node"] == NODE and frame.get("type") == type_:
                out.append(frame)
        return out

    def wait(self, what, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = predicate()
            if got:
                return got
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}\n--- controller ---\n{self.ctl.log_tail(40)}\n"
                             f"--- agent ---\n{self.agent.tail(40) if self.agent else ''}")

    def current(self):
        r = self.ctl.request("GET", "/api/v1/rules")
        assert r.status_code == 200, r.text
        return r.json()

    def versions(self):
        r = self.ctl.request("GET", "/api/v1/rules/versions")
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def rules_audit(self):
        r = self.ctl.request("GET", "/api/v1/audit")
        assert r.status_code == 200, r.text
        return [e for e in r.json()["data"] if e["action"] == "rules.set"]

    def put(self, body, key=None, **kw):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.ctl.request("PUT", "/api/v1/rules", key=key, data=data,
                                headers={"Content-Type": "application/json", **kw.pop("headers", {})}, **kw)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = Env(tmp_path_factory.mktemp("rules"))
    e.ctl.start()
    try:
        e.start_agent()
        e.cli = Cli(e.ctl, e.tmp / "cli")
        yield e
    finally:
        agent_status = e.agent.stop() if e.agent else 0
        status = e.ctl.stop()
    assert status == 0, f"sluice-controller exited with status {status}:\n{e.ctl.log_tail(60)}"
    assert agent_status == 0, e.agent.tail(40)
    e.agent.assert_no_bugs()


def error_of(resp):
    body = resp.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_the_default_is_version_1_stored_by_the_controller(env):
    cur = env.current()
    assert cur["version"] == 1 and cur["actor"] == "controller" and cur["current"] is True, cur
    assert isinstance(cur["rules"], dict) and cur["rules"], cur
    assert cur["created_at"].endswith("Z")
    assert [(v["version"], v["actor"], v["current"]) for v in env.versions()] == [(1, "controller", True)]
    audit = env.rules_audit()
    assert len(audit) == 1 and audit[0]["actor"] == "controller" and audit[0]["target"] == "1", audit
    assert audit[0]["detail"]["version"] == 1 and audit[0]["detail"]["previous"] == 0
    assert env.ctl.log().count("stored the shipped default rule set as version 1") == 1


def test_the_agent_got_version_1_on_hello_and_acked_it(env):
    sent = env.wait("the rules frame of version 1", lambda: env.frames("rules", "out"))
    assert sent[0]["version"] == 1 and sent[0]["rules"] == env.current()["rules"], sent[0]
    validate_frame(sent[0])
    acks = env.wait("rules.ack of version 1", lambda: env.frames("rules.ack", "in"))
    assert acks[0]["version"] == 1
    env.agent.wait_for("holding rule set version 1")


@pytest.mark.parametrize("body, field", [
    (BAD_ENTITY, "rules[0].when.entities[0]"),
    ('{"rules": [', "line 1"),
    ("", "not JSON"),
    ("[1, 2]", "JSON object"),
])
def test_a_refused_document_names_the_problem_and_changes_nothing(env, body, field):
    before = len(env.rules_audit())
    r = env.put(body)
    assert r.status_code == 400, r.text
    e = error_of(r)
    assert e["code"] == "invalid_rules" and field in e["message"], e
    if body is BAD_ENTITY:
        assert "emial" in e["message"], e
    assert env.current()["version"] == 1
    assert len(env.versions()) == 1
    assert len(env.rules_audit()) == before


def test_a_document_over_512_kib_is_413(env):
    body = '{"description":"' + "x" * RULES_DOCUMENT_MAX + '"}'
    r = env.put(body)
    assert r.status_code == 413, r.text
    e = error_of(r)
    assert e["code"] == "rules_too_large" and str(RULES_DOCUMENT_MAX) in e["message"], e
    assert env.current()["version"] == 1


def test_roles(env):
    dev = env.ctl.create_key("rules-dev", "developer")
    auditor = env.ctl.create_key("rules-auditor", "auditor")
    doc = env.current()["rules"]
    for key in (dev, auditor):
        r = env.put(doc, key=key)
        assert r.status_code == 403 and error_of(r)["code"] == "forbidden", r.text
    assert env.ctl.request("GET", "/api/v1/rules", key=dev).status_code == 403
    assert env.ctl.request("GET", "/api/v1/rules/versions", key=dev).status_code == 403
    assert env.ctl.request("GET", "/api/v1/rules", key=auditor).json()["version"] == 1
    assert env.ctl.request("GET", "/api/v1/rules/versions", key=auditor).status_code == 200
    assert env.current()["version"] == 1 and len(env.versions()) == 1


def test_a_good_document_becomes_version_2_and_reaches_the_agent(env):
    doc = dict(env.current()["rules"], description="version 2, from test_rules_api.py")
    r = env.put(doc, headers={"X-Request-Id": "rules-put-2"})
    assert r.status_code == 200, r.text
    assert r.json() == {"version": 2}

    cur = env.current()
    assert cur["version"] == 2 and cur["rules"] == doc and cur["current"] is True, cur
    assert cur["actor"] != "controller"
    old = env.ctl.request("GET", "/api/v1/rules?version=1").json()
    assert old["version"] == 1 and old["current"] is False and old["actor"] == "controller"
    assert "description" not in old["rules"] or old["rules"]["description"] != doc["description"]
    assert [(v["version"], v["current"]) for v in env.versions()] == [(2, True), (1, False)]

    audit = env.rules_audit()
    assert len(audit) == 2, audit
    assert audit[0]["target"] == "2" and audit[0]["request_id"] == "rules-put-2", audit[0]
    assert audit[0]["actor"] == cur["actor"]
    assert audit[0]["detail"]["version"] == 2 and audit[0]["detail"]["previous"] == 1

    # pushed at once to the connected agent, which acks it
    sent = env.wait("the rules frame of version 2", lambda: [f for f in env.frames("rules", "out") if f["version"] == 2])
    assert sent[0]["rules"] == doc
    validate_frame(sent[0])
    env.wait("rules.ack of version 2", lambda: [f for f in env.frames("rules.ack", "in") if f["version"] == 2])
    env.agent.wait_for("holding rule set version 2")


@pytest.mark.parametrize("query, status, text", [
    ("?version=3", 404, "version 3"),
    ("?version=0", 400, "version"),
    ("?version=two", 400, "version"),
    ("?version=1&version=2", 400, "twice"),
    ("?verison=1", 400, "verison"),
])
def test_get_query_refusals(env, query, status, text):
    r = env.ctl.request("GET", "/api/v1/rules" + query)
    assert r.status_code == status, r.text
    assert text in error_of(r)["message"]
    if status == 404:
        assert error_of(r)["code"] == "rules_version_not_found"


def test_versions_limit(env):
    r = env.ctl.request("GET", "/api/v1/rules/versions?limit=1")
    assert r.status_code == 200 and [v["version"] for v in r.json()["data"]] == [2], r.text
    for bad in ("0", "1001", "x"):
        r = env.ctl.request("GET", f"/api/v1/rules/versions?limit={bad}")
        assert r.status_code == 400 and "limit" in error_of(r)["message"], r.text


def test_cli_show_history_set(env):
    cli = env.cli
    r = cli.run("admin", "rules", "show")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == env.current()["rules"]
    assert "rule set version 2 (current)" in r.stderr
    r = cli.run("admin", "rules", "show", "--version", "1")
    assert r.returncode == 0 and "version 1 (not current), set by controller" in r.stderr, r.stderr
    r = cli.run("admin", "rules", "show", "--version", "9")
    assert r.returncode == EXIT_NOT_FOUND and "rules_version_not_found" in r.stderr, r.stderr
    r = cli.run("--json", "admin", "rules", "show")
    assert r.returncode == 0 and json.loads(r.stdout)["version"] == 2

    r = cli.run("admin", "rules", "history")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["VERSION", "CURRENT", "CREATED", "ACTOR"], lines
    assert [l.split()[:2] for l in lines[1:]] == [["2", "yes"], ["1", "no"]], lines
    assert lines[2].split()[3] == "controller"
    r = cli.run("admin", "rules", "history", "--limit", "1")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2, r.stdout

    good = env.tmp / "rules-v3.json"
    good.write_text(json.dumps(dict(env.current()["rules"], description="version 3, set by the CLI"), indent=2))
    r = cli.run("admin", "rules", "set", good)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "rule set version 3 is current; connected agents are sent it"
    assert env.current()["rules"]["description"] == "version 3, set by the CLI"
    env.agent.wait_for("holding rule set version 3")

    bad = env.tmp / "rules-bad.json"
    bad.write_text(json.dumps(BAD_ENTITY))
    r = cli.run("admin", "rules", "set", bad)
    assert r.returncode == EXIT_REFUSED and "rules[0].when.entities[0]" in r.stderr, r.stderr
    notjson = env.tmp / "rules-notjson.json"
    notjson.write_text("{\n  \"rules\": [\n")
    r = cli.run("admin", "rules", "set", notjson)
    assert r.returncode == EXIT_FAILURE and "line" in r.stderr, r.stderr
    r = cli.run("admin", "rules", "set", env.tmp / "no-such-file.json")
    assert r.returncode == EXIT_FAILURE and "no-such-file.json" in r.stderr, r.stderr
    assert env.current()["version"] == 3
    dev = cli.key_file("rules-dev.key", env.ctl.create_key("rules-cli-dev", "developer"))
    r = cli.run("admin", "rules", "set", good, key_file=dev)
    assert r.returncode == 3 and "403" in r.stderr, r.stderr
    assert env.current()["version"] == 3


def test_the_current_version_survives_a_restart(env):
    before = env.versions()
    env.restart_controller()
    cur = env.current()
    assert cur["version"] == 3 and cur["rules"]["description"] == "version 3, set by the CLI", cur
    assert env.versions() == before
    assert env.ctl.log().count("stored the shipped default rule set") == 1  # not again
    # the agent that came back was sent version 3 on hello (it held it already) and acked it
    acks = env.wait("a rules.ack after the restart",
                    lambda: [f for f in env.frames("rules.ack", "in") if f["version"] == 3][1:])
    assert acks


def test_a_stored_version_that_does_not_compile_stops_the_start(env):
    assert env.ctl.stop() == 0, env.ctl.log_tail(60)
    db = sqlite3.connect(env.ctl.data_dir / "sluice.db")
    try:
        with db:
            db.execute("INSERT INTO rule_sets (version, document, actor, created_at) VALUES (4, ?, 'x', 0)",
                       (json.dumps(BAD_ENTITY),))
        with pytest.raises(RuntimeError) as e:
            env.start_on_same_ports()
        assert "rule set version 4" in str(e.value) and "rules[0].when.entities[0]" in str(e.value), str(e.value)
        assert env.ctl.proc.returncode != 0
        with db:
            db.execute("DELETE FROM rule_sets WHERE version = 4")
    finally:
        db.close()
    welcomed = env.agent.count("welcomed by the controller")
    env.start_on_same_ports()
    env.agent.wait_for("welcomed by the controller", count=welcomed + 1, timeout=40)
    assert env.current()["version"] == 3
