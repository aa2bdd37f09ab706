"""test_agent_limits.py: the limits the controller puts on agents, against the real controller with
a websocket client that holds a real node certificate (fake_controller.ws_connect): frames per
second (agent_max_frames_per_sec: the connection is closed with 1008), frame size
(max_frame_bytes: refused with an error frame, the connection stays), and connections per node
(max_agent_connections_per_node: one more is closed at once, the open one is not disturbed).

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_agent_limits.py
"""

import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_controller import ws_connect  # noqa: E402
from harness import Controller  # noqa: E402

FRAMES_PER_SEC = 20
FRAME_BYTES = 4096


@pytest.fixture(scope="module")
def ctl(tmp_path_factory):
    c = Controller(tmp_path_factory.mktemp("agent-limits"), config={
        "agent_max_frames_per_sec": FRAMES_PER_SEC, "max_frame_bytes": FRAME_BYTES,
        "max_agent_connections_per_node": 1}).start()
    yield c
    assert c.stop() == 0, c.log_tail()


def connect(ctl, node):
    return ws_connect(ctl.agent_port, ctl.ca_file, *node)


def wait_log(ctl, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in ctl.log():
            return
        time.sleep(0.05)
    raise AssertionError(f"the controller never logged {text!r}:\n{ctl.log_tail()}")


def test_oversized_frame_is_refused_and_the_connection_stays(ctl, tmp_path):
    ws = connect(ctl, ctl.enroll_node("big-1", tmp_path))
    ws.send_text(json.dumps({"type": "heartbeat", "pad": "x" * (FRAME_BYTES + 10)}))
    err = json.loads(ws.recv_message())
    assert err["type"] == "error" and "max_frame_bytes" in err["message"], err
    ws.send_text("{}")  # still connected: an ordinary refusal follows
    assert json.loads(ws.recv_message())["type"] == "error"
    ws.close()


def test_flooding_agent_is_disconnected(ctl, tmp_path):
    ws = connect(ctl, ctl.enroll_node("flood-1", tmp_path))
    for _ in range(3 * FRAMES_PER_SEC):
        try:
            ws.send_text("{}")
        except OSError:
            break
    while True:  # error answers to the first frames, then the close
        try:
            m = ws.recv_message()
        except (ConnectionError, OSError):
            m = None
        if m is None:
            break
    assert ws.close_code == 1008, ws.close_code
    assert "frames per second" in ws.close_reason, ws.close_reason
    wait_log(ctl, f"flood-1 sends more than {FRAMES_PER_SEC} frames per second")


def test_a_slow_agent_is_not_cut_off(ctl, tmp_path):
    ws = connect(ctl, ctl.enroll_node("calm-1", tmp_path))
    for _ in range(FRAMES_PER_SEC // 2):
        ws.send_text("{}")
        assert json.loads(ws.recv_message())["type"] == "error"
        time.sleep(1.5 / FRAMES_PER_SEC)
    ws.close()


def test_connections_per_node(ctl, tmp_path):
    node = ctl.enroll_node("twice-1", tmp_path)
    first = connect(ctl, node)
    try:
        second = connect(ctl, node)
        try:
            gone = second.recv_message()
        except (ConnectionError, OSError):
            gone = None
        assert gone is None, gone
    except ConnectionError:
        pass  # refused during the upgrade: as good
    wait_log(ctl, "refused a connection of twice-1: it has 1 open already")
    first.send_text("{}")  # the first one is untouched
    assert json.loads(first.recv_message())["type"] == "error"
    first.close()
