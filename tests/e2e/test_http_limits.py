"""test_http_limits.py: the API listener's connection limits on a real controller: open connections
(max_connections: the ones past the budget wait unanswered, and are served once others close) and
the time a request body may take (body_timeout_s). Header size (431) and slow headers are in
test_jobs.py, which also covers the per-key limits.

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_http_limits.py
"""

import os
import socket
import ssl
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Controller  # noqa: E402

MAX_CONNECTIONS = 16  # the smallest the schema allows; the two listeners take two of them


def tls_connect(ctl, timeout):
    ctx = ssl.create_default_context(cafile=str(ctl.ca_file))
    s = socket.create_connection(("127.0.0.1", ctl.api_port), timeout=timeout)
    try:
        return ctx.wrap_socket(s, server_hostname="localhost")
    except Exception:
        s.close()
        raise


def test_connections_past_max_connections_wait(tmp_path):
    with Controller(tmp_path, config={"max_connections": MAX_CONNECTIONS, "header_timeout_s": 60}) as ctl:
        held, refused = [], 0
        try:
            for _ in range(MAX_CONNECTIONS + 4):
                try:
                    held.append(tls_connect(ctl, timeout=1))
                except (TimeoutError, ssl.SSLError, OSError):
                    refused += 1
            assert len(held) == MAX_CONNECTIONS - 2, (len(held), refused)  # the listeners hold 2
            with pytest.raises(requests.exceptions.RequestException):
                requests.get(ctl.url + "/healthz", verify=str(ctl.ca_file), timeout=2)
        finally:
            for t in held:
                t.close()
        deadline = time.monotonic() + 10
        while True:  # served again once the idle ones are gone
            try:
                assert requests.get(ctl.url + "/healthz", verify=str(ctl.ca_file), timeout=2).status_code == 200
                break
            except requests.exceptions.RequestException:
                assert time.monotonic() < deadline, ctl.log_tail()


def test_a_body_that_never_comes_is_cut_off(tmp_path):
    with Controller(tmp_path, config={"body_timeout_s": 2}) as ctl:
        t = tls_connect(ctl, timeout=20)
        t.sendall(f"POST /api/v1/join-tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ctl.admin_key}\r\n"
                  "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":".encode())
        t0 = time.monotonic()
        try:
            data = t.recv(100)
        except (ssl.SSLError, OSError):
            data = b""
        took = time.monotonic() - t0
        assert data == b"", data
        assert 1.5 <= took <= 6, took
        t.close()
        # nothing was created from the half body, and others are served
        r = ctl.request("GET", "/api/v1/join-tokens")
        assert r.status_code == 200 and r.json()["data"] == [], r.text
