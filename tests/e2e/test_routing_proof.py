"""test_routing_proof.py: the routing guarantee (issue 6, docs/ROUTING.md) proven end to end with
real agents: a prompt that carries sensitive data, or is sent with X-Sluice-Data-Class: sensitive,
is only ever served by a private-zone node, while agents are killed and restarted under load.

- test_no_public_agent_serves_a_sensitive_request: 2 private and 2 public agents serving a tiny
  model; SLUICE_PROOF_REQUESTS requests (chat and completions, CONCURRENCY at once over keep-alive
  connections, each with a known X-Request-Id), about 30 % of them sensitive: built-in entity types
  injected into the user, system or assistant text, some obfuscated (full-width forms, zero-width
  characters, separators), some carrying only the header. Agents are SIGKILLed and restarted, private
  and public in turn, and the rule set is replaced once, during the run. Then the AGENTS' own logs
  (one "served <id>" line per generation, agent/runner.c) are read: no public agent served a
  sensitive request id, every sensitive one was served as data class sensitive, and every 200
  answer's X-Sluice-Zone names the zone of an agent that logged serving it.
- test_sensitive_gets_503_when_no_private_node: both private agents stopped: every sensitive request
  is answered 503 no_private_capacity, every ordinary one 200 from a public agent.
- test_public_agent_refuses_on_its_own: a real public agent driven by fake_controller.py (a
  controller that breaks the rules): an infer frame with sensitive text, or marked sensitive, is
  refused with sensitive_refused and never produces a token; a frame made under newer rules than it
  holds is refused with stale_rules; a rule set that does not compile is refused (bad_rules), not
  acknowledged, and the previous one stays in force.

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/e2e/test_routing_proof.py
(-s prints the summary: requests, sensitive, served, failed, answers by status and code, kills.)
The default, SLUICE_PROOF_REQUESTS=10000 (the issue's count), runs in CI as its own meson test
(routing-proof, suite integration): about 265 s under ASan+UBSan on 2 shared cores (~38
requests/s). SLUICE_PROOF_REQUESTS=2000 makes a quick local run (50-80 s).
"""

import base64
import collections
import json
import os
import random
import string
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_harness import Agent, validate_frame  # noqa: E402
from cluster_harness import error_of, kill, make_model, restart_and_reload, running_cluster  # noqa: E402
from fake_controller import FakeController  # noqa: E402

REQUESTS = int(os.environ.get("SLUICE_PROOF_REQUESTS", "10000"))
CONCURRENCY = 12      # requests in flight: more than the private nodes take before ordinary ones spill
MAX_TOKENS = 1
SENSITIVE_SHARE = 0.30
HEADER_ONLY_SHARE = 0.05  # of all requests: ordinary text, X-Sluice-Data-Class: sensitive
KILLS = 6             # agents SIGKILLed (and restarted) during the run, private and public in turn
DOWN_S = 1.5          # how long a killed agent stays down, requests flowing
PRIV = ("gpu-private-1", "gpu-private-2")
PUB = ("gpu-public-1", "gpu-public-2")
NODES = ((PRIV[0], "private"), (PUB[0], "public"), (PRIV[1], "private"), (PUB[1], "public"))
ZONE_OF = dict(NODES)


# --- sensitive values, each valid for its detector (checksums included) ---

def _digits(rng, n):
    return "".join(rng.choice(string.digits) for _ in range(n))


def cn_resident_id(rng):
    body = rng.choice(["110105", "310104", "440305", "510107"]) + \
        f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" + _digits(rng, 3)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w)) % 11]


def cn_mobile(rng):
    n = "1" + rng.choice("3456789") + _digits(rng, 9)
    return rng.choice([n, f"+86 {n[:3]} {n[3:7]} {n[7:]}", f"0086-{n[:3]}-{n[3:7]}-{n[7:]}",
                       f"{n[:3]}-{n[3:7]}-{n[7:]}"])


def luhn(body):
    """body with its Luhn check digit appended."""
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def bank_card(rng):
    n = luhn("62" + _digits(rng, 13))
    return rng.choice([n, " ".join(n[i:i + 4] for i in range(0, 16, 4)), "-".join(n[i:i + 4] for i in range(0, 16, 4))])


def email(rng):
    return f"{rng.choice(['jane.doe', 'li.lei', 'ops', 'k.tanaka'])}{rng.randint(1, 999)}@" \
           f"{rng.choice(['example.com', 'corp.example.org', 'mail.example.cn'])}"


def iban(rng):
    bban = rng.choice(["WEST", "BARC", "NWBK"]) + _digits(rng, 14)
    num = "".join(str(int(c, 36)) for c in bban + "GB00")
    n = f"GB{98 - int(num) % 97:02d}{bban}"
    return rng.choice([n, " ".join(n[i:i + 4] for i in range(0, len(n), 4))])


def us_ssn(rng):
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def pem_private_key(rng):
    body = base64.b64encode(rng.randbytes(96)).decode()
    kind = rng.choice(["", "RSA ", "EC "])
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body[:64]}\n{body[64:]}\n-----END {kind}PRIVATE KEY-----"


def cloud_access_key(rng):
    return "AKIA" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))


def jwt(rng):
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    sig = base64.urlsafe_b64encode(rng.randbytes(32)).decode().rstrip("=")
    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'sub': str(rng.randint(1, 10**6)), 'iat': 1700000000})}.{sig}"


def password_assignment(rng):
    secret = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(12)) + "!"
    return rng.choice([f"password={secret}", f"db_password: {secret}", f"密码：{secret}"])


GENERATORS = {f.__name__: f for f in (cn_resident_id, cn_mobile, bank_card, email, iban, us_ssn, pem_private_key,
                                      cloud_access_key, jwt, password_assignment)}
DIGIT_TYPES = {"cn_resident_id", "cn_mobile", "bank_card", "us_ssn", "iban"}


def fullwidth(s):
    """ASCII letters and digits as their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in s)


def zero_width(rng, s):
    """Invisible characters between some of s's characters."""
    return "".join(c + (rng.choice(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]) if rng.random() < 0.4 else "")
                   for c in s)


def obfuscate(rng, kind, value):
    """(value, how): as is, or for digit-bearing types full-width and/or zero-width."""
    if kind not in DIGIT_TYPES and kind != "email" or rng.random() < 0.6:
        return value, "plain"
    how = rng.choice(["fullwidth", "zerowidth", "both"])
    if how in ("fullwidth", "both"):
        value = fullwidth(value)
    if how in ("zerowidth", "both"):
        value = zero_width(rng, value)
    return value, how


ORDINARY = [
    "Say hello.",
    "Summarise the plot of a detective novel in one sentence.",
    "Translate 'good morning' into French.",
    "What is {a} plus {b}?",
    "请用一句话介绍一下杭州。",
    "Write a haiku about the sea.",
    "Order {order} shipped on 2024-05-0{d} at 10:{a:02d}; when will it arrive?",
    "The build {uuid} failed at step {a}; what should I check first?",
    "List three uses of a paperclip.",
]


def ordinary_text(rng):
    return rng.choice(ORDINARY).format(a=rng.randint(0, 59), b=rng.randint(0, 99), d=rng.randint(1, 9),
                                       order="SO-" + _digits(rng, 8), uuid="%08x-1f2e-4abc-9def-0123456789ab" %
                                       rng.getrandbits(32))


class Req:
    """One request of the run: what is sent, what it is, and what came back."""

    def __init__(self, rid, path, body, headers, sensitive, kind, how):
        self.rid, self.path, self.body, self.headers = rid, path, body, headers
        self.sensitive, self.kind, self.how = sensitive, kind, how
        self.status = self.zone = self.code = None


def make_request(rng, i, tag, sensitive=None):
    """Request i: ordinary, sensitive text of a random type (in one of the texts the model sees), or
    ordinary text with the header only. sensitive=None draws which, with the shares above."""
    rid = f"{tag}-{i}"
    roll = rng.random()
    if sensitive is None:
        sensitive = roll < SENSITIVE_SHARE
    header_only = sensitive and roll < HEADER_ONLY_SHARE
    headers = {"X-Request-Id": rid}
    kind, how, text = "ordinary", "", ordinary_text(rng)
    if header_only:
        kind, how = "header", "header"
        headers["X-Sluice-Data-Class"] = rng.choice(["sensitive", "Sensitive", "SENSITIVE"])
    elif sensitive:
        kind = rng.choice(sorted(GENERATORS))
        value, how = obfuscate(rng, kind, GENERATORS[kind](rng))
        text = rng.choice(["Please check this: {v}", "{v}", "客户信息：{v}，请核对。",
                           "Note for later -- {v} -- thanks"]).format(v=value)
    where = rng.choice(["user", "user", "system", "assistant", "prompt"]) if kind != "ordinary" else \
        rng.choice(["user", "prompt"])
    base = {"model": "tiny", "max_tokens": MAX_TOKENS, "temperature": 0, "seed": i}
    if where == "prompt":
        return Req(rid, "/v1/completions", {**base, "prompt": text}, headers, sensitive, kind, how)
    msgs = {"user": [{"role": "user", "content": text}],
            "system": [{"role": "system", "content": text}, {"role": "user", "content": "Go on."}],
            "assistant": [{"role": "user", "content": "What did I give you?"}, {"role": "assistant", "content": text},
                          {"role": "user", "content": "Thanks."}]}[where]
    return Req(rid, "/v1/chat/completions", {**base, "messages": msgs}, headers, sensitive, kind, how)


class Client:
    """Sends requests over one keep-alive connection per thread."""

    def __init__(self, cl):
        self.cl = cl
        self.local = threading.local()

    def send(self, q):
        s = getattr(self.local, "session", None)
        if s is None:
            s = self.local.session = requests.Session()
            s.headers["Authorization"] = f"Bearer {self.cl.dev_key}"
        try:
            # verify per request: a session's own verify loses to $REQUESTS_CA_BUNDLE
            r = s.post(self.cl.ctl.url + q.path, json=q.body, headers=q.headers, verify=str(self.cl.ctl.ca_file),
                       timeout=120)
        except requests.RequestException as e:
            q.status, q.code = 0, f"transport: {type(e).__name__}: {str(e)[:200]}"
            return q
        q.status, q.zone = r.status_code, r.headers.get("x-sluice-zone")
        if r.status_code != 200:
            try:
                q.code = error_of(r)["code"]
            except (ValueError, AssertionError):
                q.code = f"unparsed: {r.text[:80]}"
        return q


def served_lines(agent):
    """The agent's "served" log lines: [(client request id, line)] (the controller's id is the
    client's X-Request-Id plus ".N")."""
    out = []
    for line in agent.lines():
        if line.get("message", "").startswith("served "):
            out.append((line["request_id"].rsplit(".", 1)[0], line))
    return out


def refused_lines(agent):
    return [(line["request_id"].rsplit(".", 1)[0], line) for line in agent.lines()
            if line.get("message", "").startswith("refused request ")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("proof"), nodes=NODES) as cl:
        yield cl


def put_rules(cl, doc):
    r = cl.admin("PUT", "/api/v1/rules", json=doc)
    assert r.status_code == 200, r.text
    return r.json()["version"]


def wait_rules_acked(cl, version):
    """Every connected agent has logged holding version (it acks right after)."""
    for a in cl.agents.values():
        if a.proc and a.proc.poll() is None:
            a.wait_for(f"holding rule set version {version}", timeout=30)


class Chaos:
    """Kills agents (private and public in turn) at set points of the run, and restarts each
    before the next kill: requests are handed out only once the kill due at their point is done."""

    def __init__(self, cl, total, on_midway):
        self.cl = cl
        self.points = [total * (k + 1) // (KILLS + 2) for k in range(KILLS)]
        self.order = [PRIV[0], PUB[0], PRIV[1], PUB[1]] * KILLS
        self.killed = [threading.Event() for _ in self.points]
        self.reached = [threading.Event() for _ in self.points]
        self.on_midway = on_midway
        self.log = []
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def gate(self, i):
        """Called before request i is sent."""
        for k, p in enumerate(self.points):
            if i == p:
                self.reached[k].set()
                if not self.killed[k].wait(120):
                    raise RuntimeError(f"kill {k} did not happen")

    def run(self):
        try:
            for k in range(len(self.points)):
                self.reached[k].wait()
                name = self.order[k]
                t0 = time.monotonic()
                kill(self.cl.agents[name])
                self.killed[k].set()
                if k == len(self.points) // 2:
                    self.on_midway()
                time.sleep(DOWN_S)
                restart_and_reload(self.cl, name)
                self.log.append((name, round(time.monotonic() - t0, 1)))
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e
            for ev in self.killed:
                ev.set()


def test_no_public_agent_serves_a_sensitive_request(cluster):
    cl = cluster
    rng = random.Random(6)
    r = cl.admin("GET", "/api/v1/rules")
    assert r.status_code == 200, r.text
    doc = r.json()["rules"]
    # spill early, so that the public agents serve a good share of the ordinary requests
    v1 = put_rules(cl, {**doc, "spill_queue_depth": 1})
    wait_rules_acked(cl, v1)
    reqs = [make_request(rng, i, "proof") for i in range(REQUESTS)]
    versions = [v1]

    def midway():  # a new rule set version while requests are in flight
        versions.append(put_rules(cl, {**doc, "spill_queue_depth": 2, "description": "proof: midway"}))

    chaos = Chaos(cl, REQUESTS, midway)
    client = Client(cl)
    t0 = time.monotonic()
    chaos.thread.start()
    order = iter(range(REQUESTS))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(order, None)
            if i is None:
                return
            chaos.gate(i)
            client.send(reqs[i])

    with ThreadPoolExecutor(CONCURRENCY) as ex:
        for f in [ex.submit(worker) for _ in range(CONCURRENCY)]:
            f.result()
    elapsed = time.monotonic() - t0
    chaos.thread.join(180)
    assert chaos.error is None, f"{chaos.error!r}\n{cl.logs()}"
    assert not chaos.thread.is_alive(), "the last restart did not finish"
    assert len(chaos.log) == KILLS, chaos.log

    by_id = {q.rid: q for q in reqs}
    sensitive = {q.rid for q in reqs if q.sensitive}
    served = collections.defaultdict(list)  # client request id -> [(node, line)]
    for name, a in cl.agents.items():
        for rid, line in served_lines(a):
            assert line["zone"] == ZONE_OF[name], (name, line)
            served[rid].append((name, line))

    # the guarantee, from the agents' own logs
    leaks = [(rid, name) for rid, lines in served.items() for name, _ in lines
             if ZONE_OF[name] == "public" and rid in sensitive]
    assert not leaks, f"public agents served sensitive requests: {leaks[:20]}"
    # each sensitive request that ran was classified sensitive (not private by luck)
    missed = [(rid, by_id[rid].kind, by_id[rid].how, line["data_class"]) for rid, lines in served.items()
              for _, line in lines if rid in sensitive and line["data_class"] != "sensitive"]
    assert not missed, f"sensitive requests served under a lower class: {missed[:20]}"
    # nothing a public agent refused as sensitive: the controller never sent it one
    refused = [(name, rid, line["code"]) for name in PUB for rid, line in refused_lines(cl.agents[name])
               if line["code"] == "sensitive_refused"]
    assert not refused, f"the controller sent public agents requests they refused: {refused[:20]}"

    # the controller's answers agree with the agents' logs
    statuses = collections.Counter()
    for q in reqs:
        statuses[(q.status, q.code)] += 1
        if q.status == 200:
            assert q.zone in ("private", "public"), (q.rid, q.zone)
            assert not (q.sensitive and q.zone != "private"), (q.rid, q.kind, q.zone)
            zones = {ZONE_OF[name] for name, _ in served.get(q.rid, [])}
            assert q.zone in zones, f"{q.rid} answered from zone {q.zone}, served by {served.get(q.rid)}"
        elif q.status == 503 and q.code == "no_private_capacity":
            assert q.sensitive, (q.rid, q.code)
    for rid in served:
        assert rid in by_id, f"an agent served {rid}, which this test never sent"
    ok = [q for q in reqs if q.status == 200]
    failed = [q for q in reqs if q.status != 200]
    public_ordinary = sum(q.zone == "public" for q in ok if not q.sensitive)
    resent = cl.ctl.log().count('"attempt":2')  # requests a kill caught in flight, sent to another node
    by_kind = collections.Counter((q.kind, q.how) for q in reqs if q.sensitive)
    print(f"\nrouting proof: {REQUESTS} requests ({len(sensitive)} sensitive) in {elapsed:.1f} s "
          f"({REQUESTS / elapsed:.1f}/s, {CONCURRENCY} at once); served {len(ok)}, failed {len(failed)}; "
          f"ordinary served by public agents: {public_ordinary}; re-sent after a kill: {resent}; "
          f"kills (and seconds until back): {chaos.log}; "
          f"rule set versions {versions}\nanswers: {dict(statuses)}\nsensitive kinds: {dict(by_kind)}")
    # a request fails only when its agent is killed under it (at most its in-flight generations)
    assert len(failed) <= KILLS * 2 * CONCURRENCY, dict(statuses)
    assert public_ordinary > 0, "the public agents served nothing: the proof proves little"
    assert sum(q.sensitive for q in ok) > 0.2 * REQUESTS


def test_sensitive_gets_503_when_no_private_node(cluster):
    cl = cluster
    rng = random.Random(7)
    for name in PRIV:
        assert cl.agents[name].stop() == 0, cl.agents[name].tail()
    for name in PRIV:
        cl.wait_node(name, lambda n: not n["connected"], "disconnected")
    reqs = [make_request(rng, i, "noprivate", sensitive=i % 2 == 0) for i in range(200)]
    client = Client(cl)
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(client.send, reqs))
    for q in reqs:
        if q.sensitive:
            assert (q.status, q.code) == (503, "no_private_capacity"), (q.rid, q.kind, q.how, q.status, q.code)
        else:
            assert (q.status, q.zone) == (200, "public"), (q.rid, q.status, q.code, q.zone)
    sensitive = {q.rid for q in reqs if q.sensitive}
    for name in PUB:
        assert not [rid for rid, _ in served_lines(cl.agents[name]) if rid in sensitive]
    print(f"\nno private node: {len(sensitive)} sensitive requests 503 no_private_capacity, "
          f"{len(reqs) - len(sensitive)} ordinary served by public agents")


# --- a public agent's own check, against a controller that breaks the rules ---

RULES = {"description": "every built-in entity type is sensitive",
         "rules": [{"id": "pii", "class": "sensitive",
                    "when": {"entities": sorted(GENERATORS), "min_count": 1}}]}


def infer(rid, text, data_class="public", rules_version=7):
    return {"type": "infer", "id": rid, "model": "tiny", "messages": [{"role": "user", "content": text}],
            "params": {"max_tokens": 2, "temperature": 0}, "data_class": data_class, "rules_version": rules_version}


def frames_of(fake, rid, until_done_of, timeout=60):
    """Frames for rid, collected until the done (or error) frame of request until_done_of."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        _, f = fake.next_frame(timeout=max(0.1, deadline - time.monotonic()))
        if f.get("id") == rid:
            got.append(f)
        if f.get("id") == until_done_of and f.get("type") in ("done", "error"):
            return got


def test_public_agent_refuses_on_its_own(tmp_path):
    d = tmp_path / "fake"
    d.mkdir()
    fake = FakeController(str(d)).start()
    fake.rules = RULES
    name = "gpu-public-9"
    agent = Agent(tmp_path / "agent", fake.agent_config(str(tmp_path / "data"), name,
                                                        fake.enrollment.token(name, zone="public"), threads=1))
    path, sha = make_model(tmp_path / "tiny.gguf", 3)
    secret, card = "jane.roe77@example.com", luhn("622202123456789")
    agent.start()
    try:
        assert fake.next_frame("rules.ack", timeout=30)[1] == {"type": "rules.ack", "version": 7}
        conn = fake.connections[-1]
        conn.send_json({"type": "model.load", "id": "load-1",
                        "model": {"name": "tiny", "url": path.resolve().as_uri(), "sha256": sha}})
        while True:
            _, st = fake.next_frame("model.status", timeout=60)
            if st["state"] in ("ready", "failed"):
                break
        assert st["state"] == "ready", st

        # an ordinary request is served: the control that shows the agent would make tokens
        conn.send_json(infer("ok-1", "Say hello."))
        got = frames_of(fake, "ok-1", "ok-1")
        assert [f["type"] for f in got][-1] == "done" and any(f["type"] == "token" for f in got), got

        # sensitive text (obfuscated too), or a frame the controller marked sensitive: refused, no tokens
        cases = [("s-1", infer("s-1", f"mail {secret} now")),
                 ("s-2", infer("s-2", "客户手机 " + fullwidth("13912345678"))),
                 ("s-3", infer("s-3", "card " + zero_width(random.Random(1), " ".join(card[i:i + 4]
                                                                                    for i in range(0, 16, 4))))),
                 ("s-4", infer("s-4", "Say hello.", data_class="sensitive"))]
        for rid, frame in cases:
            conn.send_json(frame)
            conn.send_json(infer("after-" + rid, "Say hello."))  # the runner works in order
            got = frames_of(fake, rid, "after-" + rid)
            assert len(got) == 1 and got[0]["type"] == "error", got
            validate_frame(got[0])
            assert got[0]["code"] == "sensitive_refused", got
            assert secret not in got[0]["message"] and "13912345678" not in got[0]["message"], got
        # a frame made under newer rules than the agent holds
        conn.send_json(infer("stale-1", "Say hello.", rules_version=8))
        got = frames_of(fake, "stale-1", "stale-1")
        assert [(f["type"], f.get("code")) for f in got] == [("error", "stale_rules")], got
        assert "version 7" in got[0]["message"] and "version 8" in got[0]["message"], got

        # a rule set that does not compile: refused, not acknowledged, the old one stays
        conn.send_json({"type": "rules", "version": 8, "rules": {"rules": [{"id": "x", "class": "secret"}]}})
        _, err = fake.next_frame("error", timeout=10)
        assert err["code"] == "bad_rules" and "version 8" in err["message"] and "rules[0].class" in err["message"], err
        conn.send_json(infer("stale-2", "Say hello.", rules_version=8))
        got = frames_of(fake, "stale-2", "stale-2")
        assert [(f["type"], f.get("code")) for f in got] == [("error", "stale_rules")], got
        conn.send_json(infer("s-5", f"mail {secret}"))
        got = frames_of(fake, "s-5", "s-5")
        assert [(f["type"], f.get("code")) for f in got] == [("error", "sensitive_refused")], got
        # a good version 8 is acknowledged and used
        conn.send_json({"type": "rules", "version": 8, "rules": {**RULES, "description": "v8"}})
        assert fake.next_frame("rules.ack", timeout=10)[1] == {"type": "rules.ack", "version": 8}
        conn.send_json(infer("ok-2", "Say hello.", rules_version=8))
        got = frames_of(fake, "ok-2", "ok-2")
        assert got[-1]["type"] == "done", got

        # the agent's log: each refusal with its request id and entity types, never the text
        agent.wait_for("served ok-2")
        refusals = {rid: line for rid, line in ((ln["request_id"], ln) for ln in agent.lines()
                                                if ln.get("message", "").startswith("refused request "))}
        assert set(refusals) == {"s-1", "s-2", "s-3", "s-4", "stale-1", "stale-2", "s-5"}, refusals
        assert refusals["s-1"]["entities"] == "email:1" and refusals["s-1"]["code"] == "sensitive_refused"
        assert refusals["s-2"]["entities"] == "cn_mobile:1" and refusals["s-3"]["entities"] == "bank_card:1"
        assert refusals["s-4"]["data_class"] == "sensitive" and refusals["stale-2"]["code"] == "stale_rules"
        assert refusals["s-5"]["refused_total"] == 7
        log = agent.log()
        assert secret not in log and "13912345678" not in log and card[-6:] not in log
        served = {ln["request_id"]: ln for ln in agent.lines() if ln.get("message", "").startswith("served ")}
        assert set(served) == {"ok-1", "ok-2"} | {"after-" + rid for rid, _ in cases}, sorted(served)
        line = served["ok-2"]
        assert (line["data_class"], line["zone"], line["model"], line["rules_version"]) == ("public", "public",
                                                                                            "tiny", 8), line
    finally:
        status = agent.stop()
        fake.stop()
    assert status == 0, agent.tail()
    agent.assert_no_bugs()
