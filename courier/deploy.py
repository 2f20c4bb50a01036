"""``courier deploy scf [--dry-run]`` — create or update the SCF functions of serverless.yml.

Reads the same ``serverless.yml`` Tencent's CLI reads and the built package
(``dist/scf/courier.zip``), then talks to the SCF API with tencentcloud-sdk-python-scf
(:mod:`deploy.scf_deploy` holds the steps). Credentials come from the deploying shell:
``TENCENTCLOUD_SECRETID``, ``TENCENTCLOUD_SECRETKEY`` (and ``TENCENTCLOUD_SESSIONTOKEN`` with
temporary keys); they are never printed. The API domain follows ``COURIER_TENCENT_SITE``
(the shell's, else the one the descriptor gives the functions), as the providers' does.

A run plans first with reads only and changes nothing when the plan has a blocking problem;
``--dry-run`` prints that plan and every blocking problem, and exits 1 if there is one.
"""

from __future__ import annotations

import argparse
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
                        help="read what exists, print the whole plan and every blocking "
                        "problem, change nothing (exit 1 on a blocking problem)")
    parser.add_argument("--descriptor", type=Path, default=ROOT / "serverless.yml")
    parser.add_argument("--package", type=Path, default=ROOT / "dist" / "scf" / "courier.zip")
    parser.add_argument("--region", help="default: inputs.region of the descriptor")
    parser.add_argument("--endpoint", help="SCF API endpoint, e.g. http://127.0.0.1:8700 "
                        "(the sandbox); default: scf.tencentcloudapi.com over https")
    parser.add_argument("--cos-endpoint", help="COS endpoint for the package upload, e.g. "
                        "http://127.0.0.1:9000; default: <bucket>.cos.<region>.myqcloud.com")
    parser.add_argument("--wait", type=float, default=120.0,
                        help="seconds to wait for a function to become Active")
    parser.add_argument("--replace-url", action="store_true",
                        help="replace the function URL when its settings changed (its address "
                        "changes: callers must move to the new one)")


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    from deploy.scf_deploy import DeployError, read_plan

    env = dict(os.environ) if env is None else env
    try:
        plan = read_plan(args.descriptor, env)
    except DeployError as exc:
        print(f"courier deploy: {exc}", file=sys.stderr)
        return 1
    from courier.deploy_run import DeployRun

    return DeployRun(args, env, plan).run()


def register(app: Any) -> None:
    """``courier deploy scf`` on the operator's command line (typer)."""
    @app.command("deploy", help="create or update the SCF functions of serverless.yml",
                 rich_help_panel="Deploy")
    def deploy_command(
            cloud: Annotated[str, typer.Argument(help="scf: Tencent Cloud SCF")],
            dry_run: Annotated[bool, typer.Option(
                "--dry-run", help="read what exists, print the whole plan and every blocking "
                "problem, change nothing (exit 1 on a blocking problem)")] = False,
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
                help="seconds to wait for a function to become Active")] = 120.0,
            replace_url: Annotated[bool, typer.Option(
                "--replace-url", help="replace the function URL when its settings changed "
                "(its address changes: callers must move to the new one)")] = False) -> None:
        if cloud != "scf":
            raise typer.BadParameter(f"{cloud!r}: only scf is deployed this way (AWS: "
                                     "cd deploy/aws && serverless deploy)", param_hint="CLOUD")
        code = run(argparse.Namespace(cloud=cloud, dry_run=dry_run, descriptor=descriptor,
                                      package=package, region=region, endpoint=endpoint,
                                      cos_endpoint=cos_endpoint, wait=wait,
                                      replace_url=replace_url))
        if code:
            raise typer.Exit(code)
