"""agent_harness.py: running build/agent/sluice-agent in end-to-end tests: a config file in a work
directory, its log (JSON lines on stderr) in a file, waiting for log lines, and checking frames
against schemas/agent-protocol/ with python-jsonschema.

    from agent_harness import Agent, validate_frame

    agent = Agent(tmp_path / "agent", {"controller_url": ..., ...}).start()
    agent.wait_for("welcomed by the controller")
    assert agent.stop() == 0
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import jsonschema

from harness import SOURCE_ROOT, binary

SCHEMA_DIR = SOURCE_ROOT / "schemas" / "agent-protocol"
_validators = {}


def validate_frame(frame):
    """Checks a frame (dict) against the schema of its type; raises jsonschema.ValidationError."""
    t = frame.get("type")
    path = SCHEMA_DIR / f"{t}.schema.json"
    assert path.exists(), f"no schema for frame type {t!r}"
    if t not in _validators:
        schema = json.loads(path.read_text())
        _validators[t] = jsonschema.Draft202012Validator(schema)
    _validators[t].validate(frame)


class Agent:
    """A sluice-agent process with workdir/agent.json and workdir/agent.log."""

    def __init__(self, workdir, config, env=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "agent.json"
        self.log_path = self.workdir / "agent.log"
        self.config = dict(config)
        self.env = env
        self.proc = None

    def _cmd(self, *args):
        self.config_path.write_text(json.dumps(self.config, indent=2))
        return [str(binary("agent/sluice-agent")), "--config", str(self.config_path), *[str(a) for a in args]]

    def _env(self, extra):
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"):
            env.pop(k, None)
        env.update(self.env or {})
        env.update(extra or {})
        return env

    def start(self, *args, env=None):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self._cmd(*args), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self._env(env))
        return self

    def run(self, *args, timeout=60, env=None):
        """Runs to completion (e.g. --enroll-only); returns the CompletedProcess (text)."""
        return subprocess.run(self._cmd(*args), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, env=self._env(env))

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def lines(self):
        """The log's JSON lines, parsed (lines that are not JSON are skipped)."""
        out = []
        for line in self.log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def messages(self):
        return [l.get("message", "") for l in self.lines()]

    def count(self, text):
        return sum(text in m for m in self.messages())

    def wait_for(self, text, timeout=20, count=1):
        """Waits until count log messages contain text; fails with the log's end otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(text) >= count:
                return
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        status = self.proc.poll() if self.proc else None
        raise AssertionError(f"agent log has not {count} x {text!r} (exit status {status}):\n{self.tail()}")

    def tail(self, n=25):
        return "\n".join(self.log().splitlines()[-n:])

    def stop(self, timeout=15):
        """SIGTERM; returns the exit status (SIGKILL after timeout)."""
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

    def assert_no_bugs(self):
        """No frame the agent built failed its own schema check, and nothing was logged as a bug."""
        bugs = [m for m in self.messages() if "BUG" in m]
        assert not bugs, bugs
