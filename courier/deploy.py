"""``courier deploy scf [--dry-run]`` — create or update the SCF functions of serverless.yml.

Reads the same ``serverless.yml`` Tencent's CLI reads and the built package
(``dist/scf/courier.zip``), then talks to the SCF API with tencentcloud-sdk-python-scf
(:mod:`deploy.scf_deploy` holds the steps). Credentials come from the deploying shell:
``TENCENTCLOUD_SECRETID``, ``TENCENTCLOUD_SECRETKEY`` (and ``TENCENTCLOUD_SESSIONTOKEN`` with
temporary keys); they are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # deploy/ lives beside courier/ in the checkout
    sys.path.insert(0, str(ROOT))


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("deploy", help="create or update the SCF functions (serverless.yml)")
    parser.add_argument("cloud", choices=["scf"], help="scf: Tencent Cloud SCF")
    parser.add_argument("--dry-run", action="store_true",
                        help="read what exists and print what would change; change nothing")
    parser.add_argument("--descriptor", type=Path, default=ROOT / "serverless.yml")
    parser.add_argument("--package", type=Path, default=ROOT / "dist" / "scf" / "courier.zip")
    parser.add_argument("--region", help="default: inputs.region of the descriptor")
    parser.add_argument("--endpoint", help="SCF API endpoint, e.g. http://127.0.0.1:8700 "
                        "(the sandbox); default: scf.tencentcloudapi.com over https")
    parser.add_argument("--cos-endpoint", help="COS endpoint for the package upload, e.g. "
                        "http://127.0.0.1:9000; default: <bucket>.cos.<region>.myqcloud.com")
    parser.add_argument("--wait", type=float, default=120.0,
                        help="seconds to wait for a function to become Active")


def sdk_call(region: str, endpoint: str | None, env: dict[str, str]) -> Any:
    """``call(action, params)`` through tencentcloud-sdk-python-scf's typed client and models:
    a field the SDK does not know is an error here, not silently dropped."""
    from tencentcloud.scf.v20180416 import models, scf_client

    from deploy.scf_deploy import DeployError

    secret_id, secret_key = env.get("TENCENTCLOUD_SECRETID"), env.get("TENCENTCLOUD_SECRETKEY")
    if not secret_id or not secret_key:
        raise DeployError("TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY must be set in the "
                          "deploying shell (a CAM user or role allowed the scf: actions of "
                          "docs/deploy.md)")
    from shared.clouds import tencent
    from shared.config import TencentSettings

    settings = TencentSettings(secret_id=secret_id, secret_key=secret_key,
                               token=env.get("TENCENTCLOUD_SESSIONTOKEN") or None,
                               region=region, endpoint=endpoint)
    client = tencent.client(settings, "scf", scf_client.ScfClient, timeout_s=120)

    def call(action: str, params: dict[str, Any]) -> dict[str, Any]:
        request = getattr(models, f"{action}Request")()
        known = set(vars(request))
        unknown = sorted(k for k in params if f"_{k}" not in known)
        if unknown:
            raise DeployError(f"{action}: the SDK's model has no field {', '.join(unknown)}")
        request._deserialize(json.loads(json.dumps(params)))
        answer = getattr(client, action)(request)
        result: dict[str, Any] = json.loads(answer.to_json_string())
        return result

    return call


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    import hashlib

    from deploy.descriptors import check_scf
    from deploy.scf_code import (
        BUCKET_ENV,
        CodeError,
        CodeSource,
        CosUploader,
        cos_location,
        ensure_uploaded,
    )
    from deploy.scf_deploy import (
        DeployError,
        ScfDeployer,
        Step,
        plan_warnings,
        read_package,
        read_plan,
    )

    env = dict(os.environ) if env is None else env
    try:
        plan = read_plan(args.descriptor, env)
        problems = check_scf(args.descriptor).problems
        if problems:
            raise DeployError(f"{args.descriptor.name}: " + "; ".join(problems))
        for warning in plan_warnings(plan):
            print(f"courier deploy: warning: {warning}", file=sys.stderr)
        region = args.region or plan.region
        through_cos = bool((env.get(BUCKET_ENV) or "").strip())
        package = read_package(args.package, through_cos=through_cos)
        sha = hashlib.sha256(package).hexdigest()
        location = cos_location(env, region, sha)
        code: CodeSource | None = location
        call = sdk_call(region, args.endpoint, env)
        uploaded = False
        if location is not None:
            uploader = CosUploader(location, env, endpoint=getattr(args, "cos_endpoint", None))
            uploaded = ensure_uploaded(uploader, args.package, sha, args.dry_run, print)
        deployer = ScfDeployer(call, plan, package, dry_run=args.dry_run, wait_s=args.wait,
                               code=code)
        outcome = deployer.run()
        if uploaded and code is not None:
            outcome.steps.insert(0, Step("upload", code.describe()))
    except CodeError as exc:
        print(f"courier deploy: {exc}", file=sys.stderr)
        return 1
    except DeployError as exc:
        print(f"courier deploy: {exc}", file=sys.stderr)
        return 1
    for name in outcome.unmanaged:
        print(f"left as is (not in {args.descriptor.name}): {name}")
    verb = "would change" if args.dry_run else "changed"
    print(f"{verb}: {len(outcome.steps)} step(s); package sha256 {deployer.sha}")
    for url in outcome.urls:
        print(f"function URL: {url}")
    if not outcome.urls and not args.dry_run:
        print("function URL: not returned by SCF; see the function's page in the console")
    return 0


def register(app: Any) -> None:
    """``courier deploy scf`` on the operator's command line (typer)."""
    @app.command("deploy", help="create or update the SCF functions of serverless.yml")
    def deploy_command(
            cloud: Annotated[str, typer.Argument(help="scf: Tencent Cloud SCF")],
            dry_run: Annotated[bool, typer.Option(
                "--dry-run", help="read what exists and print what would change")] = False,
            descriptor: Annotated[Path, typer.Option()] = ROOT / "serverless.yml",
            package: Annotated[Path, typer.Option()] = ROOT / "dist" / "scf" / "courier.zip",
            region: Annotated[Optional[str], typer.Option(
                help="default: inputs.region of the descriptor")] = None,
            endpoint: Annotated[Optional[str], typer.Option(
                help="SCF API endpoint, e.g. http://127.0.0.1:8700 (the sandbox)")] = None,
            cos_endpoint: Annotated[Optional[str], typer.Option(
                help="COS endpoint for the package upload (COURIER_DEPLOY_COS_BUCKET), e.g. "
                     "http://127.0.0.1:9000")] = None,
            wait: Annotated[float, typer.Option(
                help="seconds to wait for a function to become Active")] = 120.0) -> None:
        if cloud != "scf":
            raise typer.BadParameter(f"{cloud!r}: only scf is deployed this way (AWS: "
                                     "cd deploy/aws && serverless deploy)", param_hint="CLOUD")
        code = run(argparse.Namespace(cloud=cloud, dry_run=dry_run, descriptor=descriptor,
                                      package=package, region=region, endpoint=endpoint,
                                      cos_endpoint=cos_endpoint, wait=wait))
        if code:
            raise typer.Exit(code)
