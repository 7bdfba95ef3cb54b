"""Smoke test of the load benchmark: `bench/load.py --quick` against the embedded default.

It must run to its end by itself and find nothing lost or duplicated (exit status 0); the
numbers themselves are the benchmark's business (docs/performance.md), not this test's."""

from __future__ import annotations

import subprocess
import sys

from tests.support.servers import ROOT, test_environment


def test_quick_load_run_against_the_embedded_default_loses_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "bench/load.py", "--quick", "--only", "embedded"],
        cwd=ROOT,
        env=test_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| embedded (make run) | 5 |" in result.stdout
    assert "lost 0, duplicated 0, bot answers lost 0" in result.stdout
