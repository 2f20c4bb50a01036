"""The cloud permissions Courier needs, read from the code, against the shipped policy files.

Three policies, for three principals:

- ``deploy/tencent/cam-policy.json`` — the CAM role the SCF functions run as (runtime): the
  provider APIs (CLS, DLC, MongoDB, TCSS), ``scf:InvokeFunction`` on the complete function, COS
  on the destination prefix, and the SSM (Secrets Manager) reads of secret references.
- ``deploy/tencent/cam-deploy-policy.json`` — the CAM user (or CI role) that runs
  ``courier deploy scf``: the SCF management actions, ``cam:PassRole`` for the functions' role,
  and COS on the package-upload prefix.
- ``deploy/alibaba/ram-policy.json`` — the RAM user or role behind ``ALIBABA_CLOUD_*``: the
  DMS ticket actions, and OSS on the destination prefix of an ``oss://`` destination.

Actions are derived by reading the modules that make the calls (as the AWS role is held to
the code in tests/unit/deploy): every literal ``api.call("Action", …)`` of a provider, the SDK
methods called on the SCF and COS clients, mapped to CAM action names where they differ. A
call the scan cannot read (a non-literal action) is an error, not a silent gap.

``python deploy/policies.py`` prints the differences (none: exit 0).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CAM_RUNTIME = ROOT / "deploy" / "tencent" / "cam-policy.json"
CAM_DEPLOY = ROOT / "deploy" / "tencent" / "cam-deploy-policy.json"
RAM_DMS = ROOT / "deploy" / "alibaba" / "ram-policy.json"

# provider -> the modules whose api.call(...) reach its service (the first one holds the
# provider's class, which names both: ``name = provider`` and ``service = service``)
TENCENT_PROVIDERS = {
    "cls": ("shared/providers/cls.py",),
    "dlc": ("shared/providers/dlc.py", "shared/providers/dlc_lookup.py"),
    "mongodb": ("shared/providers/mongodb.py",),
    "tcss": ("shared/providers/tcss.py",),
}
# The one call whose action is data: TCSS creates with the export-job action the request
# names, one of tcss.ACTIONS (every Create*ExportJob the SDK offers).
DYNAMIC_CALLS = {"shared/providers/tcss.py": 'self.api.call(task.params["Action"]'}

# SCF API name -> CAM action name, where they differ (CAM: "scf:InvokeFunction" for Invoke)
SCF_CAM_NAMES = {"Invoke": "InvokeFunction"}

# cos-python-sdk-v5 methods -> the COS CAM actions they need (COS docs "COS API authorization
# policy guide", 436/31923; PUT Object - Copy is cos:PutObjectCopy on the target and
# cos:GetObject on the source, 436/10881; Upload Part - Copy needs cos:PutObject and the
# source's cos:GetObject, 436/8287; a presigned GET is a GetObject made by whoever holds it)
COS_CAM_FOR_CALL = {
    "head_object": {"HeadObject"}, "get_object": {"GetObject"}, "put_object": {"PutObject"},
    "create_multipart_upload": {"InitiateMultipartUpload"}, "upload_part": {"UploadPart"},
    "complete_multipart_upload": {"CompleteMultipartUpload"},
    "abort_multipart_upload": {"AbortMultipartUpload"},
    "copy_object": {"PutObjectCopy", "GetObject"}, "upload_part_copy": {"PutObject", "GetObject"},
    "get_object_tagging": {"GetObjectTagging"}, "put_object_tagging": {"PutObjectTagging"},
    "delete_object_tagging": {"DeleteObjectTagging"},
    "get_presigned_download_url": {"GetObject"},
    "delete_object": {"DeleteObject"},  # a completed object whose CRC-64 is not what was sent
    # upload_file: a simple PUT below the part size; above it, a resumable multipart upload
    # that first looks for an unfinished one of the same key and its parts
    "upload_file": {"PutObject", "InitiateMultipartUpload", "UploadPart",
                    "CompleteMultipartUpload", "ListMultipartUploads", "ListParts"},
}

# alibabacloud-oss-v2 methods -> the RAM actions they need (each OSS API page's "Permissions"
# table: HeadObject and a presigned GET are oss:GetObject; InitiateMultipartUpload, UploadPart
# and CompleteMultipartUpload oss:PutObject; CopyObject and UploadPartCopy oss:GetObject on
# the source and oss:PutObject on the target)
OSS_RAM_FOR_CALL = {
    "head_object": {"GetObject"}, "get_object": {"GetObject"}, "presign": {"GetObject"},
    "put_object": {"PutObject"}, "initiate_multipart_upload": {"PutObject"},
    "upload_part": {"PutObject"}, "complete_multipart_upload": {"PutObject"},
    "abort_multipart_upload": {"AbortMultipartUpload"},
    "copy_object": {"GetObject", "PutObject"}, "upload_part_copy": {"GetObject", "PutObject"},
    "get_object_tagging": {"GetObjectTagging"}, "put_object_tagging": {"PutObjectTagging"},
    "delete_object_tagging": {"DeleteObjectTagging"},
    "delete_object": {"DeleteObject"},  # the probe's object, raw copies, a damaged write
}
OSS_STORE = "shared/storage/oss.py"

# Secret references: shared/secret_stores/tencent.py reads Tencent Cloud Secrets Manager
# with the SSM SDK's client (its ROLE_ACTIONS table says the same, and must agree with the calls)
STORES_MODULE = "shared/secret_stores/tencent.py"


class PolicyError(Exception):
    """The code makes a call the scan cannot name."""


def _source(*paths: str) -> str:
    return "\n".join((ROOT / p).read_text(encoding="utf-8") for p in paths)


def provider_actions(provider: str) -> set[str]:
    """``service:Action`` for every API call of one Tencent provider."""
    paths = TENCENT_PROVIDERS[provider]
    first = _source(paths[0])
    built = re.search(r'^    name = "([a-z]+)"\n    service = "([a-z]+)"$', first, re.M)
    if not built or built.group(1) != provider:
        raise PolicyError(f"{paths[0]}: no provider class with name = {provider!r} and its "
                          "service")
    service = built.group(2)
    actions: set[str] = set()
    for path in paths:
        text = _source(path)
        literal = re.findall(r'api\.call\(\s*"([A-Z][A-Za-z0-9]+)"', text)
        # the provider's credentials check (``courier doctor``), made through api.call
        actions |= set(re.findall(r'^    access_check = \("([A-Z][A-Za-z0-9]+)"', text, re.M))
        every = len(re.findall(r"api\.call\(", text))
        dynamic = text.count(DYNAMIC_CALLS[path]) if path in DYNAMIC_CALLS else 0
        if every != len(literal) + dynamic:
            raise PolicyError(f"{path}: {every - len(literal) - dynamic} api.call(…) with an "
                              "action the scan cannot read")
        actions |= set(literal)
        if dynamic:
            from shared.providers.tcss import ACTIONS

            actions |= set(ACTIONS)
    return {f"{service}:{a}" for a in actions}


def _client_calls(paths: Iterable[str], pattern: str) -> set[str]:
    return set(re.findall(pattern, _source(*paths)))


def cos_actions(paths: Iterable[str]) -> set[str]:
    calls = _client_calls(paths, r"client\.([a-z_]+)\(")
    calls |= _client_calls(paths, r"self\.client\.([a-z_]+),")  # passed to _call(...)
    unknown = calls - set(COS_CAM_FOR_CALL)
    if unknown:
        raise PolicyError(f"COS calls with no CAM action mapped: {sorted(unknown)}")
    return {f"cos:{a}" for c in calls for a in COS_CAM_FOR_CALL[c]}


def secrets_actions() -> set[str]:
    """``ssm:…`` for the Tencent Secrets Manager calls of secret references."""
    from shared.secret_stores import ROLE_ACTIONS

    called = {f"ssm:{a}" for a in _client_calls([STORES_MODULE],
                                                r"client\.([A-Z][A-Za-z]+)\(")}
    declared = set(ROLE_ACTIONS["tencent-ssm"])
    if called != declared:
        raise PolicyError(f"{STORES_MODULE}: calls {sorted(called)} but ROLE_ACTIONS "
                          f"says {sorted(declared)}")
    return called


def tencent_runtime_actions() -> set[str]:
    actions: set[str] = set()
    for provider in TENCENT_PROVIDERS:
        actions |= provider_actions(provider)
    scf = _client_calls(["shared/runtime/dispatch.py"], r"self\.client\.([A-Z][A-Za-z]+)\(")
    actions |= {f"scf:{SCF_CAM_NAMES.get(a, a)}" for a in scf}
    actions |= cos_actions(["shared/storage/cos.py", "shared/storage/s3like.py"])
    return actions | secrets_actions()


def tencent_deploy_actions() -> set[str]:
    text = _source("deploy/scf_deploy.py")
    scf = set(re.findall(r'(?:_write|_call|self\.call)\(\s*"([A-Z][A-Za-z]+)"', text))
    actions = {f"scf:{a}" for a in scf}
    # setting Role on a function hands the role to SCF (CAM's PassRole)
    if "request[\"Role\"]" in text:
        actions.add("cam:PassRole")
    return actions | cos_actions(["deploy/scf_code.py"])


def dms_actions() -> set[str]:
    from shared.providers.alibaba import ACTIONS

    source = _source("shared/providers/dms.py")
    called = set(re.findall(r'api\.call\(\s*"([A-Z][A-Za-z]+)"', source))
    return {f"dms:{a}" for a in called | set(ACTIONS)}


def oss_actions(paths: Iterable[str] = (OSS_STORE,)) -> set[str]:
    """``oss:…`` for the OSS client calls of the oss:// destination store."""
    calls = _client_calls(paths, r"client\.([a-z_]+)\(")
    calls |= _client_calls(paths, r"self\.client\.([a-z_]+),")  # passed to _call(...)
    calls |= _client_calls(paths, r'_sdk\([^,]+,\s*"([a-z_]+)"')  # by name through _sdk(...)
    unknown = calls - set(OSS_RAM_FOR_CALL)
    if unknown:
        raise PolicyError(f"OSS calls with no RAM action mapped: {sorted(unknown)}")
    return {f"oss:{a}" for c in calls for a in OSS_RAM_FOR_CALL[c]}


def alibaba_actions() -> set[str]:
    """Everything the Alibaba Cloud keys are used for: DMS tickets, OSS destinations."""
    return dms_actions() | oss_actions()


@dataclass(frozen=True)
class Grammar:
    """The key names of a vendor's policy language."""

    version_key: str
    version: str
    statement: str
    effect: str
    allow: str
    action: str
    resource: str


CAM = Grammar("version", "2.0", "statement", "effect", "allow", "action", "resource")
RAM = Grammar("Version", "1", "Statement", "Effect", "Allow", "Action", "Resource")
ACTION_RE = re.compile(r"[a-z]+:[A-Z][A-Za-z0-9]+")


def policy_actions(doc: Any, grammar: Grammar) -> tuple[set[str], list[str]]:
    """The allowed actions of a policy document, and what is wrong with its form."""
    problems: list[str] = []
    if not isinstance(doc, dict) or doc.get(grammar.version_key) != grammar.version:
        problems.append(f"{grammar.version_key} must be {grammar.version!r}")
        doc = doc if isinstance(doc, dict) else {}
    statements = doc.get(grammar.statement)
    if not isinstance(statements, list) or not statements:
        return set(), [*problems, f"{grammar.statement} must be a non-empty list"]
    actions: set[str] = set()
    for i, st in enumerate(statements):
        where = f"{grammar.statement}[{i}]"
        if not isinstance(st, dict):
            problems.append(f"{where} is not an object")
            continue
        if st.get(grammar.effect) != grammar.allow:
            problems.append(f"{where}.{grammar.effect} must be {grammar.allow!r}")
        listed = st.get(grammar.action)
        listed = [listed] if isinstance(listed, str) else listed
        if not isinstance(listed, list) or not listed:
            problems.append(f"{where}.{grammar.action} must list actions")
            continue
        for action in listed:
            if not isinstance(action, str) or not ACTION_RE.fullmatch(action):
                problems.append(f"{where}: {action!r} is not one service:Action (no wildcards)")
            else:
                actions.add(action)
        resource = st.get(grammar.resource)
        if not resource or not isinstance(resource, (str, list)):
            problems.append(f"{where}.{grammar.resource} is missing")
    return actions, problems


def compare(path: Path, grammar: Grammar, called: set[str]) -> list[str]:
    """Every difference between a policy file and the actions the code calls."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{path.name}: cannot read it: {exc}"]
    listed, problems = policy_actions(doc, grammar)
    out = [f"{path.name}: {p}" for p in problems]
    out += [f"{path.name}: misses {a} (called by the code)" for a in sorted(called - listed)]
    out += [f"{path.name}: lists {a}, which the code never calls" for a in sorted(listed - called)]
    return out


def check_all() -> list[str]:
    return (compare(CAM_RUNTIME, CAM, tencent_runtime_actions())
            + compare(CAM_DEPLOY, CAM, tencent_deploy_actions())
            + compare(RAM_DMS, RAM, alibaba_actions()))


if __name__ == "__main__":
    found = check_all()
    for line in found:
        print(line)
    print("policies: " + ("agree with the code" if not found else f"{len(found)} problem(s)"))
    sys.exit(1 if found else 0)
