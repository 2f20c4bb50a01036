"""The fault-injection run (``bench/chaos``) is a harness of its own, not a test: importing any
of its modules loads neither pytest nor the test package (it finds its servers through
``sandbox.servers``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deploy.package import ROOT

CHAOS_MODULES = ("bench.chaos.world", "bench.chaos.fleet", "bench.chaos.run",
                 "bench.chaos.worker", "bench.chaos.__main__")


@pytest.mark.parametrize("module", CHAOS_MODULES)
def test_the_chaos_harness_imports_no_test_code(module: str) -> None:
    code = (f"import sys, {module}; "
            "print(','.join(sorted({m.split('.')[0] for m in sys.modules} "
            "& {'pytest', '_pytest', 'tests'})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,  # noqa: S603
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "", f"{module} loads {done.stdout.strip()}"
