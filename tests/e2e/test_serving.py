"""test_serving.py: serving end to end with real processes on loopback: the real sluice-controller
(TLS API, mutual-TLS agent endpoint), two enrolled sluice-agents (one private, one public) serving
a tiny random-weights model, and the official openai npm client (tests/openai/compat.mjs).

Checks: OpenAI compatibility (also several concurrent streams on one agent), X-Sluice-Zone and
the node inventory, an agent killed mid-stream (SSE error node_lost) and before the first token
(retried on the other node), restart and re-load of a killed agent, client disconnect cancelling
the generation, controller restart (inventory kept, agents reconnect), revocation within 5 s,
OpenAI-shaped 400/401/404, and every agent frame of the whole run against its JSON Schema.

The tests share one cluster (module-scoped) and run in file order: later ones build on what
earlier ones left (the revoked node stays revoked).

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_serving.py
"""

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from agent_harness import Agent, validate_frame  # noqa: E402
from harness import SOURCE_ROOT, Controller, binary, write_private  # noqa: E402

PRIVATE, PUBLIC = "gpu-private-1", "gpu-public-1"
NODE_OF_ZONE = {"private": PRIVATE, "public": PUBLIC}
MESSAGES = [{"role": "user", "content": "Say hello."}]
LONG = 3000         # max_tokens of a generation that is still running seconds later (context 4096)
HEARTBEAT_MS = 1000  # the controller's heartbeat interval (agents are reaped after 3 silent ones)
COMPAT_DIR = SOURCE_ROOT / "tests" / "openai"


class Cluster:
    """The controller, the agents by node name, the developer key, and what failed checks print."""

    def __init__(self, controller, agents, dev_key, tmp):
        self.ctl = controller
        self.agents = agents
        self.dev_key = dev_key
        self.tmp = tmp
        self.frames_path = controller.workdir / "frames.jsonl"

    def logs(self, lines=25):
        """The ends of every log, for failure messages."""
        out = [f"--- controller.log ---\n{self.ctl.log_tail(lines)}"]
        for name, a in self.agents.items():
            out.append(f"--- {name} agent.log (exit status {a.proc.poll() if a.proc else None}) ---\n{a.tail(lines)}")
        return "\n".join(out)

    # --- the API ---
    def admin(self, method, path, **kw):
        return self.ctl.request(method, path, **kw)

    def dev(self, method, path, **kw):
        return self.ctl.request(method, path, key=self.dev_key, **kw)

    def chat(self, model="tiny", max_tokens=8, key=None, timeout=60, **fields):
        body = {"model": model, "messages": MESSAGES, "max_tokens": max_tokens, "temperature": 0, "seed": 1, **fields}
        return self.ctl.request("POST", "/v1/chat/completions", key=key or self.dev_key, json=body, timeout=timeout)

    def open_stream(self, model="tiny", max_tokens=LONG):
        """A streamed chat completion, open: the answer's headers come with the first token."""
        body = {"model": model, "messages": MESSAGES, "max_tokens": max_tokens, "temperature": 0, "seed": 7,
                "stream": True}
        r = self.ctl.request("POST", "/v1/chat/completions", key=self.dev_key, json=body, stream=True,
                             timeout=(10, 30))
        assert r.status_code == 200, f"{r.status_code} {r.text}\n{self.logs()}"
        assert r.headers["content-type"].startswith("text/event-stream"), r.headers
        return r

    def nodes(self):
        r = self.admin("GET", "/api/v1/nodes")
        assert r.status_code == 200, r.text
        return {n["name"]: n for n in r.json()["data"]}

    def wait(self, what, predicate, timeout=20, interval=0.1):
        """Polls predicate() until it returns something true; fails naming what, with the logs."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})\n{self.logs()}")

    def wait_node(self, name, predicate, what, timeout=20):
        return self.wait(f"node {name}: {what}", lambda: (lambda n: n if n and predicate(n) else None)(
            self.nodes().get(name)), timeout)

    def routed(self, request_id):
        """The nodes the controller routed a request to, in order ("routed ID.N to NODE" lines)."""
        return re.findall(rf"routed {re.escape(request_id)}\.\d+ to ([A-Za-z0-9._-]+)", self.ctl.log())

    def frames(self):
        """Every agent frame the controller logged: (dir, node, frame dict)."""
        out = []
        for line in self.frames_path.read_text().splitlines():
            rec = json.loads(line)
            out.append((rec["dir"], rec["node"], json.loads(rec["text"])))
        return out

    def agent_start(self, name):
        """(Re)starts an enrolled agent, without a join token."""
        a = self.agents[name]
        a.config.pop("join_token_file", None)
        a.start()
        return a


def sse_events(resp):
    """The data: payloads of an SSE response, as they arrive (parsed JSON, or the string [DONE])."""
    for line in resp.iter_lines():
        if line.startswith(b"data: "):
            payload = line[6:].decode()
            yield payload if payload == "[DONE]" else json.loads(payload)


def make_model(path, seed, ctx=4096):
    r = subprocess.run([str(binary("cli/sluice")), "model", "mk", "--preset", "tiny", "--seed", str(seed), "--ctx",
                        str(ctx), "-o", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def deploy(cl, model, path, sha, **fields):
    r = cl.admin("POST", "/api/v1/deployments",
                 json={"model": model, "source": str(path.resolve()), "sha256": sha, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def wait_deployed(cl, model, nodes, timeout=60):
    def ready():
        for d in cl.admin("GET", "/api/v1/deployments").json()["data"]:
            if d["model"] == model:
                st = {n["node"]: n["status"] for n in d["nodes"]}
                return st if all(st.get(n) == "ready" for n in nodes) else None
    cl.wait(f"deployment {model} ready on {nodes}", ready, timeout)
    cl.wait(f"/v1/models listing {model}",
            lambda: model in [m["id"] for m in cl.dev("GET", "/v1/models").json()["data"]], timeout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serving")
    frames = tmp / "controller" / "frames.jsonl"
    ctl = Controller(tmp / "controller", config={"heartbeat_interval_ms": HEARTBEAT_MS},
                     env={**os.environ, "SLUICE_FRAME_LOG": str(frames)}).start()
    agents = {}
    cl = None
    try:
        for name, zone in ((PRIVATE, "private"), (PUBLIC, "public")):
            r = ctl.request("POST", "/api/v1/join-tokens", json={"name": name, "zone": zone, "ttl": "10m"})
            assert r.status_code == 201, r.text
            work = tmp / name
            work.mkdir()
            agents[name] = Agent(work, {
                "controller_url": ctl.url,
                "agent_url": f"wss://127.0.0.1:{ctl.agent_port}/",
                "ca_file": str(ctl.ca_file),
                "node_name": name,
                "data_dir": str(work / "data"),
                "join_token_file": str(write_private(work / "token", r.json()["token"] + "\n")),
                "threads": 1,
                "max_sequences": 8,
                "device": "cpu",
            }).start()
        cl = Cluster(ctl, agents, ctl.create_key("serving-dev", "developer"), tmp)
        for a in agents.values():
            a.wait_for("welcomed by the controller", timeout=30)
        path, sha = make_model(tmp / "M.gguf", 3)
        deploy(cl, "tiny", path, sha, replicas=2)
        wait_deployed(cl, "tiny", [PRIVATE, PUBLIC])
        yield cl
    finally:
        statuses = {name: a.stop() for name, a in agents.items()}
        status = ctl.stop()
    assert status == 0, f"sluice-controller exited with status {status}:\n{ctl.log_tail(60)}"
    assert all(s == 0 for s in statuses.values()), f"agent exit statuses {statuses}\n{cl.logs() if cl else ''}"
    for a in agents.values():
        a.assert_no_bugs()
