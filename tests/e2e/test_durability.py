"""test_durability.py: acknowledged admin writes survive `kill -9` of sluice-controller.

Runs scripts/kill9-soak (200 kill -9 cycles of the real controller under 4 concurrent admin
writers creating and revoking API keys, creating join tokens, creating and stopping deployments;
every acknowledged write checked after every restart, with PRAGMA integrity_check and the audit
chain) on a data directory under the build directory, and shows that its checks fail when
the database is damaged: a fault planted offline between a kill and the restart must be named.
The full 1000-cycle run is in docs/DURABILITY.md.

Run: SLUICE_BUILD_DIR=build /usr/bin/python3 -m pytest -q tests/e2e/test_durability.py
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SOURCE_ROOT, binary, build_dir  # noqa: E402

SOAK = SOURCE_ROOT / "scripts" / "kill9-soak"


def soak(data_dir, *args, timeout=120):
    """Runs kill9-soak on data_dir (emptied first) with the build directory's controller."""
    binary("controller/sluice-controller")  # fails the test when it is not built
    shutil.rmtree(data_dir, ignore_errors=True)
    return subprocess.run([sys.executable, str(SOAK), "--build-dir", str(build_dir()), "--data-dir", str(data_dir),
                           *map(str, args)], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def test_200_kill9_cycles_lose_no_acknowledged_write():
    data_dir = build_dir() / "test-durability" / "soak"
    r = soak(data_dir, "--cycles", 200, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    summary = r.stdout.strip().splitlines()[-1]
    m = re.search(r"passed: 200 kill -9 cycles in \d+ s .*?, (\d+) acknowledged writes all present "
                  r"\((\d+) key, (\d+) revoke, (\d+) token, (\d+) deployment, (\d+) undeploy\)", summary)
    assert m, summary
    total, *kinds = map(int, m.groups())
    assert total >= 200 and all(k > 0 for k in kinds), f"too few writes of some kind to prove much: {summary}"
    assert len(re.findall(r"^cycle \d+/200: .* checks ok", r.stdout, re.M)) == 200, r.stdout[-3000:]
    assert not data_dir.exists(), "a passing run removes its directory"


# Each fault is planted offline after the kill of cycle 3 or later (the first one with a write of
# the kind wanted), in the oldest acknowledged write of its kind, usually from cycle 1: so the
# checks of a cycle are shown to cover the writes of all earlier cycles, not only its own.
FAULTS = {
    "drop-key": r"the database lacks the API key (\w+) \(soak-[\d-]+\), acknowledged in cycle \d+",
    "unrevoke": r"the database lacks the revocation of API key (\w+), acknowledged in cycle \d+",
    "drop-token": r"the database lacks the join token (\w+) \(soak-[\d-]+\), acknowledged in cycle \d+",
    "drop-deployment": r"the database lacks the deployment ([\w-]+), acknowledged in cycle \d+",
    "unstop": r"the database lacks the stop of deployment ([\w-]+), acknowledged in cycle \d+",
    "edit-audit": r"audit chain: audit row \d+: hash mismatch \(row edited\)",
    # a damaged page: integrity_check names it, or cannot run through it
    "corrupt-index": r"PRAGMA integrity_check: (?:\*\*\* in database main \*\*\* .*page (\d+)|database disk "
                     r"image is malformed)",
}


@pytest.mark.parametrize("fault", FAULTS)
def test_the_checks_catch_a_planted_fault(fault):
    data_dir = build_dir() / "test-durability" / fault
    r = soak(data_dir, "--cycles", 10, "--seed", 5, "--pause", 0.01, "--plant-fault", fault, "--plant-cycle", 3)
    assert r.returncode == 1, f"status {r.returncode}, expected 1 (a violation):\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
    planted = re.search(r"planted a fault after the kill of cycle (\d+): (.*)", r.stdout)
    assert planted, r.stdout[-3000:]
    failed = re.search(r"kill9-soak: FAILED in cycle (\d+) \(.*?\): (.*)", r.stderr)
    assert failed, r.stderr[-3000:]
    assert failed.group(1) == planted.group(1), "the fault is found at the first restart after it was planted"
    m = re.search(FAULTS[fault], failed.group(2))
    assert m, f"the failure does not name the fault:\n  planted: {planted.group(2)}\n  failure: {failed.group(2)}"
    if m.lastindex:  # the failure names the very row or page that was damaged
        assert m.group(1) in planted.group(2), (planted.group(2), failed.group(2))
    shutil.rmtree(data_dir)


def test_refuses_tmpfs():
    shm = "/dev/shm"
    fs = subprocess.run(["stat", "-f", "-c", "%T", shm], capture_output=True, text=True).stdout.strip()
    if fs != "tmpfs":
        pytest.skip(f"{shm} is not tmpfs here ({fs or 'absent'})")
    r = soak(f"{shm}/kill9-soak-test-{os.getpid()}", "--cycles", 1)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "is on tmpfs: the kill -9 test needs a real filesystem" in r.stderr, r.stderr
    assert not os.path.exists(f"{shm}/kill9-soak-test-{os.getpid()}")


def test_refuses_a_directory_it_did_not_make():
    other = build_dir() / "test-durability" / "not-the-soaks"
    shutil.rmtree(other, ignore_errors=True)
    other.mkdir(parents=True)
    (other / "precious").write_text("not the soak's\n")
    r = subprocess.run([sys.executable, str(SOAK), "--build-dir", str(build_dir()), "--data-dir", str(other),
                        "--cycles", "1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "is not empty and was not made by kill9-soak" in r.stderr, r.stderr
    assert (other / "precious").read_text() == "not the soak's\n"
    shutil.rmtree(other)
