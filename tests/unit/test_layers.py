"""The house's layers hold: import-linter's contracts (pyproject.toml, run by ``make lint``)
refuse the upward imports the ground floor was cut free of, and every vendor SDK client is
built by the cloud factories in ``shared/clouds/``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("shared", "functions", "sandbox", "courier")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--config", str(tree / "pyproject.toml"),
                           "--no-cache"], cwd=tree, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and the contracts, to break on purpose."""
    assert LINT.exists(), "import-linter is a dev dependency: pip install -e '.[dev]'"
    copy = tmp_path_factory.mktemp("layers")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, copy / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_tree_keeps_every_contract(tree: Path) -> None:
    run = _lint(tree)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


# (module that gains the import, the import, the contract that must refuse it): the upward
# imports the ground floor had before it was cut free, one per rule
UPWARD = [
    ("shared/config.py", "from shared.secret_stores.resolve import SecretStores",
     "shared: boot"),
    ("shared/redact.py", "from shared.config import Settings", "shared: boot"),
    ("shared/errors.py", "from shared.config import Settings", "shared: boot"),
    ("shared/secret_stores/tencent.py", "from shared.providers.tencent import TencentApi",
     "secret stores import only"),
    ("shared/config.py", "from shared.webhooks.delivery import Deliverer", "shared: boot"),
    ("shared/providers/api.py", "from shared.state.budget import SharedBudget",
     "providers import neither"),
    ("shared/providers/base.py", "from shared.storage.base import ObjectStore",
     "providers import neither"),
    ("functions/common.py", "from shared.config import Settings", "handlers import only"),
    ("shared/model.py", "from sandbox.clock import SandboxClock", "sandbox and shared"),
]


@pytest.mark.parametrize(("module", "line", "contract"), UPWARD,
                         ids=[f"{m}:{line.split()[1]}" for m, line, _ in UPWARD])
def test_an_upward_import_breaks_the_lint(tree: Path, module: str, line: str,
                                          contract: str) -> None:
    path = tree / module
    before = path.read_text(encoding="utf-8")
    try:
        path.write_text(before + f"\n{line}  # noqa\n", encoding="utf-8")
        run = _lint(tree)
    finally:
        path.write_text(before, encoding="utf-8")
    assert run.returncode == 1, run.stdout
    broken = [block for block in run.stdout.split("\n\n") if "BROKEN" in block]
    assert any(contract in block for block in broken), run.stdout
    source = module.removesuffix(".py").replace("/", ".")
    target = line.split()[1]
    assert re.search(rf"{re.escape(source)}\S* -> {re.escape(target)}", run.stdout), run.stdout


# Constructors of vendor SDK clients: built only in shared/clouds/ (credentials, endpoints,
# the quiet transport in one place). The demo's moto seeding plays AWS, not Courier.
CONSTRUCTORS = re.compile(r"\b(?:ClientProfile|HttpProfile|Credential|CosConfig|CosS3Client|"
                          r"(?:Cls|Dlc|Mongodb|Tcss|Scf|Ssm|Sts|Cam)Client|Client)\(|"
                          r"boto3\.(?:client|resource|Session)\(|open_api_models\.Config\(")
PLAYS_THE_CLOUD = {"courier/demo_aws.py"}


def test_vendor_clients_are_built_only_by_the_cloud_factories() -> None:
    found = []
    for top in ("shared", "functions", "courier", "deploy"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("shared/clouds/") or rel in PLAYS_THE_CLOUD:
                continue
            if any(p.startswith(".") or p == "node_modules" for p in path.relative_to(ROOT).parts):
                continue  # tools the deploy tests install (deploy/.tools/node_modules/…)
            for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = text.split("#", 1)[0]
                if CONSTRUCTORS.search(code) and not code.lstrip().startswith("class "):
                    found.append(f"{rel}:{n}: {text.strip()}")
    assert found == [], "build vendor clients in shared/clouds/:\n" + "\n".join(found)


def test_every_module_of_shared_has_a_layer() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if c["id"] == "layers")
    named = {m.strip() for layer in contract["layers"] for m in re.split(r"[:|]", layer)}
    tops = {f"shared.{p.stem}" for p in (ROOT / "shared").glob("*.py") if p.stem != "__init__"}
    tops |= {f"shared.{p.name}" for p in (ROOT / "shared").iterdir()
             if (p / "__init__.py").exists()}
    assert sorted(tops - named) == [], "give each module of shared/ its layer in pyproject.toml"
