"""Certificate renewal over the mutual-TLS connection: with 120 s certificates (60 s of it back-dated
for clock skew), the agent asks at 70-90 % of the lifetime, installs the new certificate, and its
next connection uses it."""
import time

import pytest

import harness
from agent_harness import Agent
from test_enroll import agent_config, make_token, node, wait_node


@pytest.fixture
def short_lived(tmp_path):
    ctl = harness.Controller(tmp_path / "ctl", config={"agent_cert_lifetime": "120s", "heartbeat_interval_ms": 1000})
    ctl.start()
    yield ctl
    ctl.stop()


def test_agent_renews_before_expiry(short_lived, tmp_path):
    ctl = short_lived
    agent = Agent(tmp_path, agent_config(ctl, tmp_path, "gpu-renew", make_token(ctl, "gpu-renew"))).start()
    try:
        agent.wait_for("welcomed by the controller")
        first = wait_node(ctl, "gpu-renew", lambda n: n["connected"], what="connected")["cert_not_after"]
        before = (tmp_path / "data" / "node.crt").read_bytes()
        agent.wait_for("renewed this node's certificate", timeout=70)
        assert "renewed the certificate of gpu-renew" in ctl.log()
        assert (tmp_path / "data" / "node.crt").read_bytes() != before
        n = wait_node(ctl, "gpu-renew", lambda n: n["cert_not_after"] != first, what="a later certificate")
        assert n["connected"] and n["state"] == "online"
        # the new certificate is what the next connection presents
        agent.stop()
        again = Agent(tmp_path / "again", {k: v for k, v in agent.config.items() if k != "join_token_file"}).start()
        try:
            again.wait_for("welcomed by the controller")
        finally:
            again.stop()
    finally:
        agent.stop()
    agent.assert_no_bugs()
