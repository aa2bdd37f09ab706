"""fake_controller.py: a scriptable stand-in for sluice-controller's agent side, for agent tests.

It plays the parts of docs/PROTOCOL.md that an agent meets: a CA (EC P-256) issuing node
certificates shaped as common/pki.h describes, POST /api/v1/enroll over TLS 1.3 with single-use
tokens, and the WSS endpoint (TLS 1.3, client certificate required, subprotocol sluice-agent.v1)
with a hand-written websocket server, so that tests can send what a real controller never would
(invalid frames, fragments, closes) and see every frame the agent sends.

It is test scaffolding, not a second controller: the agent's tests against the real controller are
in test_enroll.py.
"""
import base64
import datetime
import hashlib
import ipaddress
import json
import os
import queue
import secrets
import socket
import ssl
import struct
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SUBPROTOCOL = "sluice-agent.v1"


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pki:
    """A CA like the controller's, and the certificates it issues."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sluice test CA %s" % secrets.token_hex(4))])
        self.ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(_now() - datetime.timedelta(minutes=1))
                   .not_valid_after(_now() + datetime.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                  critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False)
                   .sign(self.ca_key, hashes.SHA256()))
        self.ca_path = os.path.join(directory, "ca.pem")
        with open(self.ca_path, "wb") as f:
            f.write(self.ca.public_bytes(serialization.Encoding.PEM))
        self.server_cert_path, self.server_key_path = self.make_server(["localhost", "127.0.0.1"], "server")
        self.revoked = []  # serial numbers
        self.crl_path = os.path.join(directory, "crl.pem")

    def make_server(self, names, tag):
        """A TLS server certificate for names (DNS names or IP addresses); returns (cert, key) paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        sans = []
        for n in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        cert = self._issue(key.public_key(), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]), sans,
                           ExtendedKeyUsageOID.SERVER_AUTH, datetime.timedelta(days=1))
        cert_path, key_path = os.path.join(self.dir, tag + ".pem"), os.path.join(self.dir, tag + ".key")
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        return cert_path, key_path

    def _issue(self, public_key, subject, sans, eku, lifetime, not_before=None):
        nb = not_before or _now() - datetime.timedelta(seconds=60)
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(self.ca.subject)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(nb).not_valid_after(nb + lifetime)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                               critical=True)
                .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                               critical=False)
                .sign(self.ca_key, hashes.SHA256()))

    def issue_node(self, csr, name, zone, node_id, lifetime=datetime.timedelta(hours=24), not_before=None):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                             x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, zone)])
        sans = [x509.UniformResourceIdentifier("urn:sluice:node:" + node_id),
                x509.UniformResourceIdentifier("urn:sluice:zone:" + zone)]
        return self._issue(csr.public_key(), subject, sans, ExtendedKeyUsageOID.CLIENT_AUTH, lifetime, not_before)

    def revoke(self, serial):
        self.revoked.append(serial)
        b = (x509.CertificateRevocationListBuilder().issuer_name(self.ca.subject)
             .last_update(_now() - datetime.timedelta(minutes=1)).next_update(_now() + datetime.timedelta(days=1)))
        for s in self.revoked:
            b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(s)
                                          .revocation_date(_now() - datetime.timedelta(minutes=1)).build())
        crl = b.sign(self.ca_key, hashes.SHA256())
        with open(self.crl_path, "wb") as f:
            f.write(crl.public_bytes(serialization.Encoding.PEM))


class Enrollment:
    """POST /api/v1/enroll, as docs/PROTOCOL.md describes it, with single-use tokens."""

    def __init__(self, pki):
        self.pki = pki
        self.tokens = {}  # token -> {"name", "zone", "used", "expires"}
        self.lock = threading.Lock()
        self.requests = 0
        self.fail_next = 0        # answer this many requests with 503 first
        self.answer = None        # (status, raw body bytes): answer every request with this
        self.issue_name = None    # issue certificates naming this node instead of the token's

    def token(self, name, zone="private", ttl=3600):
        t = "sjt-" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        with self.lock:
            self.tokens[t] = {"name": name, "zone": zone, "used": False,
                              "expires": _now() + datetime.timedelta(seconds=ttl)}
        return t

    def handle(self, body):
        """Returns (status, json body or raw bytes)."""
        self.requests += 1
        if self.answer:
            return self.answer
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503, {"error": {"message": "the store is busy", "type": "server_error", "code": "unavailable"}}

        def refuse(status, code, msg):
            return status, {"error": {"message": msg, "type": "invalid_request_error", "code": code}}
        try:
            req = json.loads(body)
            token, csr_pem = req["token"], req["csr"]
        except (ValueError, KeyError, TypeError):
            return refuse(400, "invalid_request", "request body: expected token and csr")
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
            assert csr.is_signature_valid
        except Exception:  # noqa: BLE001 - any failure is a bad CSR
            return refuse(400, "bad_csr", "pki: malformed CSR")
        with self.lock:
            t = self.tokens.get(token)
            if not t:
                return refuse(403, "invalid_token", "join token refused: unknown join token")
            if t["used"]:
                return refuse(403, "token_used", "join token refused: join token already used")
            if t["expires"] < _now():
                return refuse(403, "token_expired", "join token refused: join token expired")
            cn = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            if len(cn) != 1 or cn[0].value != t["name"]:
                return refuse(403, "csr_mismatch", "pki: CSR names node \"%s\", token is for \"%s\"" %
                              (cn[0].value if cn else "", t["name"]))
            t["used"] = True
        node_id = str(uuid.uuid4())
        cert = self.pki.issue_node(csr, self.issue_name or t["name"], t["zone"], node_id)
        return 200, {"certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
                     "ca": self.pki.ca.public_bytes(serialization.Encoding.PEM).decode(),
                     "node_id": node_id, "node": t["name"], "zone": t["zone"],
                     "not_after": cert.not_valid_after.replace(tzinfo=datetime.timezone.utc).isoformat()}


class WsConnection:
    """One websocket connection over TLS: read and write messages. The server side by default
    (an agent connected to the fake controller); client=True for the agent's side (frames it sends
    are masked, frames it receives are not), as ws_connect() makes."""

    def __init__(self, sock, peer_cert, client=False):
        self.sock = sock
        self.peer_cert = peer_cert
        self.client = client
        self.closed = False
        self.close_code = None
        self.lock = threading.Lock()

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("peer closed")
            buf += chunk
        return buf

    def _send_frame(self, opcode, payload, fin=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        n, mask_bit = len(payload), 0x80 if self.client else 0
        if n < 126:
            head += bytes([mask_bit | n])
        elif n < 65536:
            head += bytes([mask_bit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
        if self.client:
            mask = secrets.token_bytes(4)
            head += mask
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        with self.lock:
            self.sock.sendall(head + payload)

    def send_text(self, text, fragments=1):
        data = text.encode() if isinstance(text, str) else text
        if fragments <= 1:
            self._send_frame(0x1, data)
            return
        step = max(1, len(data) // fragments)
        parts = [data[i:i + step] for i in range(0, len(data), step)] or [b""]
        for i, p in enumerate(parts):
            self._send_frame(0x1 if i == 0 else 0x0, p, fin=i == len(parts) - 1)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def send_binary(self, data):
        self._send_frame(0x2, data)

    def close(self, code=1000, reason=""):
        try:
            self._send_frame(0x8, struct.pack("!H", code) + reason.encode())
        except OSError:
            pass

    def abort(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def recv_message(self):
        """The next text message (str); None when the connection ends."""
        message, opcode = b"", None
        while True:
            b0, b1 = self._recv_exact(2)
            op, fin, masked, n = b0 & 0x0F, b0 & 0x80, b1 & 0x80, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._recv_exact(8))[0]
            if bool(masked) == self.client:
                raise ConnectionError("server frame masked" if self.client else "client frame not masked")
            mask = self._recv_exact(4) if masked else b"\0\0\0\0"
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(self._recv_exact(n)))
            if op == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close_reason = payload[2:].decode(errors="replace")
                self.close(self.close_code)
                return None
            if op == 0x9:
                self._send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if op in (0x1, 0x2):
                opcode, message = op, payload
            else:
                message += payload
            if fin:
                return message.decode() if opcode == 0x1 else message


def ws_connect(port, ca_file, cert, key, protocol="sluice-agent.v1", host="127.0.0.1", timeout=10):
    """Connects to a real controller's agent endpoint as an agent would (client certificate,
    websocket upgrade); returns the client-side WsConnection. Raises ConnectionError when the
    upgrade is refused."""
    ctx = ssl.create_default_context(cafile=str(ca_file))
    ctx.load_cert_chain(str(cert), str(key))
    sock = ctx.wrap_socket(socket.create_connection((host, port), timeout=timeout), server_hostname=host)
    nonce = base64.b64encode(secrets.token_bytes(16)).decode()
    sock.sendall((f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError(f"closed during the upgrade: {head!r}")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"upgrade refused: {head!r}")
    return WsConnection(sock, sock.getpeercert(), client=True)


class FakeController:
    """HTTPS enrollment + WSS agent endpoint on free loopback ports.

    on_connect(conn) runs in the connection's thread after the handshake; the default says nothing
    until the agent says hello, then answers welcome and rules (like the real controller).
    Every frame the agent sends is put on self.frames as (connection number, dict).
    """

    def __init__(self, directory, heartbeat_interval_ms=200, script=None, require_cert=True, pki=None,
                 server_names=None, tls_max=None):
        self.dir = directory
        self.pki = pki or Pki(directory)
        self.server_cert_path, self.server_key_path = self.pki.server_cert_path, self.pki.server_key_path
        if server_names:
            self.server_cert_path, self.server_key_path = self.pki.make_server(server_names, "server-%s" %
                                                                                secrets.token_hex(3))
        self.tls_max = tls_max
        self.enrollment = Enrollment(self.pki)
        self.api_port = free_port()
        self.agent_port = free_port()
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.script = script or self.default_script
        self.require_cert = require_cert
        self.frames = queue.Queue()
        self.connections = []
        self.handshake_failures = []
        self.rules_version = 7
        self.rules = {}  # the rule set document sent after welcome
        self._stop = threading.Event()
        self._threads = []

    # -- TLS
    def _server_context(self, client_cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if self.tls_max:
            ctx.maximum_version = self.tls_max
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(self.server_cert_path, self.server_key_path)
        if client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.pki.ca_path)
            if self.pki.revoked:
                ctx.load_verify_locations(self.pki.crl_path)
                ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return ctx

    # -- enrollment API
    def _start_api(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, 1 << 20))
                if self.path != "/api/v1/enroll":
                    status, reply = 404, {"error": {"message": "not found", "type": "invalid_request_error",
                                                    "code": "not_found"}}
                else:
                    status, reply = fake.enrollment.handle(body)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.api_port), Handler)
        self.httpd.socket = self._server_context(False).wrap_socket(self.httpd.socket, server_side=True)
        t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        t.start()
        self._threads.append(t)

    # -- agent endpoint
    def _start_agents(self):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.agent_port))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                raw, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            raw.settimeout(10)
            sock = self._server_context(self.require_cert).wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.handshake_failures.append(str(e))
            raw.close()
            return
        try:
            req = b""
            while b"\r\n\r\n" not in req:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                req += chunk
                if len(req) > 16384:
                    return
            headers = {}
            for line in req.split(b"\r\n\r\n")[0].decode().split("\r\n")[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            protos = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
            if SUBPROTOCOL not in protos or "sec-websocket-key" not in headers:
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + WS_GUID).encode()).digest())
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: " +
                         SUBPROTOCOL.encode() + b"\r\n\r\n")
            sock.settimeout(None)
            conn = WsConnection(sock, sock.getpeercert())
            conn.number = len(self.connections)
            self.connections.append(conn)
            self.script(conn)
        except (ConnectionError, OSError, ssl.SSLError) as e:
            self.handshake_failures.append("after handshake: %s" % e)
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def identity(self, conn):
        """(node name, zone, node id) from the client certificate, as the real controller reads them."""
        subject = dict(x[0] for x in conn.peer_cert["subject"])
        node_id = next(v[len("urn:sluice:node:"):] for k, v in conn.peer_cert["subjectAltName"]
                       if v.startswith("urn:sluice:node:"))
        return subject["commonName"], subject["organizationalUnitName"], node_id

    def welcome(self, conn):
        name, zone, node_id = self.identity(conn)
        conn.send_json({"type": "welcome", "node_id": node_id, "node": name, "zone": zone,
                        "heartbeat_interval_ms": self.heartbeat_interval_ms, "rules_version": self.rules_version})
        conn.send_json({"type": "rules", "version": self.rules_version, "rules": self.rules})

    def pump(self, conn):
        """Reads frames until the connection ends, recording each."""
        while True:
            m = conn.recv_message()
            if m is None:
                return
            self.frames.put((conn.number, json.loads(m) if isinstance(m, str) else m))

    def default_script(self, conn):
        first = conn.recv_message()
        if first is None:
            return
        frame = json.loads(first)
        self.frames.put((conn.number, frame))
        if frame.get("type") == "hello":
            self.welcome(conn)
        self.pump(conn)

    def next_frame(self, type_=None, timeout=10):
        """The next recorded frame (of type_, skipping others)."""
        import time
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s frame within %ss" % (type_ or "", timeout))
            n, f = self.frames.get(timeout=left)
            if type_ is None or (isinstance(f, dict) and f.get("type") == type_):
                return n, f

    def start(self):
        self._start_api()
        self._start_agents()
        return self

    def stop(self):
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.lsock.close()
        for c in self.connections:
            c.abort()

    def agent_config(self, data_dir, node_name, token=None, **extra):
        cfg = {"controller_url": "https://127.0.0.1:%d" % self.api_port,
               "agent_url": "wss://127.0.0.1:%d/" % self.agent_port,
               "ca_file": self.pki.ca_path, "node_name": node_name, "data_dir": data_dir}
        if token is not None:
            path = os.path.join(os.path.dirname(data_dir), node_name + ".token")
            with open(path, "w") as f:
                f.write(token + "\n")
            cfg["join_token_file"] = path
        cfg.update(extra)
        return cfg
