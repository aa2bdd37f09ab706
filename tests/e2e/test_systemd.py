"""test_systemd.py: sluice-controller and sluice-agent as systemd services.

- The units in deploy/systemd/: `systemd-analyze verify` is clean and `systemd-analyze security
  --offline=yes --threshold=20` passes (the score is printed); what the services need is still
  there (notify, watchdog, restart, a user from deploy/sysusers.d, the data_dir the schemas default
  to, the agent's NVIDIA devices, the network). verify wants the ExecStart binary to exist: each
  test checks a copy of the unit whose ExecStart names the binary of this build instead of
  /usr/local/bin (where `meson install` puts it by default), the rest of the unit unchanged.
- sd_notify, with a listener on a $NOTIFY_SOCKET and $WATCHDOG_USEC/$WATCHDOG_PID set as systemd
  sets them: READY, STATUS, WATCHDOG pings at about half the interval, STOPPING. The controller's
  pings stop while its event loop hangs: the test holds an exclusive lock on the database and
  sends an admin write, which waits in SQLite's busy handler (5 s at most) on the loop's thread.
  The agent's READY comes only once the model load the controller sent after hello has ended.
- Logs: JSON lines on stderr unless $JOURNAL_STREAM names stderr (then journald).
- docs/OPERATIONS.md's configuration reference is what scripts/config-reference.py generates, and
  the check fails when it is not.

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_systemd.py
"""

import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_harness import Agent  # noqa: E402
from cluster_harness import make_model  # noqa: E402
from harness import (SOURCE_ROOT, WATCHDOG_PID_WRAPPER, Controller, NotifySocket, binary,  # noqa: E402
                     write_private)

UNITS = {"controller": "sluice-controller", "agent": "sluice-agent"}
UNIT_DIR = SOURCE_ROOT / "deploy" / "systemd"
SYSUSERS = SOURCE_ROOT / "deploy" / "sysusers.d" / "sluice.conf"
SCHEMAS = SOURCE_ROOT / "schemas" / "config"
CONFIG_REFERENCE = SOURCE_ROOT / "scripts" / "config-reference.py"
OPERATIONS = SOURCE_ROOT / "docs" / "OPERATIONS.md"
THRESHOLD = 20           # systemd-analyze's scale: 2.0 shown
WATCHDOG_USEC = 1000000  # pings expected every 0.5 s
NOTIFY_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")


def tool(name, package):
    """The path of a program the tests need; fails (never skips) when it is missing."""
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} not found: scripts/deps test installs it (Debian package {package})", pytrace=False)
    return path


# --- the unit files ---

def unit_settings(path):
    """{(section, key): [values]} of a unit file (comments and continuation lines are not used)."""
    out, section = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault((section, key.strip()), []).append(value.strip())
    return out


def one(settings, key, section="Service"):
    values = settings.get((section, key), [])
    assert len(values) == 1, f"{key}= should be set once, is {values}"
    return values[0]


def built_copy(component, tmp_path, text=None):
    """The unit, with ExecStart naming this build's binary (verify needs it to exist)."""
    name = UNITS[component]
    text = text if text is not None else (UNIT_DIR / f"{name}.service").read_text()
    installed = f"ExecStart=/usr/local/bin/{name} "
    assert text.count(installed) == 1, f"{name}.service: ExecStart should run /usr/local/bin/{name} (meson's bindir)"
    path = tmp_path / f"{name}.service"
    path.write_text(text.replace(installed, f"ExecStart={binary(f'{component}/{name}')} "))
    return path


def analyze(*args):
    return subprocess.run([tool("systemd-analyze", "systemd"), *map(str, args)], capture_output=True, text=True, timeout=120,
                          cwd="/")


def exposure(result):
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert m, f"no exposure level in:\n{result.stdout}\n{result.stderr}"
    return float(m.group(1))


@pytest.mark.parametrize("component", UNITS)
def test_unit_verify_is_clean(component, tmp_path):
    r = analyze("verify", built_copy(component, tmp_path))
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


@pytest.mark.parametrize("component", UNITS)
def test_unit_security_passes_threshold(component, tmp_path):
    r = analyze("security", "--offline=yes", f"--threshold={THRESHOLD}", built_copy(component, tmp_path))
    score = exposure(r)
    print(f"{UNITS[component]}.service: exposure {score} (threshold {THRESHOLD / 10})")
    assert r.returncode == 0 and score <= THRESHOLD / 10, \
        f"{UNITS[component]}.service: exposure {score} over {THRESHOLD / 10}:\n{r.stdout}"


def test_security_check_fails_for_an_unsandboxed_unit(tmp_path):
    """The threshold check can fail: the controller's unit without its sandboxing lines."""
    kept = ("Type=", "NotifyAccess=", "ExecStart=", "WatchdogSec=", "Restart=", "[")
    text = "\n".join(l for l in (UNIT_DIR / "sluice-controller.service").read_text().splitlines()
                     if l.startswith(kept)) + "\n"
    r = analyze("security", "--offline=yes", f"--threshold={THRESHOLD}", built_copy("controller", tmp_path, text))
    assert r.returncode != 0 and exposure(r) > THRESHOLD / 10, r.stdout


def sysusers():
    return {line.split()[1] for line in SYSUSERS.read_text().splitlines() if line.startswith("u ")}


@pytest.mark.parametrize("component", UNITS)
def test_unit_runs_the_service_as_systemd_expects(component):
    """Type=notify with the watchdog, restarted on failure, its own user, data_dir where the
    schema's default puts it, the config where ExecStart reads it, network reachable."""
    name = UNITS[component]
    s = unit_settings(UNIT_DIR / f"{name}.service")
    assert one(s, "Type") == "notify" and one(s, "NotifyAccess") == "main"
    assert re.fullmatch(r"\d+s", one(s, "WatchdogSec")), one(s, "WatchdogSec")
    assert one(s, "Restart") == "on-failure"
    assert one(s, "ExecStart") == f"/usr/local/bin/{name} --config /etc/sluice/{component}.json"
    assert one(s, "ConfigurationDirectory") == "sluice"
    user = one(s, "User")
    assert user in sysusers() and one(s, "Group") == user, (user, sysusers())
    assert ("Service", "DynamicUser") not in s
    default_dir = json.loads((SCHEMAS / f"{component}.schema.json").read_text())["properties"]["data_dir"]["default"]
    assert default_dir == "/var/lib/" + one(s, "StateDirectory"), "data_dir's default must be the StateDirectory"
    families = one(s, "RestrictAddressFamilies").split()
    assert {"AF_INET", "AF_INET6", "AF_UNIX"} <= set(families), families  # TCP, sd_notify, journald
    assert ("Service", "PrivateNetwork") not in s and ("Service", "IPAddressDeny") not in s
    assert one(s, "ProtectSystem") == "strict"  # writable: the StateDirectory only


def test_agent_unit_keeps_the_gpus():
    s = unit_settings(UNIT_DIR / "sluice-agent.service")
    assert ("Service", "PrivateDevices") not in s, "PrivateDevices= would hide /dev/nvidia*"
    assert one(s, "DevicePolicy") == "closed"
    allowed = {v.rsplit(None, 1)[0]: v.rsplit(None, 1)[1] for v in s[("Service", "DeviceAllow")]}
    for dev in ("char-nvidia*", "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia0"):
        assert allowed.get(dev) == "rw", (dev, allowed)


def test_controller_unit_has_no_devices():
    s = unit_settings(UNIT_DIR / "sluice-controller.service")
    assert one(s, "PrivateDevices") == "yes" and ("Service", "DeviceAllow") not in s


# --- sd_notify ---

def notify_env(notify, **extra):
    env = {k: v for k, v in os.environ.items() if k not in NOTIFY_ENV}
    env.update({"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}, **extra)
    return env


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


def check_ping_rate(notify, since, what):
    """WATCHDOG=1 datagrams after since: the median gap is 0.3-0.7 of WATCHDOG_USEC."""
    pings = [t for t in notify.times("WATCHDOG", "1") if t >= since]
    assert len(pings) >= 4, f"{what}: {len(pings)} watchdog pings"
    median = statistics.median(gaps(pings))
    assert 0.3 <= median / (WATCHDOG_USEC / 1e6) <= 0.7, f"{what}: median gap {median:.3f} s"
    return pings


def test_controller_notify_and_watchdog_stop_while_its_loop_hangs(tmp_path):
    notify = NotifySocket(tmp_path / "notify.sock")
    ctl = Controller(tmp_path / "controller", env=notify_env(notify), wrapper=WATCHDOG_PID_WRAPPER)
    try:
        ctl.start()
        ready = notify.wait("READY", "1")
        assert notify.fields("READY") == ["1"]
        assert any(s.startswith(f"serving the API on port {ctl.api_port}") and s.endswith("0 agent(s) connected")
                   for s in notify.fields("STATUS")), notify.fields("STATUS")
        time.sleep(3)
        check_ping_rate(notify, ready, "controller")

        # hang the event loop: an admin write waits for the database lock the test holds
        db = sqlite3.connect(ctl.data_dir / "sluice.db", isolation_level=None, timeout=10)
        db.execute("BEGIN EXCLUSIVE")
        answer = {}
        writer = threading.Thread(target=lambda: answer.update(r=ctl.request(
            "POST", "/api/v1/join-tokens", json={"name": "hang-1", "zone": "private"}, timeout=30)))
        hung_from = time.monotonic()
        writer.start()
        time.sleep(3)
        hung_until = time.monotonic()
        db.execute("COMMIT")
        db.close()
        writer.join(30)
        assert answer["r"].status_code == 201, \
            f"the write should succeed once the lock is gone (store busy timeout 5 s): {answer['r'].text}"
        during = [t for t in notify.times("WATCHDOG", "1") if hung_from + 0.6 <= t <= hung_until]
        assert during == [], f"{len(during)} watchdog pings while the event loop was blocked"
        time.sleep(2.5)
        check_ping_rate(notify, hung_until + 0.2, "controller after the hang")
    finally:
        status = ctl.stop()
        time.sleep(0.2)
        notify.close()
    assert status == 0, ctl.log_tail()
    assert notify.fields("STOPPING") == ["1"]


def test_controller_ignores_a_watchdog_meant_for_another_process(tmp_path):
    notify = NotifySocket(tmp_path / "notify.sock")
    ctl = Controller(tmp_path / "controller", env=notify_env(notify, WATCHDOG_PID="1"))
    try:
        ctl.start()
        notify.wait("READY", "1")
        time.sleep(1.5)
        assert notify.fields("WATCHDOG") == []
    finally:
        assert ctl.stop() == 0
        notify.close()


class WrappedAgent(Agent):
    """An agent started through WATCHDOG_PID_WRAPPER ($WATCHDOG_PID = its pid, as systemd sets it)."""

    def _cmd(self, *args):
        return WATCHDOG_PID_WRAPPER + super()._cmd(*args)


def start_wrapped_agent(ctl, work, name, zone, notify):
    """Enrolls node name with a join token and starts its agent (WrappedAgent) notifying notify."""
    r = ctl.request("POST", "/api/v1/join-tokens", json={"name": name, "zone": zone, "ttl": "10m"})
    assert r.status_code == 201, r.text
    work.mkdir()
    return WrappedAgent(work, {
        "controller_url": ctl.url, "agent_url": f"wss://127.0.0.1:{ctl.agent_port}/",
        "ca_file": str(ctl.ca_file), "node_name": name, "data_dir": str(work / "data"),
        "join_token_file": str(write_private(work / "token", r.json()["token"] + "\n")),
        "threads": 1, "device": "cpu",
    }).start(env=notify_env(notify))


class SlowModel:
    """A model file that takes delay seconds to read: a FIFO (a file:// source, as the protocol
    allows) that a thread fills with the model once the agent has opened it and the delay has
    passed. self.sent is when the last byte was written."""

    def __init__(self, fifo, model, delay):
        self.path, self.sent = fifo, None
        os.mkfifo(fifo)

        def feed():
            with open(fifo, "wb") as f:  # blocks until the agent opens it
                time.sleep(delay)
                f.write(model.read_bytes())
            self.sent = time.monotonic()

        self.thread = threading.Thread(target=feed, daemon=True)
        self.thread.start()

    def close(self):
        if self.thread.is_alive():  # the agent never came: unblock the writer
            os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))
        self.thread.join(10)


def test_agent_ready_after_its_models_load(tmp_path):
    """The controller deploys two models before the agent starts: one reads slowly, one fails
    (no such file). The agent's READY comes after both loads have ended, not at welcome."""
    delay = 2.5
    model, sha = make_model(tmp_path / "m.gguf", 5, ctx=256)
    slow = SlowModel(tmp_path / "slow.gguf", model, delay)
    ctl_notify = NotifySocket(tmp_path / "controller.sock")
    notify = NotifySocket(tmp_path / "agent.sock")
    ctl = Controller(tmp_path / "controller", config={"heartbeat_interval_ms": 500},
                     env=notify_env(ctl_notify), wrapper=WATCHDOG_PID_WRAPPER)
    agent = None
    try:
        ctl.start()
        # (the model cache is keyed by sha256: the missing model must not share the slow one's)
        for name, path, digest in (("slow", slow.path, sha), ("missing", tmp_path / "missing.gguf", "0" * 64)):
            r = ctl.request("POST", "/api/v1/deployments", json={
                "model": name, "source": str(path), "sha256": digest, "size": model.stat().st_size,
                "nodes": ["gpu-1"]})
            assert r.status_code == 201, r.text
        agent = start_wrapped_agent(ctl, tmp_path / "agent", "gpu-1", "private", notify)
        ready = notify.wait("READY", "1", timeout=60)
        statuses = notify.fields("STATUS")
        assert notify.fields("READY") == ["1"]
        assert slow.sent is not None and ready >= slow.sent, "READY came before the slow model was read"
        welcomed = [t for t, m in notify.stamped if "STATUS=connected to" in m]
        assert welcomed and ready - welcomed[0] >= delay - 1.0, (ready, welcomed)
        assert any(s.endswith("1 of 2 model(s) loaded") for s in statuses), statuses
        deployments = {d["model"]: {n["node"]: n["status"] for n in d["nodes"]}
                       for d in ctl.request("GET", "/api/v1/deployments").json()["data"]}
        assert deployments == {"slow": {"gpu-1": "ready"}, "missing": {"gpu-1": "failed"}}, deployments
        # the controller's STATUS counts the agent (updated every heartbeat interval)
        ctl_notify.wait("STATUS", f"serving the API on port {ctl.api_port}, agents on port {ctl.agent_port}; "
                        "1 agent(s) connected", timeout=5)
    finally:
        agent_status = agent.stop() if agent else None
        ctl_status = ctl.stop()
        slow.close()
        time.sleep(0.2)
        notify.close()
        ctl_notify.close()
    assert agent_status == 0, agent.tail()
    assert ctl_status == 0, ctl.log_tail()
    assert notify.fields("STOPPING") == ["1"]


def test_agent_watchdog_pings_at_half_the_interval(tmp_path):
    notify = NotifySocket(tmp_path / "agent.sock")
    ctl = Controller(tmp_path / "controller")
    agent = None
    try:
        ctl.start()
        agent = start_wrapped_agent(ctl, tmp_path / "agent", "gpu-2", "public", notify)
        ready = notify.wait("READY", "1", timeout=30)
        time.sleep(3)
        check_ping_rate(notify, ready, "agent")
    finally:
        agent_status = agent.stop() if agent else None
        assert ctl.stop() == 0
        time.sleep(0.2)
        notify.close()
    assert agent_status == 0, agent.tail()


# --- logs ---

def json_lines(text):
    lines = [l for l in text.splitlines() if l.strip()]
    parsed = [json.loads(l) for l in lines]  # raises on a line that is not JSON
    for p in parsed:
        assert {"@timestamp", "log.level", "service.name", "message"} <= p.keys(), p
    return parsed


@pytest.mark.parametrize("journal_stream", [None, "1:1"])
def test_logs_are_json_lines_without_journald(tmp_path, journal_stream):
    """Without $JOURNAL_STREAM, or with one naming another file than stderr, every line on stderr
    is a JSON object (ECS field names)."""
    env = {k: v for k, v in os.environ.items() if k not in NOTIFY_ENV}
    if journal_stream:
        env["JOURNAL_STREAM"] = journal_stream
    ctl = Controller(tmp_path / "controller", env=env)
    with ctl:
        pass
    lines = json_lines(ctl.log())
    assert any(l["message"].startswith("serving the API on") for l in lines), lines
    assert {l["service.name"] for l in lines} == {"sluice-controller"}


def test_logs_go_to_journald_when_journal_stream_names_stderr(tmp_path):
    """$JOURNAL_STREAM holding stderr's device:inode (what systemd sets) sends the log to journald:
    nothing is written to stderr, while the controller serves normally."""
    ctl = Controller(tmp_path / "controller")
    ctl.log_path.touch()
    st = os.stat(ctl.log_path)
    env = {k: v for k, v in os.environ.items() if k not in NOTIFY_ENV}
    env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    ctl.env = env
    with ctl:
        assert ctl.request("GET", "/api/v1/nodes").status_code == 200
    assert ctl.proc.returncode == 0
    assert ctl.log() == "", ctl.log()


# --- backup and restore, as docs/OPERATIONS.md does them ---

SECRET_FILES = ("ca.key", "ca.pem", "server.key", "server.pem", "admin.key")


def test_backup_while_running_then_restore(tmp_path):
    """sqlite3 .backup of the live database (WAL) under concurrent admin writes, plus the key files;
    the copy passes integrity_check, and a controller started on it knows every write acknowledged
    before the backup began, the API keys, and the same CA (enrolled agents stay valid)."""
    sqlite = tool("sqlite3", "sqlite3")
    ctl = Controller(tmp_path / "controller").start()
    backup = tmp_path / "backup"
    backup.mkdir(mode=0o700)
    acked, stop = [], threading.Event()

    def writes():
        for i in range(500):  # under max_join_tokens (1000 valid at once)
            if stop.is_set():
                return
            r = ctl.request("POST", "/api/v1/join-tokens", json={"name": f"node-{i}", "zone": "private"})
            assert r.status_code == 201, r.text
            acked.append(f"node-{i}")

    try:
        dev_key = ctl.create_key("backup-dev", "developer")
        writer = threading.Thread(target=writes)
        writer.start()
        time.sleep(0.5)
        before = list(acked)
        r = subprocess.run([sqlite, "sluice.db", f".backup '{backup / 'sluice.db'}'"], cwd=ctl.data_dir,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and not r.stderr, r.stderr
        subprocess.run(["cp", "-p", *SECRET_FILES, str(backup)], cwd=ctl.data_dir, check=True)
        stop.set()
        writer.join(30)
        assert len(acked) > len(before), "no write ran during the backup"
    finally:
        stop.set()
        assert ctl.stop() == 0, ctl.log_tail()
    check = subprocess.run([sqlite, str(backup / "sluice.db"), "PRAGMA integrity_check"], capture_output=True,
                           text=True, timeout=60)
    assert check.stdout.strip() == "ok", check.stdout + check.stderr

    restored = Controller(tmp_path / "restored")
    shutil.copytree(backup, restored.data_dir)
    with restored:
        assert restored.ca_file.read_bytes() == ctl.ca_file.read_bytes()
        names = {t["name"] for t in restored.request("GET", "/api/v1/join-tokens").json()["data"]}
        assert set(before) <= names, sorted(set(before) - names)[:5]
        assert restored.request("GET", "/v1/models", key=dev_key).status_code == 200
    assert restored.proc.returncode == 0, restored.log_tail()


# --- docs/OPERATIONS.md ---

def config_reference(*args):
    return subprocess.run([sys.executable, str(CONFIG_REFERENCE), *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def test_operations_config_reference_matches_the_schemas():
    r = config_reference("--check", OPERATIONS)
    assert r.returncode == 0, r.stdout + r.stderr


def test_config_reference_check_fails_when_stale(tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    doc = tmp_path / "OPERATIONS.md"
    shutil.copy(OPERATIONS, doc)
    assert config_reference("--schemas", schemas, "--check", doc).returncode == 0

    # a default changed in the schema
    path = schemas / "controller.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["heartbeat_interval_ms"]["default"] = 2500
    path.write_text(json.dumps(schema))
    r = config_reference("--schemas", schemas, "--check", doc)
    assert r.returncode == 1 and "+| `heartbeat_interval_ms` | integer, 100–600000 | `2500` |" in r.stderr, r.stderr

    # regenerated, then a key added without a description: refused, naming it
    assert config_reference("--schemas", schemas, "--write", doc).returncode == 0
    assert config_reference("--schemas", schemas, "--check", doc).returncode == 0
    schema["properties"]["new_limit"] = {"type": "integer", "default": 1}
    path.write_text(json.dumps(schema))
    r = config_reference("--schemas", schemas, "--check", doc)
    assert r.returncode == 2 and "new_limit has no \"description\"" in r.stderr, r.stderr


def test_operations_config_examples_are_valid(tmp_path):
    """The config files OPERATIONS.md tells an operator to write pass `sluice config check`."""
    examples = re.findall(r"tee /etc/sluice/(\w+)\.json >/dev/null <<'EOF'\n(.*?)\nEOF\n", OPERATIONS.read_text(), re.S)
    assert sorted(name for name, _ in examples) == ["agent", "controller"], examples
    for name, text in examples:
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        r = subprocess.run([str(binary("cli/sluice")), "config", "check", "--schema", f"config/{name}", str(path)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr


def test_config_reference_lists_every_key_and_default():
    """Independent of the generator's code: every key of every config schema is a row of the
    document, with its default (or "required" / "unset")."""
    doc = OPERATIONS.read_text()
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        for key, prop in schema["properties"].items():
            rows = [l for l in doc.splitlines() if l.startswith(f"| `{key}` |")]
            if key in schema.get("required", []):
                want = "required"
            elif "default" in prop:
                want = "`%s`" % json.dumps(prop["default"], ensure_ascii=False).replace("|", "\\|")
            else:
                want = "unset"
            assert any(f"| {want} |" in row for row in rows), f"{path.name}: {key} (default {want}) not in {rows}"
