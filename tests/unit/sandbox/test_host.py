"""The sandbox's services depend on the Host protocol, never on the core that builds them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sandbox.core import Sandbox
from sandbox.host import Host

SANDBOX = Path(__file__).resolve().parents[3] / "sandbox"
# the modules that build the sandbox (and so may import its services)
BUILDERS = {"core.py", "__init__.py", "cli.py", "__main__.py"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", sorted(p.name for p in SANDBOX.glob("*.py")
                                          if p.name not in BUILDERS))
def test_no_service_imports_the_core(module: str) -> None:
    assert "sandbox.core" not in imported(SANDBOX / module), (
        f"sandbox/{module} imports sandbox.core; type against sandbox.host.Host instead")


def test_the_sandbox_is_a_host() -> None:
    sb = Sandbox()
    assert isinstance(sb, Host)
    sb.count("cls", "DescribeExports")
    sb.served("token-1", 10)
    assert sb.calls[("cls", "DescribeExports")] == 1
    assert sb.bytes_served["token-1"] == 10
    assert sb.secret_for(sb.secret_id) == sb.secret_key
    assert sb.secret_for("AKIDnobody") is None
    assert sb.role_token(sb.secret_id) == (None, True)
