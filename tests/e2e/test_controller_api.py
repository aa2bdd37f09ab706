"""The controller's HTTP surface against a real process: refusals come before any handler runs
(no body is ever acted on for a refused request), malformed requests get the right 4xx with an
OpenAI-shaped error, and the process survives all of it."""
import json
import socket
import ssl

import requests

from harness import controller  # noqa: F401 (pytest fixture)


def error_of(resp):
    body = resp.json()
    assert set(body) == {"error"} and {"message", "type", "code"} <= set(body["error"]), body
    return body["error"]


def anon(controller, method, path, **kwargs):
    """A request with no credentials."""
    return requests.request(method, controller.url + path, verify=str(controller.ca_file), timeout=10, **kwargs)


def keys(controller):
    return [k["name"] for k in controller.request("GET", "/api/v1/keys", key=controller.admin_key).json()["data"]]


def test_refused_requests_are_never_dispatched(controller):
    before = keys(controller)
    r = anon(controller, "POST", "/api/v1/keys", json={"name": "evil", "role": "admin"})
    assert r.status_code == 401 and error_of(r)["code"] == "invalid_api_key"
    dev = controller.create_key("dev-refused", "developer")
    r = controller.request("POST", "/api/v1/keys", key=dev, json={"name": "evil2", "role": "admin"})
    assert r.status_code == 403 and error_of(r)["type"] == "permission_error"
    r = controller.request("POST", "/api/v1/join-tokens", key=dev, json={"name": "n1", "zone": "private"})
    assert r.status_code == 403
    assert sorted(keys(controller)) == sorted(before + ["dev-refused"])


def test_unknown_path_with_a_body_and_method_not_allowed(controller):
    r = anon(controller, "POST", "/api/v1/nope", json={"x": 1})
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = anon(controller, "DELETE", "/healthz")
    assert r.status_code == 405 and "GET" in r.headers["allow"]
    assert anon(controller, "GET", "/healthz").status_code == 200  # still alive


def test_malformed_json_and_missing_fields(controller):
    r = controller.request("POST", "/api/v1/join-tokens", key=controller.admin_key, data=b'{"name": ')
    assert r.status_code == 400 and "line 1" in error_of(r)["message"]
    r = controller.request("POST", "/api/v1/join-tokens", key=controller.admin_key, json={"name": "n"})
    assert r.status_code == 400 and "zone" in error_of(r)["message"]
    r = controller.request("POST", "/api/v1/join-tokens", key=controller.admin_key, json={"name": "n", "zone": "moon"})
    assert r.status_code == 400 and "zone" in error_of(r)["message"]


def test_request_id_is_echoed_or_made(controller):
    r = controller.request("GET", "/healthz", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = controller.request("GET", "/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["x-request-id"].startswith("req-")


def test_body_over_the_limit_is_413(controller):
    r = controller.request("POST", "/api/v1/keys", key=controller.admin_key, data=b"x" * (5 << 20))
    assert r.status_code == 413 and error_of(r)["code"] == "body_too_large"


def test_tls_1_2_is_refused(controller):
    ctx = ssl.create_default_context(cafile=controller.ca_file)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    host, port = controller.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port))) as s:
        try:
            ctx.wrap_socket(s, server_hostname=host)
            assert False, "a TLS 1.2 handshake succeeded"
        except ssl.SSLError:
            pass


def test_agent_listener_requires_a_client_certificate(controller):
    ctx = ssl.create_default_context(cafile=controller.ca_file)
    port = json.loads(open(controller.config_path).read())["listen_agents"].split(":")[1]
    with socket.create_connection(("127.0.0.1", int(port))) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            # TLS 1.3: the server's refusal of a missing certificate arrives after the handshake, with
            # the first read, or already with the first write
            try:
                t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
                data = t.recv(100)
                assert data == b"", data
            except (ssl.SSLError, ConnectionResetError):
                pass


def _openssl(*args):
    import subprocess
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _refused_at_agent_port(controller, cert, key):
    """Presents cert/key to the agent listener: the connection must not get a websocket."""
    ctx = ssl.create_default_context(cafile=controller.ca_file)
    ctx.load_cert_chain(cert, key)
    port = json.loads(open(controller.config_path).read())["listen_agents"].split(":")[1]
    with socket.create_connection(("127.0.0.1", int(port))) as s:
        try:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                          b"Sec-WebSocket-Protocol: sluice-agent.v1\r\n\r\n")
                data = t.recv(100)
                assert b"101" not in data, data
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass


def test_self_signed_and_foreign_client_certificates_are_refused(controller, tmp_path):
    # self-signed, naming a node and a zone the way sluice's certificates do
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
             "-subj", "/CN=gpu-1/OU=private", "-keyout", str(tmp_path / "self.key"), "-out", str(tmp_path / "self.pem"))
    _refused_at_agent_port(controller, str(tmp_path / "self.pem"), str(tmp_path / "self.key"))
    # signed by another CA
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
             "-subj", "/CN=other CA", "-keyout", str(tmp_path / "ca.key"), "-out", str(tmp_path / "ca.pem"))
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", "/CN=gpu-1/OU=private", "-keyout", str(tmp_path / "n.key"), "-out", str(tmp_path / "n.csr"))
    _openssl("x509", "-req", "-in", str(tmp_path / "n.csr"), "-CA", str(tmp_path / "ca.pem"), "-CAkey",
             str(tmp_path / "ca.key"), "-CAcreateserial", "-days", "1", "-out", str(tmp_path / "n.pem"))
    _refused_at_agent_port(controller, str(tmp_path / "n.pem"), str(tmp_path / "n.key"))
    assert anon(controller, "GET", "/healthz").status_code == 200


def test_an_agent_certificate_opens_no_api(controller, tmp_path):
    """A node certificate this CA issued is recognised on the API listener and refused with 403."""
    token = controller.request("POST", "/api/v1/join-tokens", json={"name": "gpu-api", "zone": "private"}).json()["token"]
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=gpu-api",
             "-keyout", str(tmp_path / "node.key"), "-out", str(tmp_path / "node.csr"))
    r = anon(controller, "POST", "/api/v1/enroll", json={"token": token, "csr": (tmp_path / "node.csr").read_text()})
    assert r.status_code == 200, r.text
    (tmp_path / "node.pem").write_text(r.json()["certificate"])
    cert = (str(tmp_path / "node.pem"), str(tmp_path / "node.key"))
    for method, path in [("GET", "/api/v1/nodes"), ("GET", "/v1/models"), ("POST", "/v1/chat/completions")]:
        r = anon(controller, method, path, cert=cert, json={})
        assert r.status_code == 403 and "agent certificate" in error_of(r)["message"], (path, r.text)
    assert anon(controller, "GET", "/healthz", cert=cert).status_code == 200  # public routes stay public
