"""deploy/tencent/cam-policy.json (the functions' role), cam-deploy-policy.json (who runs
`courier deploy scf`) and deploy/alibaba/ram-policy.json (DMS) allow exactly what the code
calls: an action the code calls and the policy misses fails, and so does one it lists but the
code never calls."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from deploy import policies
from deploy.descriptors import SAMPLE_DEPLOY_ENV, SCF_DESCRIPTOR
from deploy.policies import (
    CAM,
    CAM_DEPLOY,
    CAM_RUNTIME,
    RAM,
    RAM_DMS,
    PolicyError,
    compare,
    policy_actions,
)
from deploy.spec import load_yaml, scf_plan

# Calls the scan must find (so a pattern that stops matching fails here, not silently).
MUST_FIND = {
    "runtime": {"cls:CreateExport", "cls:DescribeExports", "cls:SearchLog", "dlc:CreateTasks",
                "dlc:DescribeResultDownload", "mongodb:DescribeLogDownloadTasks",
                "tcss:CreateHostExportJob", "tcss:DescribeExportJobResult",
                "scf:InvokeFunction", "cos:UploadPart", "cos:PutObjectTagging",
                "cos:GetObject", "ssm:GetSecretValue", "ssm:ListSecretVersionIds"},
    "deploy": {"scf:GetFunction", "scf:UpdateFunctionCode", "scf:CreateTrigger",
               "cam:PassRole", "cos:HeadObject", "cos:InitiateMultipartUpload"},
    "dms": {"dms:CreateDataExportOrder", "dms:ListOrders", "dms:GetDataExportDownloadURL",
            "oss:PutObject", "oss:GetObject", "oss:PutObjectTagging"},
}

DERIVED = {"runtime": policies.tencent_runtime_actions, "deploy": policies.tencent_deploy_actions,
           "dms": policies.alibaba_actions}
FILES = {"runtime": (CAM_RUNTIME, CAM), "deploy": (CAM_DEPLOY, CAM), "dms": (RAM_DMS, RAM)}


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


@pytest.mark.parametrize("name", sorted(FILES))
def test_policy_allows_exactly_what_the_code_calls(name: str) -> None:
    called = DERIVED[name]()
    assert MUST_FIND[name] <= called, MUST_FIND[name] - called
    path, grammar = FILES[name]
    assert compare(path, grammar, called) == []


def test_secret_references_are_allowed_to_the_functions_role() -> None:
    from shared.secret_stores import ROLE_ACTIONS

    # read from the SSM client calls of shared/secret_stores/tencent.py, which its table agrees with
    assert policies.secrets_actions() == set(ROLE_ACTIONS["tencent-ssm"])
    listed, _ = policy_actions(_load(CAM_RUNTIME), CAM)
    assert policies.secrets_actions() <= listed
    assert not policies.secrets_actions() & policies.tencent_deploy_actions()


def test_runtime_and_deploy_policies_are_separate() -> None:
    runtime, _ = policy_actions(_load(CAM_RUNTIME), CAM)
    deploy, _ = policy_actions(_load(CAM_DEPLOY), CAM)
    scf_admin = {a for a in deploy if a.startswith("scf:")}
    assert scf_admin and not scf_admin & runtime  # the functions cannot redeploy themselves
    assert "cam:PassRole" not in runtime


def test_resources_name_the_descriptors_functions() -> None:
    plan = scf_plan(load_yaml(SCF_DESCRIPTOR), dict(SAMPLE_DEPLOY_ENV))
    names = {key: fn.name for key, fn in plan.functions.items()}
    deploy_scf = next(st for st in _load(CAM_DEPLOY)["statement"]
                      if any(a.startswith("scf:") for a in st["action"]))
    assert sorted(r.rsplit("/", 1)[-1] for r in deploy_scf["resource"]) == sorted(names.values())
    invoke = next(st for st in _load(CAM_RUNTIME)["statement"]
                  if st["action"] == ["scf:InvokeFunction"])
    assert invoke["resource"].endswith(f"/function/{names['complete']}")
    cos = next(st for st in _load(CAM_RUNTIME)["statement"]
               if any(a.startswith("cos:") for a in st["action"]))
    assert cos["resource"].endswith("/PREFIX/*")  # the destination prefix, never the bucket


def _first_cos_statement(doc: dict[str, Any]) -> dict[str, Any]:
    st: dict[str, Any] = next(s for s in doc["statement"]
                              if any(a.startswith("cos:") for a in s["action"]))
    return st


BREAKAGES = {
    "missing": (lambda d: _first_cos_statement(d)["action"].remove("cos:UploadPart"),
                "misses cos:UploadPart"),
    "never-called": (lambda d: d["statement"][0]["action"].append("cls:DeleteTopic"),
                     "lists cls:DeleteTopic, which the code never calls"),
    "wildcard": (lambda d: d["statement"][0]["action"].append("cls:*"), "no wildcards"),
    "version": (lambda d: d.update(version="1.0"), "version must be '2.0'"),
    "deny": (lambda d: d["statement"][0].update(effect="deny"), "effect must be 'allow'"),
    "no-resource": (lambda d: d["statement"][0].pop("resource"), "resource is missing"),
}


@pytest.mark.parametrize("name", sorted(BREAKAGES), ids=sorted(BREAKAGES))
def test_the_check_catches(name: str, tmp_path: Path) -> None:
    mutate, expected = BREAKAGES[name]
    doc = copy.deepcopy(_load(CAM_RUNTIME))
    mutate(doc)
    broken = tmp_path / "cam-policy.json"
    broken.write_text(json.dumps(doc), encoding="utf-8")
    problems = compare(broken, CAM, policies.tencent_runtime_actions())
    assert any(expected in p for p in problems), problems


def test_ram_grammar_is_not_cams() -> None:
    doc = _load(RAM_DMS)
    assert policy_actions(doc, RAM)[1] == []
    statement = {k.lower(): v for k, v in doc["Statement"][0].items()}
    lowered = {"version": "1", "statement": [statement]}
    assert any("Version must be '1'" in p for p in policy_actions(lowered, RAM)[1])


def test_a_call_the_scan_cannot_read_stops_it(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    for rel in policies.TENCENT_PROVIDERS["cls"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(policies.ROOT / rel, root / rel)
    source = (root / "shared/providers/cls.py").read_text(encoding="utf-8")
    (root / "shared/providers/cls.py").write_text(
        source + "\n\ndef extra(self, name):\n    return self.api.call(name, {})\n",
        encoding="utf-8")
    monkeypatch.setattr(policies, "ROOT", root)
    with pytest.raises(PolicyError, match="cannot read"):
        policies.provider_actions("cls")
