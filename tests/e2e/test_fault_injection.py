"""The fault-injection script (tests/e2e/fault_injection.py), small: it must end with 0 posted twice, 0 never posted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT


@pytest.mark.subprocess
@pytest.mark.slow
def test_faults_around_imports_full_disks_and_stops_lose_no_paper_and_post_none_twice():
    result = subprocess.run(
        [
            sys.executable,
            "tests/e2e/fault_injection.py",
            "--kills",
            "2",
            "--snapshot-papers",
            "3000",
            "--minutes",
            "12",
            "--seed",
            "5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    table = dict(line.rsplit(None, 1) for line in result.stdout.splitlines()[-4:])
    assert table["posted twice"] == "0" and table["never posted"] == "0"
    assert int(table["papers posted"]) == int(table["papers imported into the digest topic"]) > 0
    if "tmpfs" in result.stdout:  # as root: the disk really fills between a digest's claim and its record
        assert "1 posted but not recorded, 1 recorded later" in result.stdout
    assert "SIGTERM while the fake held the digest POST, answered after the stop began  exit 0" in result.stdout
