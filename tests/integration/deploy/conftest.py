"""The deploying shell and work folder of the `courier deploy scf` tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.deploy.scf_run import make_workdir, set_deploy_env


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return make_workdir(tmp_path)


@pytest.fixture
def deploy_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return set_deploy_env(sandbox, monkeypatch)
