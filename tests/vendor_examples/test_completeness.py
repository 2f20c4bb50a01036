"""Every published example in the folder has an expectation in some module of this
package, and every expectation names an example that exists."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from tests.vendor_examples.support import examples_dir

PACKAGE = "tests.vendor_examples"


def expectations() -> dict[str, str]:
    """Example file name -> the module that expects it, over every module of the package."""
    found: dict[str, str] = {}
    here = Path(__file__).resolve().parent
    for info in pkgutil.iter_modules([str(here)]):
        if info.name in ("conftest", "support", "test_completeness"):
            continue
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        for name in getattr(module, "EXAMPLES", {}):
            found.setdefault(name, info.name)
    return found


def test_every_example_has_an_expectation_and_every_expectation_an_example() -> None:
    files = {p.name for p in examples_dir().glob("*.json")}
    expected = expectations()
    missing = sorted(files - expected.keys())
    unknown = sorted(f"{name} (in {expected[name]})" for name in expected.keys() - files)
    problems = [f"no expectation for {name}" for name in missing]
    problems += [f"an expectation names no example file: {name}" for name in unknown]
    assert not problems, "\n".join(problems)
