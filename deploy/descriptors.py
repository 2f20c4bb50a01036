"""Read the deployment descriptors and say what is wrong with them.

``serverless.yml`` (Tencent SCF, component multi-scf) and ``deploy/aws/serverless.yml`` (AWS
Lambda, Serverless Framework v3) are checked against the code: handlers that exist, SCF crons
in one of the two documented syntaxes (:mod:`deploy.cron`), the function URL on create (no
retired API Gateway trigger), every API route reaching create on AWS, and every
environment variable ``shared/setting_names.py`` names either set or listed below as
deliberately optional (with the reason) or set by the platform itself.

    python deploy/descriptors.py          # prints the problems; exit 1 if there are any
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as ``python deploy/descriptors.py``
    sys.path.insert(0, str(ROOT))

from deploy.cron import cron_problems  # noqa: E402
from deploy.spec import (  # noqa: E402
    SCF_TRIGGER_TYPES,
    FunctionSpec,
    ScfTrigger,
    load_yaml,
    scf_functions,
    scf_triggers,
)

SCF_DESCRIPTOR = ROOT / "serverless.yml"
AWS_DESCRIPTOR = ROOT / "deploy" / "aws" / "serverless.yml"
AWS_ARTIFACT = "../../dist/lambda/courier.zip"  # relative to the descriptor's folder

# Read by the settings (shared/setting_names.py), deliberately unset in a production descriptor.
OPTIONAL_ENV = {
    "COURIER_KEY_TEMPLATE": "the default layout {provider}/{yyyy}/{mm}/{dd}/{export_id}/…",
    "COURIER_WEBHOOK_URLS": "default subscribers; each export can name its own",
    "COURIER_MAX_BODY_BYTES": "the 64 KiB default suits the API",
    "COURIER_ALLOW_PRIVATE_HOSTS": "production keeps the SSRF guard closed",
    "COURIER_PART_SIZE_MB": "the 8 MiB default",
    "COURIER_SCHEDULES": "only with scheduled exports",
    "COURIER_DESTINATIONS": "only with destinations besides COURIER_DESTINATION",
    "COURIER_WEBHOOK_ENDPOINTS": "default subscribers filtered by event or provider",
    "COURIER_CHAT_BOTS": "only with WeCom, DingTalk or Feishu/Lark bots as subscribers",
    "COURIER_OPERATOR_SUBSCRIBERS": "only to hear endpoint.disabled, delivery.dead_lettered, "
                                    "export.stuck and export.waiting reminders",
    "COURIER_STUCK_AFTER_S": "each provider's default time without progress (2 to 6 h)",
    "COURIER_WAITING_REMIND_AFTER_S": "the default: a waiting export is told again daily",
    "COURIER_WAITING_REMINDERS": "the default: at most 7 reminders per wait",
    "COURIER_ACCOUNTS": "only to export from more accounts or regions than the function's own",
    "COURIER_PUBLIC_URL": "only for status-page links in chat messages",
    "COURIER_LINK_TTL_S": "the one-hour default lifetime of the link in export.delivered",
    "COURIER_WEBHOOK_RETRY_S": "the default retry schedule (immediately … 10 h, 8 attempts)",
    "COURIER_WEBHOOK_DISABLE_AFTER_S": "the default: an endpoint failing for 5 days is disabled",
    "COURIER_TENCENT_ENDPOINT": "sandbox only: points every Tencent API at one host",
    "COURIER_TENCENT_SITE": "only for an international-site account (intl)",
    "COURIER_CLS_MAX_PARTS": "the default bound of 100 CLS exports per split window",
    "COURIER_DMS_ENDPOINT": "sandbox only",
    "COURIER_S3_ENDPOINT": "only for an S3-compatible server other than AWS",
    "COURIER_S3_REGION": "the function's own region is the default",
    "COURIER_COS_ENDPOINT": "only for a COS endpoint other than the region's (the sandbox)",
    "COURIER_OSS_ENDPOINT": "only for an OSS endpoint other than the region's (the sandbox)",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "only for the dms provider and oss:// destinations",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "only for the dms provider and oss:// destinations",
    "ALIBABA_CLOUD_SECURITY_TOKEN": "only with temporary Alibaba credentials",
    "ALIBABA_CLOUD_REGION_ID": "only for the dms provider and oss:// destinations (default "
                               "cn-hangzhou)",
    "TENCENTCLOUD_SESSIONTOKEN": "only with temporary Tencent credentials",
    "TENCENTCLOUD_APPID": "only for DLC results whose bucket is named without its APPID",
    "COURIER_CLOUDWATCH_BUCKET": "only for the cloudwatch provider (its staging bucket)",
    "COURIER_CLOUDWATCH_PREFIX": "the default staging prefix courier-staging",
    "COURIER_CLOUDWATCH_ENDPOINT": "sandbox only: another CloudWatch Logs endpoint",
    "COURIER_CLOUDWATCH_DELETE_STAGED": "on by default: staged objects go once delivered",
    "AWS_REGION": "Lambda sets it; elsewhere only for the cloudwatch provider",
    "COURIER_METRICS": "the default: EMF on Lambda, metric log lines on SCF",
    "COURIER_UNPACK": "off by default: archives land as the vendor ships them",
    "COURIER_DESTINATION_WRITE": "none by default: objects take the bucket's own defaults",
    "COURIER_UNPACK_KEEP_RAW": "on by default: an unpacked archive stays under raw/",
    "COURIER_UNPACK_MAX_MEMBER_MB": "the 4096 MB default bound of one unpacked member",
    "COURIER_UNPACK_MAX_TOTAL_MB": "the 16384 MB default bound of one archive, unpacked",
    "COURIER_UNPACK_MAX_RATIO": "the default: 200 unpacked bytes per archive byte at most",
    "COURIER_FORMAT": "gzip by default; parquet needs a package built --with-parquet",
    "COURIER_PARQUET_TMP_MB": "the 384 MB default share of /tmp for one Parquet conversion",
    "AWS_LAMBDA_FUNCTION_NAME": "set by Lambda itself; absent on SCF (metrics as log lines)",
    "COURIER_SECRET_TTL_S": "the 300 s default: values read from secret stores, kept",
    "COURIER_AWS_SECRETS_ENDPOINT": "sandbox only: another Secrets Manager / SSM endpoint",
}
# Set by the platform in every invocation's environment.
PLATFORM_ENV = {
    "scf": {
        "TENCENTCLOUD_SECRETID": "the execution role's temporary SecretId",
        "TENCENTCLOUD_SECRETKEY": "the execution role's temporary SecretKey",
        "TENCENTCLOUD_SESSIONTOKEN": "the execution role's session token",
        "TENCENTCLOUD_REGION": "the function's region",
    },
    "lambda": {},
}
# Stand-ins for what the platform sets, so the settings are checked as a function sees them.
SAMPLE_PLATFORM_ENV = {
    "scf": {"TENCENTCLOUD_SECRETID": "AKIDplatform", "TENCENTCLOUD_SECRETKEY": "platform-key",
            "TENCENTCLOUD_SESSIONTOKEN": "platform-token",
            "TENCENTCLOUD_REGION": "ap-guangzhou"},
    "lambda": {},
}
# Values a deployment supplies through ${env:NAME}; plausible stand-ins for checking.
SAMPLE_DEPLOY_ENV = {
    "COURIER_STATE_URL": "postgresql://courier:secret@10.0.0.8:5432/courier",
    "COURIER_DESTINATION": "cos://exports-1250000000/courier",
    "COURIER_API_KEYS": "sample-key-one-0123456789abcdefghij,sample-key-two-0123456789abcdefghij",
    "COURIER_WEBHOOK_SECRETS": "whsec_c2FtcGxlLXdlYmhvb2stc2lnbmluZy1rZXk=",  # 26 bytes
    "COURIER_SCF_ROLE": "export-courier-scf",
    "COURIER_BUCKET": "exports-bucket",
}

def config_env_names() -> dict[str, str]:
    """``ENV_*`` constant -> variable name, read from shared/setting_names.py (not imported)."""
    tree = ast.parse((ROOT / "shared" / "setting_names.py").read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if (isinstance(target, ast.Name) and target.id.startswith("ENV_")
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                names[target.id] = node.value.value
    return names


def module_handler_exists(handler: str) -> bool:
    """``functions/create_export.handler`` (or dotted) names a top-level
    ``def handler(event, context)``."""
    module, _, attr = handler.rpartition(".")
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.is_file():
        return False
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, ast.FunctionDef) and n.name == attr and len(n.args.args) == 2
               for n in tree.body)


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)

    def need(self, ok: bool, message: str) -> None:
        if not ok:
            self.problems.append(message)


def check_env(env: dict[str, str], platform: str, report: Report, where: str) -> None:
    known = set(config_env_names().values())
    provided = PLATFORM_ENV[platform]
    for name in sorted(known):
        report.need(name in env or name in OPTIONAL_ENV or name in provided,
                    f"{where}: {name} is read by the settings but neither set nor "
                    "listed as optional or platform-provided")
    for name in sorted(env):
        if name.startswith(("COURIER_", "TENCENTCLOUD_", "ALIBABA_CLOUD_")):
            report.need(name in known, f"{where}: {name} is set but the settings read no "
                        "such variable")
    unresolved = sorted(k for k, v in env.items() if "${" in v)
    report.need(not unresolved, f"{where}: unresolved variables in {unresolved}")


def check_settings(env: dict[str, str], report: Report, where: str) -> None:
    """The descriptor's environment, deploy-time values filled in, must pass Settings."""
    from shared.config import Settings
    from shared.errors import ConfigError

    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        report.problems.append(f"{where}: settings rejected: {exc}")
        return
    report.need(settings.profile == "production", f"{where}: profile must be production")
    report.need(settings.auth == "api-key", f"{where}: the API must require keys")


def check_scf(path: Path = SCF_DESCRIPTOR) -> Report:
    from deploy.package import HANDLERS, TARGETS

    report = Report()
    doc = load_yaml(path)
    specs = scf_functions(doc, SAMPLE_DEPLOY_ENV)
    inputs = doc.get("inputs") or {}
    check_scf_triggers(scf_triggers(doc), specs, report)
    report.need(set(specs) == {"create", "poll", "complete"},
                f"scf: functions are {sorted(specs)}, expected create, poll, complete")
    report.need(str(inputs.get("runtime", "")).lower().replace("python", "") ==
                TARGETS["scf"].python, "scf: runtime does not match the package's Python")
    src = inputs.get("src") or {}
    report.need(str(src.get("src", "")).rstrip("/") in ("./dist/scf/build", "dist/scf/build"),
                "scf: src must be the built package, ./dist/scf/build")
    for key, spec in specs.items():
        report.need(spec.handler == TARGETS["scf"].handler(key),
                    f"scf: {key}: handler {spec.handler!r} is not the package's entry "
                    f"{TARGETS['scf'].handler(key)!r}")
        report.need(module_handler_exists(f"{HANDLERS[key]}.handler"),
                    f"scf: {key}: {HANDLERS[key]}.handler(event, context) not found")
        report.need(1 <= spec.timeout_s <= 900, f"scf: {key}: timeout must be 1-900 s")
        report.need(spec.memory_mb == 64 or (128 <= spec.memory_mb <= 3072
                                             and spec.memory_mb % 128 == 0),
                    f"scf: {key}: memorySize must be 64 or a multiple of 128 up to 3072")
        for name, expression in spec.crons:
            for problem in cron_problems(expression):
                report.problems.append(f"scf: {key}: timer {name} cronExpression: {problem}")
        check_vpc(spec.vpc, report, f"scf: {key}")
        check_env(spec.env, "scf", report, f"scf: {key}")
        check_settings({**SAMPLE_PLATFORM_ENV["scf"], **spec.env}, report, f"scf: {key}")
        if spec.env.get("COURIER_DISPATCH") == "scf":
            target = spec.env.get("COURIER_COMPLETE_FUNCTION", "")
            report.need(target.rpartition("/")[2] == specs["complete"].name,
                        f"scf: {key}: COURIER_COMPLETE_FUNCTION {target!r} is not the complete "
                        f"function {specs['complete'].name!r}")
    if specs.get("complete"):
        report.need(specs["complete"].timeout_s == max(s.timeout_s for s in specs.values()),
                    "scf: complete should have the longest timeout")
        report.need(not specs["complete"].crons, "scf: complete must have no timer")
    report.need(bool(specs.get("poll") and specs["poll"].crons), "scf: poll needs a timer")
    return report


def check_vpc(vpc: dict[str, str], report: Report, where: str) -> None:
    """A function's ``vpc:`` (or ``vpcConfig:``): both ids, nothing else (SCF VpcConfig)."""
    if not vpc:
        return
    extra = sorted(set(vpc) - {"vpcId", "subnetId"})
    report.need(not extra, f"{where}: vpc takes vpcId and subnetId only, not {extra}")
    for name, prefix in (("vpcId", "vpc-"), ("subnetId", "subnet-")):
        value = vpc.get(name, "")
        report.need(bool(value), f"{where}: vpc needs {name}")
        report.need(not value or value.startswith(prefix) or "${" in value,
                    f"{where}: vpc {name} {value!r} should look like {prefix}xxxxxxxx")


def check_scf_triggers(triggers: list[ScfTrigger], specs: dict[str, FunctionSpec],
                       report: Report) -> None:
    """Timers and the function URL: known types, known functions, a public URL on create."""
    for trigger in triggers:
        report.need(trigger.type in SCF_TRIGGER_TYPES,
                    f"scf: trigger {trigger.name or trigger.type!r}: type {trigger.type!r} "
                    + ("is retired for SCF (API Gateway triggers are offline since 2025-06-30;"
                       " use an http trigger, the function URL)" if trigger.type == "apigw"
                       else f"is not one of {sorted(SCF_TRIGGER_TYPES)}"))
        report.need(trigger.function in specs,
                    f"scf: trigger {trigger.name!r}: function {trigger.function!r} is not one of "
                    f"{sorted(specs)}")
    urls = [t for t in triggers if t.type == "http"]
    report.need([t.function for t in urls] == ["create"],
                "scf: create needs exactly one http trigger (its function URL), and only create")
    for url in urls:
        auth = url.parameters.get("authType", "NONE")
        report.need(auth in ("NONE", "CAM"), f"scf: http trigger {url.name!r}: authType "
                    f"{auth!r} must be NONE (Courier checks keys itself) or CAM")
        net = url.parameters.get("netConfig") or {}
        report.need(net.get("enableExtranet") is True or net.get("enableIntranet") is True,
                    f"scf: http trigger {url.name!r}: netConfig enables neither enableExtranet "
                    "nor enableIntranet (both default to false: the URL would be unreachable)")


_AWS_VAR = re.compile(r"\$\{([^{}]+)\}")


def aws_resolve(value: Any, doc: dict[str, Any], env: dict[str, str],
                options: dict[str, str] | None = None) -> Any:
    """Resolve the Serverless v3 variables our descriptor uses: ``${env:X, 'default'}``,
    ``${opt:x, 'default'}``, ``${self:a.b}``, ``${sls:stage}``. Unknown ones stay as they are."""
    options = options or {}
    if isinstance(value, dict):
        return {k: aws_resolve(v, doc, env, options) for k, v in value.items()}
    if isinstance(value, list):
        return [aws_resolve(v, doc, env, options) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        ref, _, default = match.group(1).partition(",")
        ref, default = ref.strip(), default.strip().strip("'\"")
        source, _, address = ref.partition(":")
        found: Any = None
        if source == "env":
            found = env.get(address)
        elif source == "opt":
            found = options.get(address)
        elif source == "sls" and address == "stage":
            found = options.get("stage") or aws_resolve(
                (doc.get("provider") or {}).get("stage", "dev"), doc, env, options)
        elif source == "self":
            found = doc
            for part in address.split("."):
                found = found.get(part) if isinstance(found, dict) else None
            found = aws_resolve(found, doc, env, options) if found is not None else None
        if found is None:
            return default if match.group(1).count(",") else match.group(0)
        return str(found)

    previous = None
    while previous != value:  # nested references resolve from the inside out
        previous, value = value, _AWS_VAR.sub(one, value)
    return value


def aws_functions(doc: dict[str, Any], env: dict[str, str] | None = None,
                  stage: str | None = None) -> dict[str, FunctionSpec]:
    env = SAMPLE_DEPLOY_ENV if env is None else env
    options = {"stage": stage} if stage else {}
    resolved = aws_resolve(doc, doc, env, options)
    provider = resolved.get("provider") or {}
    specs: dict[str, FunctionSpec] = {}
    for key, fn in (resolved.get("functions") or {}).items():
        service, stage_name = resolved.get("service"), provider.get("stage")
        spec = FunctionSpec(
            key=key, name=fn.get("name") or f"{service}-{stage_name}-{key}",
            handler=str(fn.get("handler") or ""),
            memory_mb=int(fn.get("memorySize") or provider.get("memorySize") or 1024),
            timeout_s=int(fn.get("timeout") or provider.get("timeout") or 6),
            env={**{k: str(v) for k, v in (provider.get("environment") or {}).items()},
                 **{k: str(v) for k, v in (fn.get("environment") or {}).items()}})
        for event in fn.get("events") or []:
            if isinstance(event, dict) and "schedule" in event:
                schedule = event["schedule"]
                rate = schedule if isinstance(schedule, str) else schedule.get("rate")
                spec.crons.append((str(schedule.get("name") if isinstance(schedule, dict)
                                       else key), str(rate)))
        specs[key] = spec
    return specs


def api_routes() -> set[str]:
    """``METHOD /path`` of every operation in the API's contract (shared/http/openapi.json),
    path parameters written ``{}``."""
    import json

    spec = json.loads((ROOT / "shared" / "http" / "openapi.json").read_text(encoding="utf-8"))
    return {f"{method.upper()} {re.sub(r'{[^}]*}', '{}', path)}"
            for path, operations in spec["paths"].items() for method in operations}


def aws_routes(doc: dict[str, Any], key: str = "create") -> set[str]:
    """The HTTP API routes (``httpApi`` events) of one function, written as api_routes."""
    fn = (doc.get("functions") or {}).get(key) or {}
    routes = set()
    for event in fn.get("events") or []:
        route = event.get("httpApi") if isinstance(event, dict) else None
        if isinstance(route, dict):
            path = re.sub(r"{[^}]*}", "{}", str(route.get("path")))
            routes.add(f"{str(route.get('method')).upper()} {path}")
    return routes


def check_aws(path: Path = AWS_DESCRIPTOR) -> Report:
    from deploy.package import TARGETS

    report = Report()
    doc = load_yaml(path)
    specs = aws_functions(doc)
    provider = doc.get("provider") or {}
    report.need(set(specs) == {"create", "poll", "complete"},
                f"aws: functions are {sorted(specs)}, expected create, poll, complete")
    report.need(str(provider.get("runtime")) == f"python{TARGETS['lambda'].python}",
                "aws: runtime does not match the package's Python")
    report.need((doc.get("package") or {}).get("artifact") == AWS_ARTIFACT,
                f"aws: package.artifact must be {AWS_ARTIFACT} (the build's dist/lambda/"
                "courier.zip, seen from deploy/aws)")
    for key, spec in specs.items():
        report.need(spec.handler == TARGETS["lambda"].handler(key),
                    f"aws: {key}: handler {spec.handler!r} is not "
                    f"{TARGETS['lambda'].handler(key)!r}")
        report.need(module_handler_exists(spec.handler),
                    f"aws: {key}: {spec.handler}(event, context) not found")
        report.need(1 <= spec.timeout_s <= 900, f"aws: {key}: timeout must be 1-900 s")
        check_env(spec.env, "lambda", report, f"aws: {key}")
        check_settings(spec.env, report, f"aws: {key}")
        report.need(spec.env.get("COURIER_COMPLETE_FUNCTION") == specs["complete"].name,
                    f"aws: {key}: COURIER_COMPLETE_FUNCTION is not the complete function")
    if "complete" in specs:
        report.need(specs["complete"].timeout_s == max(s.timeout_s for s in specs.values()),
                    "aws: complete should have the longest timeout")
        report.need(not specs["complete"].crons, "aws: complete must have no schedule")
    report.need(bool(specs.get("poll") and specs["poll"].crons), "aws: poll needs a schedule")
    unrouted = sorted(api_routes() - aws_routes(doc))
    report.need(not unrouted, f"aws: create: no httpApi route for {', '.join(unrouted)} "
                "(every operation of shared/http/openapi.json must reach create)")
    return report


def main() -> int:
    report = check_scf()
    report.problems += check_aws().problems
    for problem in report.problems:
        print(problem)
    print(f"descriptors: {len(report.problems)} problem(s)")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
