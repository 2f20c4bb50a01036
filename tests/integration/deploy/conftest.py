"""The deploying shell and work folder of the `courier deploy scf` tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy.package import BuildResult, build
from tests.integration.deploy.scf_run import make_workdir, set_deploy_env


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return make_workdir(tmp_path)


@pytest.fixture
def deploy_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return set_deploy_env(sandbox, monkeypatch)


@pytest.fixture(scope="session")
def package_builds(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., BuildResult]:
    """``build(target, **options)``, each distinct build made once per test session: building
    a package (pip for the runtime, byte-compiling) is most of these tests' time."""
    root = tmp_path_factory.mktemp("builds")
    made: dict[tuple[str, str], BuildResult] = {}

    def get(target: str, **options: Any) -> BuildResult:
        key = (target, repr(sorted(options.items())))
        if key not in made:
            made[key] = build(target, root / f"build-{len(made)}", **options)
        return made[key]

    return get
