"""cluster_harness.py: a small real cluster for end-to-end tests: the sluice-controller, one
private and one public sluice-agent enrolled with join tokens, a developer key, and a tiny
random-weights model deployed on both; plus the helpers the tests share (SSE parsing, waiting,
killing and restarting agents).

    from cluster_harness import running_cluster
    with running_cluster(tmp_path) as cl:
        r = cl.chat()
"""

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_harness import Agent  # noqa: E402
import harness  # noqa: E402
from harness import Controller, binary, write_private  # noqa: E402

PRIVATE, PUBLIC = "gpu-private-1", "gpu-public-1"
NODE_OF_ZONE = {"private": PRIVATE, "public": PUBLIC}
MESSAGES = [{"role": "user", "content": "Say hello."}]
LONG = 3000         # max_tokens of a generation that is still running seconds later (context 4096)
HEARTBEAT_MS = 1000  # the controller's heartbeat interval (agents are reaped after 3 silent ones)


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

    def chat(self, model="tiny", max_tokens=8, key=None, timeout=60, headers=None, **fields):
        body = {"model": model, "messages": MESSAGES, "max_tokens": max_tokens, "temperature": 0, "seed": 1, **fields}
        return self.ctl.request("POST", "/v1/chat/completions", key=key or self.dev_key, json=body, timeout=timeout,
                                headers=headers or {})

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

    def restart_controller(self, sig=signal.SIGKILL):
        """Ends the controller with sig and starts it again on the same ports and data directory;
        returns once every agent has been welcomed again."""
        welcomed = {name: a.count("welcomed by the controller") for name, a in self.agents.items()}
        self.ctl.proc.send_signal(sig)
        self.ctl.proc.wait(15)
        ports = iter([self.ctl.api_port, self.ctl.agent_port])
        saved, harness.free_port = harness.free_port, lambda: next(ports)
        try:
            self.ctl.start()
        finally:
            harness.free_port = saved
        for name, a in self.agents.items():
            a.wait_for("welcomed by the controller", count=welcomed[name] + 1, timeout=40)

    def agent_start(self, name):
        """(Re)starts an enrolled agent, without a join token."""
        a = self.agents[name]
        a.config.pop("join_token_file", None)
        a.start()
        return a


def set_rules(cl, **changes):
    """Replaces the rule set with the current one changed by changes (e.g. spill_queue_depth=1) and
    waits until every connected agent has acked the new version (public nodes get no traffic before)."""
    current = cl.admin("GET", "/api/v1/rules").json()["rules"]
    r = cl.admin("PUT", "/api/v1/rules", json={**current, **changes})
    assert r.status_code == 200, r.text
    version = r.json()["version"]

    def acked():
        nodes = {node for d, node, f in cl.frames() if d == "in" and f["type"] == "rules.ack" and f["version"] == version}
        return nodes >= {n for n, a in cl.agents.items() if a.proc and a.proc.poll() is None}
    cl.wait(f"agents acking rule set version {version}", acked, 20)
    return version


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


def error_of(resp):
    """The OpenAI-shaped error body: {"error": {"message", "type", "code"}}."""
    body = resp.json()
    assert set(body) == {"error"} and {"message", "type", "code"} <= set(body["error"]), body
    return body["error"]


def kill(agent):
    """SIGKILL (no goodbye: the kernel closes its sockets) and reap."""
    agent.proc.send_signal(signal.SIGKILL)
    agent.proc.wait(10)


def restart_and_reload(cl, name, model="tiny"):
    """Restarts a killed agent without a join token; waits until it is welcomed again and the
    controller has had it load the model again (model.load re-sent on hello)."""
    a = cl.agents[name]
    welcomed = a.count("welcomed by the controller")
    ready = cl.ctl.log().count(f'"message":"{name}: model {model} ready"')
    loads = cl.ctl.log().count(f'"message":"asked {name} to load {model}"')
    cl.agent_start(name)
    a.wait_for("welcomed by the controller", count=welcomed + 1, timeout=30)
    assert a.count("enrolling node") == 1, "a restarted agent enrolled again\n" + a.tail()
    cl.wait(f"{name} asked to load {model} again",
            lambda: cl.ctl.log().count(f'"message":"asked {name} to load {model}"') > loads, 20)
    cl.wait(f"{name} reporting {model} ready again",
            lambda: cl.ctl.log().count(f'"message":"{name}: model {model} ready"') > ready, 30)
    cl.wait_node(name, lambda n: n["connected"] and n["state"] == "online", "online again")


@contextlib.contextmanager
def running_cluster(tmp, config=None, models=(("tiny", 3),), nodes=((PRIVATE, "private"), (PUBLIC, "public"))):
    """The controller (heartbeat HEARTBEAT_MS, plus config), an agent for each (name, zone) of nodes
    (the private and the public one by default), a developer key, and each (name, seed) of models
    deployed on every node and ready."""
    frames = tmp / "controller" / "frames.jsonl"
    ctl = Controller(tmp / "controller", config={"heartbeat_interval_ms": HEARTBEAT_MS, **(config or {})},
                     env={**os.environ, "SLUICE_FRAME_LOG": str(frames)}).start()
    agents = {}
    cl = None
    try:
        for name, zone in nodes:
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
        cl = Cluster(ctl, agents, ctl.create_key("cluster-dev", "developer"), tmp)
        for a in agents.values():
            a.wait_for("welcomed by the controller", timeout=30)
        for model, seed in models:
            path, sha = make_model(tmp / f"{model}.gguf", seed)
            deploy(cl, model, path, sha, replicas=len(nodes))
            wait_deployed(cl, model, [name for name, _ in nodes])
        yield cl
    finally:
        for a in agents.values():
            if a.proc and a.proc.poll() is None:
                a.proc.send_signal(signal.SIGCONT)  # in case a failed test left it stopped
        statuses = {name: a.stop() for name, a in agents.items()}
        status = ctl.stop()
    assert status == 0, f"sluice-controller exited with status {status}:\n{ctl.log_tail(60)}"
    assert all(s == 0 for s in statuses.values()), f"agent exit statuses {statuses}\n{cl.logs() if cl else ''}"
    for a in agents.values():
        a.assert_no_bugs()


