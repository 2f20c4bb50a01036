"""`courier deploy scf` calls the API domain of the account's site, chosen by the setting the
providers read (COURIER_TENCENT_SITE): the deploying shell's, else the descriptor's."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from courier.deploy import run
from courier.scf_api import deploy_site, scf_profile
from deploy.descriptors import SAMPLE_DEPLOY_ENV, SCF_DESCRIPTOR
from deploy.scf_deploy import DeployError


@pytest.mark.parametrize(("shell", "descriptor", "host"), [
    (None, None, "scf.tencentcloudapi.com"),
    ("intl", None, "scf.intl.tencentcloudapi.com"),
    ("INTL", "china", "scf.intl.tencentcloudapi.com"),  # the shell wins
    (None, "intl", "scf.intl.tencentcloudapi.com"),
    ("china", "intl", "scf.tencentcloudapi.com"),
])
def test_the_site_picks_the_scf_domain(shell: str | None, descriptor: str | None,
                                       host: str) -> None:
    site = deploy_site({"COURIER_TENCENT_SITE": shell} if shell else {},
                       {"COURIER_TENCENT_SITE": descriptor} if descriptor else {})
    assert scf_profile(None, site).endpoint == host
    assert scf_profile("http://127.0.0.1:8700", site).endpoint == "127.0.0.1:8700"


def test_an_unknown_site_is_refused_by_name() -> None:
    with pytest.raises(DeployError, match="COURIER_TENCENT_SITE='mars'"):
        deploy_site({"COURIER_TENCENT_SITE": "mars"}, {})


def test_the_dry_run_names_the_domain_and_every_problem(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an intl account's shell without keys and without a built package
    env = {**SAMPLE_DEPLOY_ENV, "COURIER_TENCENT_SITE": "intl"}
    args = argparse.Namespace(descriptor=SCF_DESCRIPTOR, package=tmp_path / "courier.zip",
                              region=None, endpoint=None, cos_endpoint=None, wait=1.0,
                              dry_run=True, replace_url=False)
    code = run(args, env)
    out, err = capsys.readouterr()
    # THEN the API named is the intl one; both problems are listed, nothing is called
    assert code == 1
    assert "SCF API scf.intl.tencentcloudapi.com" in out
    assert "2 blocking problems" in err and "make package" in err
    assert "TENCENTCLOUD_SECRETID" in err
