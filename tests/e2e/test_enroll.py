"""test_enroll.py: sluice-agent against the real sluice-controller: enrollment with a join token,
the mutual-TLS websocket (hello, welcome, heartbeats), and every refusal an operator can meet:
a replayed, expired, unknown or misnamed token, the wrong CA, no controller, no client
certificate, a revoked certificate. Also: an enrolled agent restarts without its (spent) token,
and reconnects after the controller restarts.

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q tests/e2e/test_enroll.py
"""

import datetime
import os
import socket
import ssl
import stat
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from agent_harness import Agent, validate_frame  # noqa: E402
from harness import Controller, controller, free_port, write_private  # noqa: E402,F401


def make_token(ctl, name, zone="private", ttl="1h"):
    r = ctl.request("POST", "/api/v1/join-tokens", json={"name": name, "zone": zone, "ttl": ttl})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def agent_config(ctl, workdir, name, token=None, **extra):
    """An agent config for ctl: data in workdir/data, the token (if any) in workdir/token (0600)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = {
        "controller_url": ctl.url,
        "agent_url": f"wss://127.0.0.1:{ctl.agent_port}/",
        "ca_file": str(ctl.ca_file),
        "node_name": name,
        "data_dir": str(workdir / "data"),
    }
    if token is not None:
        cfg["join_token_file"] = str(write_private(workdir / "token", token + "\n"))
    cfg.update(extra)
    return cfg


def node(ctl, name):
    r = ctl.request("GET", "/api/v1/nodes")
    assert r.status_code == 200, r.text
    return next((n for n in r.json()["data"] if n["name"] == name), None)


def wait_node(ctl, name, predicate, timeout=20, what="the expected state"):
    deadline = time.monotonic() + timeout
    n = None
    while time.monotonic() < deadline:
        n = node(ctl, name)
        if n and predicate(n):
            return n
        time.sleep(0.1)
    raise AssertionError(f"node {name} did not reach {what} in {timeout} s: {n}\n{ctl.log_tail()}")


def refused(r, code):
    """--enroll-only failed with exit status 1, naming the controller's error code."""
    assert r.returncode == 1, f"exit {r.returncode}\n{r.stderr}"
    assert code in r.stderr, r.stderr
    assert "enrollment failed" in r.stderr, r.stderr


def test_enroll_connect_heartbeat_and_restart_without_token(controller, tmp_path):
    token = make_token(controller, "gpu-priv-1")
    agent = Agent(tmp_path, agent_config(controller, tmp_path, "gpu-priv-1", token)).start()
    try:
        agent.wait_for("welcomed by the controller")
        n = wait_node(controller, "gpu-priv-1",
                      lambda n: n["state"] == "online" and n["connected"] and n["telemetry"].get("seq", 0) >= 1,
                      what="online with heartbeats")
        assert n["zone"] == "private"
        # what the controller stored is the agent's heartbeat without its type
        validate_frame({"type": "heartbeat", **n["telemetry"]})
        assert n["telemetry"]["backend"] == "cpu" and n["telemetry"]["cpu"]["cores"] >= 1
        assert "gpu-priv-1 (private zone) said hello" in controller.log()
    finally:
        assert agent.stop() == 0, agent.tail()
    agent.assert_no_bugs()

    # the identity is two files, key private, and nothing else was written
    data = tmp_path / "data"
    assert sorted(os.listdir(data)) == ["node.crt", "node.key"]
    assert stat.S_IMODE(os.stat(data / "node.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(data / "node.crt").st_mode) == 0o644
    wait_node(controller, "gpu-priv-1", lambda n: not n["connected"], what="disconnected")

    # restarted, it is still enrolled: no token needed (this one is spent anyway)
    cfg = dict(agent.config)
    del cfg["join_token_file"]
    again = Agent(tmp_path / "again", cfg).start()
    try:
        again.wait_for("welcomed by the controller")
        assert again.count("enrolling node") == 0
        wait_node(controller, "gpu-priv-1", lambda n: n["connected"], what="connected again")
    finally:
        assert again.stop() == 0, again.tail()


def test_replayed_token_is_refused(controller, tmp_path):
    token = make_token(controller, "gpu-replay")
    first = Agent(tmp_path / "a", agent_config(controller, tmp_path / "a", "gpu-replay", token))
    r = first.run("--enroll-only")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a" / "data" / "node.crt").exists()
    second = Agent(tmp_path / "b", agent_config(controller, tmp_path / "b", "gpu-replay", token))
    refused(second.run("--enroll-only"), "token_used")
    assert not (tmp_path / "b" / "data").exists()  # nothing written on a refusal
    # the daemon does not retry a refusal: it exits 1 with the same line
    r = second.run(timeout=30)
    refused(r, "token_used")


def test_expired_token_is_refused(controller, tmp_path):
    token = make_token(controller, "gpu-late", ttl="1s")
    time.sleep(1.5)
    agent = Agent(tmp_path, agent_config(controller, tmp_path, "gpu-late", token))
    refused(agent.run("--enroll-only"), "token_expired")


def test_token_for_another_name_is_refused_and_stays_usable(controller, tmp_path):
    token = make_token(controller, "gpu-right")
    wrong = Agent(tmp_path / "wrong", agent_config(controller, tmp_path / "wrong", "gpu-wrong", token))
    refused(wrong.run("--enroll-only"), "csr_mismatch")
    assert node(controller, "gpu-wrong") is None
    right = Agent(tmp_path / "right", agent_config(controller, tmp_path / "right", "gpu-right", token))
    r = right.run("--enroll-only")
    assert r.returncode == 0, r.stderr


def test_unknown_and_malformed_tokens(controller, tmp_path):
    agent = Agent(tmp_path, agent_config(controller, tmp_path, "gpu-x", "sjt-" + "A" * 43))
    refused(agent.run("--enroll-only"), "invalid_token")
    bad = Agent(tmp_path / "bad", agent_config(controller, tmp_path / "bad", "gpu-x", "not a token"))
    r = bad.run("--enroll-only")
    assert r.returncode == 1 and "does not hold a join token" in r.stderr, r.stderr
    none = Agent(tmp_path / "none", agent_config(controller, tmp_path / "none", "gpu-x"))
    r = none.run("--enroll-only")
    assert r.returncode == 1 and "no join_token_file" in r.stderr, r.stderr


def _other_ca(path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the controller's CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_wrong_ca_fails_tls_and_spends_no_token(controller, tmp_path):
    token = make_token(controller, "gpu-ca")
    cfg = agent_config(controller, tmp_path, "gpu-ca", token, ca_file=str(_other_ca(tmp_path / "other-ca.pem")))
    r = Agent(tmp_path, cfg).run("--enroll-only")
    assert r.returncode == 1, r.stderr
    assert "TLS with the controller" in r.stderr and "ca_file" in r.stderr, r.stderr
    # the token never reached the controller: it still works with the right CA
    cfg["ca_file"] = str(controller.ca_file)
    assert Agent(tmp_path / "ok", cfg).run("--enroll-only").returncode == 0


def test_no_controller(tmp_path):
    port = free_port()
    cfg = {"controller_url": f"https://127.0.0.1:{port}", "agent_url": f"wss://127.0.0.1:{port}/",
           "ca_file": str(_other_ca(tmp_path / "ca.pem")), "node_name": "gpu-alone",
           "join_token_file": str(write_private(tmp_path / "token", "sjt-" + "B" * 43)),
           "data_dir": str(tmp_path / "data")}
    agent = Agent(tmp_path, cfg)
    r = agent.run("--enroll-only")
    assert r.returncode == 1 and "cannot connect to the controller" in r.stderr, r.stderr
    # the daemon keeps trying (the controller may come up later), and stops cleanly on SIGTERM
    agent.start()
    agent.wait_for("retrying in", count=2)
    assert agent.stop() == 0


def _upgrade(ctl, cert=None):
    """Tries the websocket upgrade on the agents' endpoint (TLS 1.3, optionally with a client
    certificate); returns the answer's first bytes, or the TLS/connection error."""
    ctx = ssl.create_default_context(cafile=str(ctl.ca_file))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if cert:
        ctx.load_cert_chain(*cert)
    upgrade = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               b"Sec-WebSocket-Protocol: sluice-agent.v1\r\n\r\n")
    answer = b""
    with socket.create_connection(("127.0.0.1", ctl.agent_port), timeout=10) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(upgrade)  # TLS 1.3: the server checks our certificate after our Finished
                while b"\r\n\r\n" not in answer:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
        except (ssl.SSLError, ConnectionError) as e:
            return e
    return answer


def test_wss_requires_a_client_certificate(controller, tmp_path):
    refused_answer = _upgrade(controller)
    assert not (isinstance(refused_answer, bytes) and refused_answer.startswith(b"HTTP/1.1 101")), refused_answer
    # the control: the same request with an enrolled node's certificate is upgraded
    cfg = agent_config(controller, tmp_path, "gpu-cert", make_token(controller, "gpu-cert"))
    assert Agent(tmp_path, cfg).run("--enroll-only").returncode == 0
    data = tmp_path / "data"
    answer = _upgrade(controller, (str(data / "node.crt"), str(data / "node.key")))
    assert isinstance(answer, bytes) and answer.startswith(b"HTTP/1.1 101"), answer


def test_revoked_certificate_is_refused_and_logged(controller, tmp_path):
    token = make_token(controller, "gpu-revoked")
    agent = Agent(tmp_path, agent_config(controller, tmp_path, "gpu-revoked", token)).start()
    try:
        agent.wait_for("welcomed by the controller")
        r = controller.request("POST", "/api/v1/nodes/gpu-revoked/revoke", json={})
        assert r.status_code == 200, r.text
        agent.wait_for("refused this node's certificate", timeout=30)
        assert agent.count("welcomed by the controller") == 1
        assert node(controller, "gpu-revoked")["state"] == "revoked"
    finally:
        assert agent.stop() == 0, agent.tail()


def test_reconnects_after_the_controller_restarts(tmp_path, monkeypatch):
    ctl = Controller(tmp_path / "controller", config={"heartbeat_interval_ms": 300}).start()
    agent = None
    try:
        token = make_token(ctl, "gpu-phoenix")
        agent = Agent(tmp_path / "agent", agent_config(ctl, tmp_path / "agent", "gpu-phoenix", token)).start()
        agent.wait_for("welcomed by the controller")
        assert ctl.stop() == 0, ctl.log_tail()
        agent.wait_for("reconnecting in")
        # the same data directory on the same ports
        ports = iter([ctl.api_port, ctl.agent_port])
        monkeypatch.setattr(harness, "free_port", lambda: next(ports))
        ctl = Controller(tmp_path / "controller", config={"heartbeat_interval_ms": 300}).start()
        agent.wait_for("welcomed by the controller", count=2, timeout=60)
        wait_node(ctl, "gpu-phoenix", lambda n: n["connected"] and n["state"] == "online", what="back online")
    finally:
        if agent:
            assert agent.stop() == 0, agent.tail()
        ctl.stop()
    agent.assert_no_bugs()
