"""What each handler loads at cold start: the HTTP door (Powertools' event handler, about half
of a cold import) only in create, the one function that serves HTTP."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deploy.package import ROOT

HTTP_MODULES = ("shared.http.app", "aws_lambda_powertools.event_handler")


@pytest.mark.parametrize("module, loads_http", [
    ("functions.create_export", True),
    ("functions.poll_tasks", False),
    ("functions.complete_export", False),
])
def test_only_create_loads_the_http_door(module: str, loads_http: bool) -> None:
    code = (f"import sys, {module}; "
            f"print(','.join(m for m in {HTTP_MODULES!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,  # noqa: S603
                          text=True, timeout=60, check=True)
    loaded = set(filter(None, done.stdout.strip().split(",")))
    assert loaded == (set(HTTP_MODULES) if loads_http else set()), loaded
