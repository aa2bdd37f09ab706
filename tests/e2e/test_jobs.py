"""test_jobs.py: the native API and asynchronous jobs end to end, and the client-side limits, on a
real cluster (controller + a private and a public agent serving a tiny model; cluster_harness.py).

Checks: POST /v1/generate (plain and SSE; the model may be left out when only one is available),
parameter validation naming the field or the limit; jobs: 202 + Location, states, output equal to
the same generation made synchronously, owner-only visibility, cancel (queued and running; 409
once ended), the per-key job limit (429), a job whose node is killed is retried on the other node,
and a job running when the controller is killed -9 is run again after the restart; the concurrent
stream limit per key (429); request headers over max_header_bytes (431); a client that trickles its
headers is cut off while others are served; every log line of a request carries its request id.

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_jobs.py
"""

import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_harness import (LONG, NODE_OF_ZONE, PRIVATE, PUBLIC, deploy, error_of, kill, make_model,  # noqa: E402
                             restart_and_reload, running_cluster, sse_events, wait_deployed)

MAX_STREAMS = 2      # max_streams_per_key of this cluster
MAX_JOBS = 4         # max_jobs_per_key
MAX_HEADER = 4096    # max_header_bytes
HEADER_TIMEOUT = 2   # header_timeout_s
PROMPT = "Once upon a time"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    config = {"max_streams_per_key": MAX_STREAMS, "max_jobs_per_key": MAX_JOBS, "max_header_bytes": MAX_HEADER,
              "header_timeout_s": HEADER_TIMEOUT, "max_tokens_limit": 4000, "job_max_attempts": 3}
    with running_cluster(tmp_path_factory.mktemp("jobs"), config=config) as cl:
        yield cl


def generate(cl, key=None, **fields):
    body = {"prompt": PROMPT, "max_tokens": 8, "temperature": 0, "seed": 1, **fields}
    return cl.ctl.request("POST", "/v1/generate", key=key or cl.dev_key, json=body, timeout=60)


def submit(cl, key=None, **fields):
    body = {"prompt": PROMPT, "max_tokens": 8, "temperature": 0, "seed": 1, **fields}
    return cl.ctl.request("POST", "/v1/jobs", key=key or cl.dev_key, json=body)


def job(cl, job_id, key=None):
    r = cl.ctl.request("GET", f"/v1/jobs/{job_id}", key=key or cl.dev_key)
    assert r.status_code == 200, r.text
    return r.json()


def wait_state(cl, job_id, states, timeout=60, key=None):
    return cl.wait(f"job {job_id} in {states}", lambda: (lambda j: j if j["state"] in states else None)(
        job(cl, job_id, key)), timeout)


def test_generate_native(cluster):
    cl = cluster
    r = generate(cl, model="tiny")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "generation" and body["model"] == "tiny" and body["id"].startswith("gen-"), body
    assert isinstance(body["text"], str) and body["finish_reason"] in ("length", "stop"), body
    u = body["usage"]
    assert u["completion_tokens"] >= 1 and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], u
    assert r.headers["x-sluice-zone"] in NODE_OF_ZONE and r.headers["x-request-id"], r.headers
    # the only model there is is taken when none is named; temperature 0 makes the same text
    r2 = generate(cl)
    assert r2.status_code == 200 and r2.json()["text"] == body["text"], r2.text


def test_generate_stream(cluster):
    cl = cluster
    full = generate(cl, max_tokens=12).json()
    r = cl.ctl.request("POST", "/v1/generate", key=cl.dev_key, stream=True, timeout=60,
                       json={"prompt": PROMPT, "max_tokens": 12, "temperature": 0, "seed": 1, "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.text
    events = list(sse_events(r))
    assert events[-1] == "[DONE]", events
    chunks = events[:-1]
    assert all(c["object"] == "generation.chunk" and c["model"] == "tiny" for c in chunks), chunks
    last = chunks[-1]
    assert last["finish_reason"] == full["finish_reason"] and last["usage"] == full["usage"], (last, full)
    assert "".join(c["text"] for c in chunks) == full["text"]


@pytest.mark.parametrize("fields, status, needle", [
    ({"temperature": 2.5}, 400, "temperature"),
    ({"temperature": "hot"}, 400, "temperature"),
    ({"max_tokens": 5000}, 400, "limit of 4000"),
    ({"max_tokens": 0}, 400, "max_tokens"),
    ({"prompt": 7}, 400, "prompt"),
    ({"stream": "yes"}, 400, "stream"),
    ({"model": "no-such-model"}, 404, "no-such-model"),
])
def test_generate_refusals_name_the_problem(cluster, fields, status, needle):
    r = generate(cluster, **fields)
    assert r.status_code == status, r.text
    assert needle in error_of(r)["message"], r.text


def test_context_length_is_refused_with_400(cluster):
    # the tiny model's context is 4096 tokens: a prompt and max_tokens past it
    r = generate(cluster, prompt="hello " * 3000, max_tokens=3000)
    assert r.status_code == 400, r.text
    e = error_of(r)
    assert e["code"] == "context_length_exceeded" and "4096" in e["message"], e


def test_job_runs_and_equals_the_synchronous_answer(cluster):
    cl = cluster
    want = generate(cl, max_tokens=10).json()
    r = submit(cl, max_tokens=10)
    assert r.status_code == 202, r.text
    j = r.json()
    assert j["object"] == "job" and j["id"].startswith("job-") and j["state"] in ("queued", "running"), j
    assert r.headers["location"] == f"/v1/jobs/{j['id']}", r.headers
    assert j["output"] if "output" in j else True
    done = wait_state(cl, j["id"], ("done", "failed"))
    assert done["state"] == "done", done
    assert done["output"]["text"] == want["text"] and done["output"]["usage"] == want["usage"], (done, want)
    assert done["attempts"] == 1 and done["zone"] in NODE_OF_ZONE and done["finished_at"] and done["expires_at"], done
    listed = cl.dev("GET", "/v1/jobs").json()
    assert listed["object"] == "list" and j["id"] in [x["id"] for x in listed["data"]], listed
    assert all("text" not in x.get("output", {}) for x in listed["data"]), "a listing carries outputs"


def test_jobs_are_visible_to_their_owner_and_admins_only(cluster):
    cl = cluster
    other = cl.ctl.create_key("jobs-other-dev", "developer")
    j = submit(cl).json()
    r = cl.ctl.request("GET", f"/v1/jobs/{j['id']}", key=other)
    assert r.status_code == 404 and error_of(r)["code"] == "job_not_found", r.text
    assert cl.ctl.request("DELETE", f"/v1/jobs/{j['id']}", key=other).status_code == 404
    assert j["id"] not in [x["id"] for x in cl.ctl.request("GET", "/v1/jobs", key=other).json()["data"]]
    assert cl.admin("GET", f"/v1/jobs/{j['id']}").status_code == 200
    assert j["id"] in [x["id"] for x in cl.admin("GET", "/v1/jobs").json()["data"]]
    wait_state(cl, j["id"], ("done",))
    assert cl.ctl.request("GET", "/v1/jobs/job-000000000000000000000000", key=cl.dev_key).status_code == 404


def test_job_refusals(cluster):
    cl = cluster
    r = submit(cl, stream=True)
    assert r.status_code == 400 and "stream" in error_of(r)["message"], r.text
    r = submit(cl, temperature=9)
    assert r.status_code == 400 and "temperature" in error_of(r)["message"], r.text
    r = submit(cl, model="nope")
    assert r.status_code == 404, r.text


def test_cancel_running_job_and_409_once_ended(cluster):
    cl = cluster
    j = submit(cl, max_tokens=LONG).json()
    running = wait_state(cl, j["id"], ("running",))
    node = NODE_OF_ZONE[running["zone"]]
    r = cl.dev("DELETE", f"/v1/jobs/{j['id']}")
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    # on the wire: cancel out, and the agent's done with finish_reason cancelled
    cl.wait("the agent stopping the job", lambda: [f for d, n, f in cl.frames() if n == node and d == "in" and
                                                   f["type"] == "done" and f["id"].startswith(j["id"] + ".") and
                                                   f["finish_reason"] == "cancelled"])
    r = cl.dev("DELETE", f"/v1/jobs/{j['id']}")
    assert r.status_code == 409 and error_of(r)["code"] == "job_finished", r.text
    time.sleep(0.5)
    assert job(cl, j["id"])["state"] == "cancelled"  # a late frame does not revive it


def test_per_key_job_limit_is_429(cluster):
    cl = cluster
    key = cl.ctl.create_key("jobs-limit-dev", "developer")
    ids = []
    for _ in range(MAX_JOBS):
        r = submit(cl, key=key, max_tokens=LONG)
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    r = submit(cl, key=key)
    assert r.status_code == 429 and error_of(r)["code"] == "too_many_jobs", r.text
    assert str(MAX_JOBS) in error_of(r)["message"], r.text
    for i in ids:
        assert cl.ctl.request("DELETE", f"/v1/jobs/{i}", key=key).status_code == 200
    assert submit(cl, key=key).status_code == 202  # room again once they ended


def test_stream_limit_per_key_is_429(cluster):
    cl = cluster
    key = cl.ctl.create_key("streams-dev", "developer")
    body = {"prompt": PROMPT, "max_tokens": LONG, "temperature": 0, "stream": True}
    open_streams = []
    try:
        for _ in range(MAX_STREAMS):
            s = cl.ctl.request("POST", "/v1/generate", key=key, json=body, stream=True, timeout=(10, 30))
            assert s.status_code == 200, s.text
            open_streams.append(s)
        r = cl.ctl.request("POST", "/v1/generate", key=key, json={**body, "stream": False, "max_tokens": 4})
        assert r.status_code == 429 and error_of(r)["code"] == "too_many_streams", r.text
        assert "max_streams_per_key" in error_of(r)["message"], r.text
        # another key is not affected
        assert generate(cl).status_code == 200
    finally:
        for s in open_streams:
            s.close()
    cl.wait("the key's streams released", lambda: cl.ctl.request(
        "POST", "/v1/generate", key=key, json={**body, "stream": False, "max_tokens": 4}).status_code == 200)


def test_job_whose_node_is_killed_is_retried_elsewhere(cluster):
    cl = cluster
    j = submit(cl, max_tokens=LONG).json()
    running = wait_state(cl, j["id"], ("running",))
    victim = NODE_OF_ZONE[running["zone"]]
    kill(cl.agents[victim])
    try:
        done = wait_state(cl, j["id"], ("done", "failed"), timeout=120)
        assert done["state"] == "done" and done["attempts"] == 2, done
        assert NODE_OF_ZONE[done["zone"]] != victim, done
        assert done["output"]["usage"]["completion_tokens"] >= 1, done
    finally:
        restart_and_reload(cl, victim)


def test_job_survives_a_controller_kill(cluster):
    cl = cluster
    j = submit(cl, max_tokens=LONG).json()
    wait_state(cl, j["id"], ("running",))
    cl.restart_controller(signal.SIGKILL)
    done = wait_state(cl, j["id"], ("done", "failed"), timeout=120)
    assert done["state"] == "done" and done["attempts"] == 2, done
    assert "1 queued again" in cl.ctl.log(), cl.ctl.log_tail()


def test_headers_over_the_limit_get_431(cluster):
    r = cluster.ctl.request("GET", "/healthz", headers={"Cookie": "c=" + "x" * (MAX_HEADER + 100)})
    assert r.status_code == 431, r.text
    e = error_of(r)
    assert e["code"] == "headers_too_large" and str(MAX_HEADER) in e["message"], e
    assert cluster.ctl.request("GET", "/healthz", headers={"Cookie": "c=" + "x" * 100}).status_code == 200


def test_slow_headers_are_cut_off_without_starving_others(cluster):
    cl = cluster
    ctx = ssl.create_default_context(cafile=str(cl.ctl.ca_file))
    result = {}

    def trickle():
        with socket.create_connection(("127.0.0.1", cl.ctl.api_port)) as s, \
                ctx.wrap_socket(s, server_hostname="localhost") as t:
            t0 = time.monotonic()
            try:
                for ch in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                    t.send(bytes([ch]))
                    time.sleep(0.2)
                result["outcome"] = "never cut off"
            except (OSError, ssl.SSLError) as e:
                result["outcome"] = f"cut off: {e!r}"
            result["seconds"] = time.monotonic() - t0

    th = threading.Thread(target=trickle)
    th.start()
    served = 0
    while th.is_alive():
        assert cl.ctl.request("GET", "/healthz", timeout=5).status_code == 200
        served += 1
        time.sleep(0.2)
    th.join()
    assert result["outcome"].startswith("cut off"), result
    assert HEADER_TIMEOUT - 0.5 <= result["seconds"] <= HEADER_TIMEOUT + 3, result
    assert served >= 3, served


def test_every_log_line_of_a_request_carries_its_id(cluster):
    cl = cluster
    rid = "trace-me-0123"
    r = cl.ctl.request("POST", "/v1/generate", key=cl.dev_key, headers={"X-Request-Id": rid},
                       json={"prompt": PROMPT, "max_tokens": 4})
    assert r.status_code == 200 and r.headers["x-request-id"] == rid, r.text
    def mine():
        return [json.loads(x) for x in cl.ctl.log().splitlines() if x.startswith("{") and rid in x]
    # the routing line and the request line at least (the latter is written once the answer is sent)
    lines = cl.wait("the request's log lines", lambda: (lambda m: m if len(m) >= 2 else None)(mine()))
    assert all(x.get("request_id", "").startswith(rid) for x in lines), lines
    messages = " | ".join(x["message"] for x in lines)
    assert "routed" in messages and "/v1/generate" in messages, messages


def test_undeploy(cluster):
    cl = cluster
    path, sha = make_model(cl.tmp / "second.gguf", 11)
    d = deploy(cl, "second", path, sha, replicas=2)
    wait_deployed(cl, "second", [PRIVATE, PUBLIC])
    r = generate(cl)  # two models now: the native form must name one
    assert r.status_code == 400 and "2 models" in error_of(r)["message"], r.text
    assert generate(cl, model="second").status_code == 200
    r = cl.admin("DELETE", f"/api/v1/deployments/{d['id']}")
    assert r.status_code == 200 and r.json()["state"] == "stopped" and r.json()["nodes"] == [], r.text
    for name in (PRIVATE, PUBLIC):
        cl.wait(f"{name} unloading second", lambda: [f for dr, n, f in cl.frames() if n == name and dr == "out" and
                                                     f["type"] == "model.unload" and f["name"] == "second"])
    assert "second" not in [m["id"] for m in cl.dev("GET", "/v1/models").json()["data"]]
    r = generate(cl, model="second")
    assert r.status_code == 404 and error_of(r)["code"] == "model_not_found", r.text
    assert generate(cl).status_code == 200  # one model again
    r = cl.admin("DELETE", f"/api/v1/deployments/{d['id']}")
    assert r.status_code == 409 and error_of(r)["code"] == "already_stopped", r.text
    assert cl.admin("DELETE", "/api/v1/deployments/00000000-0000-4000-8000-000000000000").status_code == 404
    audit = cl.admin("GET", "/api/v1/audit").json()["data"]
    assert any(e["action"] == "deployment.state" and e.get("target") == d["id"] for e in audit), audit[-3:]
