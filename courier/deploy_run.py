"""One ``courier deploy scf`` run: check, plan with reads only, then (unless ``--dry-run`` or
a blocking problem) upload and write.

Every check the real run makes is made by the dry run too, and a dry run reports all the
blocking problems it finds, after the whole plan, instead of stopping at the first.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from typing import Any

from deploy.descriptors import check_scf
from deploy.scf_code import (
    REQUEST_LIMIT,
    CodeError,
    CodeSource,
    CosCode,
    CosUploader,
    InlineCode,
    cos_location,
    ensure_uploaded,
    inline_request_bytes,
    too_big_inline,
)
from deploy.scf_deploy import (
    DeployError,
    Outcome,
    ScfDeployer,
    Step,
    missing_settings,
    plan_warnings,
    read_package,
)
from deploy.spec import ScfPlan


def _quiet(_: str) -> None:
    return None


class DeployRun:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], plan: ScfPlan) -> None:
        self.args, self.env, self.plan = args, env, plan
        self.region = args.region or plan.region
        self.problems: list[str] = []  # blocking, found before any call
        self.package = b""
        self.location: CosCode | None = None
        self.code: CodeSource = InlineCode(b"")
        self.call: Any = None
        self.too_big = False  # the package cannot go inline and no bucket is set

    def run(self) -> int:
        self.check()
        if self.problems and not self.args.dry_run:
            return self.refuse("nothing was called or changed")
        outcome = self.rehearse()
        if self.args.dry_run:
            self.report(outcome, "would change")
            return self.refuse("") if self.problems else 0
        if self.problems:
            return self.refuse("nothing was changed")
        try:
            uploaded = self.upload(dry_run=False)
            deployer = ScfDeployer(self.call, self.plan, self.package, wait_s=self.args.wait,
                                   code=self.code,
                                   replace_url=getattr(self.args, "replace_url", False))
            done = deployer.run()
        except (CodeError, DeployError) as exc:
            print(f"courier deploy: {exc}", file=sys.stderr)
            return 1
        if uploaded:
            done.steps.insert(0, Step("upload", self.code.describe()))
        return self.report(done, "changed")

    # -- before any call ---------------------------------------------------------------------

    def check(self) -> None:
        from courier.scf_api import deploy_site, scf_profile, sdk_call

        args, problems = self.args, self.problems
        problems += missing_settings(self.plan, args.descriptor)
        problems += [f"{args.descriptor.name}: {p}" for p in check_scf(args.descriptor).problems]
        for warning in plan_warnings(self.plan):
            print(f"courier deploy: warning: {warning}", file=sys.stderr)
        site = "china"
        try:
            site = deploy_site(self.env, self.plan.functions["create"].env)
        except DeployError as exc:
            problems.append(str(exc))
        try:
            self.package = read_package(args.package)
        except DeployError as exc:
            problems.append(str(exc))
        sha = hashlib.sha256(self.package).hexdigest()
        try:
            self.location = cos_location(self.env, self.region, sha)
        except CodeError as exc:
            problems.append(str(exc))
        self.code = self.location or InlineCode(self.package)
        source = self.code.describe()
        if self.location is None and inline_request_bytes(len(self.package)) > REQUEST_LIMIT:
            problems.append(too_big_inline(args.package, len(self.package)))
            self.too_big = True
            source = "too big to go inline, and no COS bucket set"
        host = scf_profile(args.endpoint, site).endpoint
        print(f"SCF API {host}, region {self.region}; package {len(self.package) / 1e6:.1f} "
              f"MB, code {source}")
        try:
            self.call = sdk_call(self.region, args.endpoint, self.env, site)
        except DeployError as exc:
            problems.append(str(exc))

    # -- reads only --------------------------------------------------------------------------

    def rehearse(self) -> Outcome:
        """The plan, with reads only; its blocking problems join ``problems``."""
        say = print if self.args.dry_run else _quiet
        outcome = Outcome()
        if self.call is None:
            say("the SCF steps are not listed: the API cannot be read without credentials")
            return outcome
        try:
            if self.upload(dry_run=True, say=say):
                outcome.steps.append(Step("upload", self.code.describe()))
            planner = ScfDeployer(self.call, self.plan, self.package, dry_run=True,
                                  wait_s=self.args.wait, say=say, code=self.code,
                                  replace_url=getattr(self.args, "replace_url", False))
            planner.size_checked = self.too_big
            planned = planner.run()
        except (CodeError, DeployError) as exc:
            self.problems.append(str(exc))
            return outcome
        planned.steps[:0] = outcome.steps
        self.problems += planned.blocked
        return planned

    def upload(self, dry_run: bool, say: Any = print) -> bool:
        if self.location is None:
            return False
        uploader = CosUploader(self.location, self.env,
                               endpoint=getattr(self.args, "cos_endpoint", None))
        return ensure_uploaded(uploader, self.args.package,
                               hashlib.sha256(self.package).hexdigest(), dry_run, say)

    # -- the answer --------------------------------------------------------------------------

    def refuse(self, note: str) -> int:
        count = len(self.problems)
        print(f"courier deploy: {count} blocking problem{'s' if count > 1 else ''}"
              f"{'; ' + note if note else ''}:", file=sys.stderr)
        for problem in self.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1

    def report(self, outcome: Outcome, verb: str) -> int:
        for name in outcome.unmanaged:
            print(f"left as is (not in {self.args.descriptor.name}): {name}")
        sha = hashlib.sha256(self.package).hexdigest()
        print(f"{verb}: {len(outcome.steps)} step(s); package sha256 {sha}")
        for kind, url in outcome.urls:
            print(f"function URL{' (intranet)' if kind == 'intranet' else ''}: {url}")
        if not outcome.urls and not self.args.dry_run:
            print("function URL: not returned by SCF; see the function's page in the console")
        return 0
