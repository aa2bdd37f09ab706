"""`sluice model pull`: resume after an interrupted download, checksum, offline and HTTP errors.

A real HTTP server on loopback (Python's http.server with Range support) serves the file; the first
transfer is cut off half-way, the second must resume with a Range request and verify the sha256.
"""
import hashlib
import http.server
import os
import subprocess
import threading

import pytest

BUILD = os.environ.get("SLUICE_BUILD_DIR", "build")
SLUICE = os.path.join(BUILD, "cli", "sluice")
PAYLOAD = os.urandom(3 << 20)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    cut_first = True
    ranges = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != "/model.gguf":
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        Handler.ranges.append(rng)
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(PAYLOAD) - 1, len(PAYLOAD)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD) - start))
        self.end_headers()
        body = PAYLOAD[start:]
        if Handler.cut_first:
            Handler.cut_first = False
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the connection drops mid-transfer
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    Handler.cut_first, Handler.ranges = True, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()


def pull(url, out, *args):
    return subprocess.run([SLUICE, "model", "pull", url, "-o", str(out)] + list(args), capture_output=True, text=True, timeout=60)


def test_resume_after_interruption(server, tmp_path):
    out = tmp_path / "m.gguf"
    first = pull(server + "/model.gguf", out, "--sha256", SHA)
    assert first.returncode == 1 and "cannot download" in first.stderr
    part = tmp_path / "m.gguf.part"
    assert part.exists() and 0 < part.stat().st_size < len(PAYLOAD)
    second = pull(server + "/model.gguf", out, "--sha256", SHA)
    assert second.returncode == 0, second.stderr
    assert Handler.ranges[-1] == "bytes=%d-" % part_size_hint(Handler.ranges)
    assert out.read_bytes() == PAYLOAD and not part.exists()
    assert second.stdout.split()[0] == SHA


def part_size_hint(ranges):
    return int(ranges[-1].split("=")[1].rstrip("-"))


def test_checksum_mismatch_removes_the_download(server, tmp_path):
    Handler.cut_first = False
    out = tmp_path / "m.gguf"
    r = pull(server + "/model.gguf", out, "--sha256", "0" * 64)
    assert r.returncode == 1 and "sha256 is %s" % SHA in r.stderr
    assert not out.exists() and not (tmp_path / "m.gguf.part").exists()


def test_http_error_and_offline(server, tmp_path):
    r = pull(server + "/missing", tmp_path / "x")
    assert r.returncode == 1 and "404" in r.stderr
    r = pull("https://nonexistent.invalid/model.gguf", tmp_path / "y")
    assert r.returncode == 1 and "offline" in r.stderr


def test_bad_usage():
    r = subprocess.run([SLUICE, "model", "pull", "http://x/y", "-o", "/tmp/z", "--sha256", "abc"], capture_output=True, text=True)
    assert r.returncode == 2 and "64 hex digits" in r.stderr
