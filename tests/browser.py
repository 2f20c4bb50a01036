"""A real headless Chromium for page tests (Debian's ``chromium`` and ``chromium-driver``,
driven by Selenium). Missing on a developer's machine: the test is skipped; on CI
(``CI=true``): it fails (``.ci/services.sh`` installs both)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests import servers

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER = ("/usr/bin/chromedriver",)
ARTIFACTS = Path(os.environ.get("COURIER_TEST_ARTIFACTS")
                 or Path(__file__).resolve().parents[1] / ".courier" / "test-artifacts")


def _first(paths: tuple[str, ...], what: str) -> str:
    for p in paths:
        if os.access(p, os.X_OK):
            return p
    raise servers.ServerUnavailable(f"{what} is not installed: apt-get install chromium "
                                    "chromium-driver (or `bash .ci/services.sh`)")


def find_browser() -> tuple[str, str]:
    return _first(CHROMIUM, "Debian's chromium"), _first(DRIVER, "chromium-driver")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium WebDriver with a fresh profile; quit afterwards."""
    binary, driver_path = servers.require(find_browser)
    from selenium import webdriver

    profile = tempfile.mkdtemp(prefix="courier-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1400,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
