"""Issue 38: importing inkreader makes torch's OpenMP threads sleep rather than spin while they
wait (OMP_WAIT_POLICY=PASSIVE, so training and reading share a busy machine well), unless the
user chose a policy. Checked in fresh processes with libgomp's own report of its settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

IMPORT_THEN_TORCH = "import inkreader, os, torch; print(os.environ['OMP_WAIT_POLICY'])"


def _openmp_settings(env_policy: str | None) -> tuple[str, str]:
    """(the policy in the environment after the imports, libgomp's report at start-up)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"  # libgomp prints its settings when it starts
    if env_policy is not None:
        env["OMP_WAIT_POLICY"] = env_policy
    proc = subprocess.run([sys.executable, "-c", IMPORT_THEN_TORCH], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return proc.stdout.strip(), proc.stderr


@pytest.mark.parametrize(("given", "policy", "spins"), [
    (None, "PASSIVE", "GOMP_SPINCOUNT = '0'"),  # the default: threads sleep at once
    ("ACTIVE", "ACTIVE", "OMP_WAIT_POLICY = 'ACTIVE'"),  # the user's choice is kept
])
def test_torch_openmp_gets_the_wait_policy(given, policy, spins):
    seen, report = _openmp_settings(given)
    assert seen == policy
    assert spins in report, report
