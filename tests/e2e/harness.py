"""harness.py: what sluice's end-to-end tests share: the real sluice-controller on free loopback
ports with a temporary data directory, and the `sluice` CLI pointed at it.

Use it from a test module (or a conftest.py) in tests/e2e/:

    from harness import Controller, Cli, controller, sluice   # helpers and pytest fixtures

    def test_something(controller, sluice):
        r = sluice.run("admin", "node", "list")
        assert r.returncode == 0, r.stderr
        assert controller.request("GET", "/api/v1/nodes").json() == {"data": []}

The fixtures are module-scoped (one controller per test file); build a Controller yourself when a
test needs a fresh one. SLUICE_BUILD_DIR names the Meson build directory (default: build/ at the
top of the source tree); a test fails when a binary it needs is missing.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

SOURCE_ROOT = Path(os.environ.get("SLUICE_SOURCE_ROOT", Path(__file__).resolve().parents[2]))

# Environment variables that would change what the CLI does; the harness decides them per run.
CLI_ENV_VARS = ("SLUICE_CONFIG", "SLUICE_CONTROLLER_URL", "SLUICE_API_KEY_FILE", "SLUICE_CA_FILE")


def build_dir():
    """The Meson build directory: $SLUICE_BUILD_DIR, else <source>/build."""
    return Path(os.environ.get("SLUICE_BUILD_DIR", SOURCE_ROOT / "build"))


def binary(relpath):
    """The path of a built program (e.g. "cli/sluice"); fails (never skips) the test when it is
    missing."""
    path = build_dir() / relpath
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not found: build first (meson compile -C build), or point SLUICE_BUILD_DIR at the "
                    "build directory", pytrace=False)
    return path


def free_port():
    """A TCP port on 127.0.0.1 that nobody listened on a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_private(path, text, mode=0o600):
    """Writes text to path created with mode (0600 by default: key files must be private)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)  # the umask may have removed bits from mode
    return path


def clean_env(home, **overrides):
    """os.environ without the CLI's own variables, HOME set to home (so that no
    ~/.config/sluice/cli.json of the user is read), plus overrides (None removes one)."""
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV_VARS}
    env["HOME"] = str(home)
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


# Runs "$@" with $WATCHDOG_PID set to its own pid, as systemd sets it (sd_watchdog_enabled() ignores
# a $WATCHDOG_USEC meant for another process).
WATCHDOG_PID_WRAPPER = ["sh", "-c", 'export WATCHDOG_PID=$$; exec "$@"', "sh"]


class NotifySocket:
    """A $NOTIFY_SOCKET: collects the datagrams sd_notify() sends, with their arrival times
    (time.monotonic()) in self.stamped."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.stamped = []
        self.done = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.done:
            try:
                text = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            except OSError:
                return
            self.stamped.append((time.monotonic(), text))

    @property
    def messages(self):
        return [m for _, m in list(self.stamped)]

    def times(self, key, value=None):
        """Arrival times of the datagrams holding KEY (=value, when given)."""
        return [t for t, m in list(self.stamped) for line in m.split("\n")
                if line.startswith(key + "=") and (value is None or line == f"{key}={value}")]

    def fields(self, key):
        out = []
        for m in self.messages:
            for line in m.split("\n"):
                if line.startswith(key + "="):
                    out.append(line[len(key) + 1:])
        return out

    def wait(self, key, value=None, timeout=20):
        """Waits for a datagram with KEY (=value); returns its arrival time or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = self.times(key, value)
            if t:
                return t[0]
            time.sleep(0.02)
        raise TimeoutError(f"no {key}{'=' + value if value else ''} on {self.path} within {timeout} s "
                           f"(got {self.messages[-5:]})")

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()


class Controller:
    """A sluice-controller process in workdir: config.json, data/ (CA, database, admin.key),
    controller.log (its stdout and stderr).

    start() picks free ports for the API and the agents' endpoint, writes the config (config=
    adds or overrides keys) and waits until GET /healthz answers over TLS verified with the
    controller's own CA. stop() sends SIGTERM and returns the exit status. Usable as a context
    manager. wrapper= is an argv put before the controller's own (it must exec the rest), e.g.
    WATCHDOG_PID_WRAPPER."""

    START_ATTEMPTS = 3  # a port picked by free_port() may be taken before the controller binds it

    def __init__(self, workdir, config=None, env=None, wrapper=None):
        self.wrapper = list(wrapper or [])
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.config_path = self.workdir / "config.json"
        self.log_path = self.workdir / "controller.log"
        self.extra_config = dict(config or {})
        self.env = env
        self.proc = None
        self.api_port = self.agent_port = None

    # --- where things are ---
    @property
    def url(self):
        """The API's base URL, e.g. https://127.0.0.1:40123 (the server certificate names
        127.0.0.1 and localhost)."""
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def ca_file(self):
        return self.data_dir / "ca.pem"

    @property
    def admin_key_file(self):
        """The bootstrap admin API key the controller writes at its first start (mode 0600)."""
        return self.data_dir / "admin.key"

    @property
    def admin_key(self):
        return self.admin_key_file.read_text().strip()

    def log(self):
        """Everything the controller has written so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=30):
        return "\n".join(self.log().splitlines()[-lines:])

    # --- lifecycle ---
    def start(self, timeout=30):
        for attempt in range(self.START_ATTEMPTS):
            self.api_port, self.agent_port = free_port(), free_port()
            config = {
                "data_dir": str(self.data_dir),
                "listen_api": f"127.0.0.1:{self.api_port}",
                "listen_agents": f"127.0.0.1:{self.agent_port}",
                "log_level": "info",
            }
            config.update(self.extra_config)
            self.config_path.write_text(json.dumps(config, indent=2))
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self.wrapper + [str(binary("controller/sluice-controller")), "--config", str(self.config_path)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env)
            try:
                self.wait_ready(timeout)
                return self
            except RuntimeError:
                if self.proc.poll() is not None and "cannot listen" in self.log() \
                        and attempt + 1 < self.START_ATTEMPTS:
                    continue  # lost the race for a port: try others
                self.stop()
                raise
        return self

    def wait_ready(self, timeout=30):
        """Polls GET /healthz until it answers 200; raises RuntimeError (with the log's end)
        when the controller exits or the time runs out."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluice-controller exited with status {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            if self.ca_file.exists():
                try:
                    r = requests.get(self.url + "/healthz", verify=str(self.ca_file), timeout=2)
                    if r.status_code == 200:
                        return
                    last = f"/healthz answered {r.status_code}"
                except requests.RequestException as e:
                    last = str(e)
            time.sleep(0.05)
        raise RuntimeError(f"sluice-controller not ready after {timeout} s ({last}):\n{self.log_tail()}")

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after timeout seconds; returns the exit status (None if it was
        never started)."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- talking to it directly (to check what the CLI did) ---
    def request(self, method, path, key=None, **kwargs):
        """A request to the API with the admin key (or key), verified against the controller's
        CA. kwargs go to requests (json=, headers=, ...)."""
        headers = dict(kwargs.pop("headers", {}))
        headers.setdefault("Authorization", f"Bearer {key or self.admin_key}")
        return requests.request(method, self.url + path, headers=headers, verify=str(self.ca_file),
                                timeout=kwargs.pop("timeout", 10), **kwargs)

    def create_key(self, name, role, **fields):
        """Creates an API key through the API; returns the secret."""
        r = self.request("POST", "/api/v1/keys", json={"name": name, "role": role, **fields})
        assert r.status_code == 201, r.text
        return r.json()["key"]

    def enroll_node(self, name, workdir, zone="private"):
        """Enrolls node name as an agent does (a join token, then a CSR for a new EC P-256 key made
        with openssl); returns (certificate, key) paths of its client certificate, for requests'
        cert=."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        r = self.request("POST", "/api/v1/join-tokens", json={"name": name, "zone": zone})
        assert r.status_code == 201, r.text
        key, csr, crt = workdir / f"{name}.key", workdir / f"{name}.csr", workdir / f"{name}.pem"
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
        r = requests.post(self.url + "/api/v1/enroll", json={"token": r.json()["token"], "csr": csr.read_text()},
                          verify=str(self.ca_file), timeout=10)
        assert r.status_code == 200, r.text
        crt.write_text(r.json()["certificate"])
        return str(crt), str(key)


class Cli:
    """Runs build/cli/sluice against a controller, with a CLI config in workdir/cli.json
    (controller_url, ca_file, api_key_file: the admin key unless key_file= says otherwise) and a
    clean environment (HOME=workdir, no SLUICE_* variables unless given)."""

    def __init__(self, controller, workdir):
        self.controller = controller
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def config(self, name="cli.json", **fields):
        """Writes a CLI config for the controller; fields add or override keys (None drops one).
        Returns its path."""
        config = {
            "controller_url": self.controller.url,
            "ca_file": str(self.controller.ca_file),
            "api_key_file": str(self.controller.admin_key_file),
            "timeout_ms": 20000,
        }
        config.update(fields)
        config = {k: v for k, v in config.items() if v is not None}
        path = self.workdir / name
        path.write_text(json.dumps(config, indent=2))
        return path

    def key_file(self, name, secret, mode=0o600):
        """Writes an API key file (mode 0600 unless mode says otherwise); returns its path."""
        return write_private(self.workdir / name, secret + "\n", mode)

    def run(self, *args, key_file=None, config=None, env=None, timeout=60):
        """Runs `sluice --config CONFIG ARGS...`; returns the CompletedProcess (text). config=
        False runs without --config; env= adds environment variables."""
        if config is None:
            config = self.config(api_key_file=str(key_file or self.controller.admin_key_file))
        cmd = [str(binary("cli/sluice"))]
        if config:
            cmd += ["--config", str(config)]
        cmd += [str(a) for a in args]
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                              env=clean_env(self.workdir, **(env or {})))


@pytest.fixture(scope="module")
def controller(tmp_path_factory):
    """A controller for the test module; at the end it must exit cleanly (status 0) on SIGTERM,
    which under ASan also means without leaks."""
    c = Controller(tmp_path_factory.mktemp("controller")).start()
    yield c
    status = c.stop()
    assert status == 0, f"sluice-controller exited with status {status}:\n{c.log_tail()}"


@pytest.fixture(scope="module")
def sluice(controller, tmp_path_factory):
    """The CLI pointed at the module's controller, with the admin key."""
    return Cli(controller, tmp_path_factory.mktemp("cli"))
