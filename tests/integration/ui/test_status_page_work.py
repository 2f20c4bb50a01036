"""The status page at work, in a real headless Chromium at 1366 px, against the create
function's API on 127.0.0.1: newest first with paging, the summary, a failed export with its
reason, actions with their confirmation, a refused action, the key screen, and the link
``courier ui`` prints.

Screenshots are kept under ``.courier/test-artifacts/ui/`` (``COURIER_TEST_ARTIFACTS``
moves the root); each test prints the paths it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from courier.server import LocalApiServer
from shared import exports
from shared.clock import utcnow
from shared.model import ExportTask, TaskState
from tests import browser
from tests.integration.ui.test_status_page import wait_for
from tests.scenarios import cls_export, several_states

SHOTS = browser.ARTIFACTS / "ui"
WIDTH = 1366


@pytest.fixture
def served(bundle: Any, sandbox: Any) -> Iterator[tuple[LocalApiServer, dict[str, str]]]:
    ids = several_states(bundle, sandbox)
    with LocalApiServer(bundle) as server:
        yield server, ids


@pytest.fixture
def driver() -> Iterator[Any]:
    with browser.chromium() as d:
        d.set_window_size(WIDTH, 900)
        yield d


def shot(driver: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")  # noqa: T201 - the artifact's path, for the person
    return path


def sign_in(driver: Any, server: LocalApiServer, key: str) -> None:
    driver.get(f"{server.url}/ui#key={key}")
    wait_for(driver, "#rows tr")


def no_horizontal_scroll(driver: Any) -> None:
    width, inner = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner <= WIDTH, (width, inner)


def add_older(bundle: Any, count: int) -> list[str]:
    """``count`` accepted exports made an hour ago and before, a minute apart (newest first)."""
    store, base = bundle.store(), utcnow() - timedelta(hours=1)
    made = []
    for i in range(count):
        at = base - timedelta(minutes=i)
        task = ExportTask(provider="cls", params={"TopicId": f"topic-{i}"}, created_at=at,
                          updated_at=at)
        made.append(store.insert_task(task)[0].id)
    return made


def click(driver: Any, css: str) -> None:
    """Click what ``css`` finds; found again if the page re-drew it in between (it does when
    its data or the minute of its relative times changes)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for attempt in range(3):
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return
        except StaleElementReferenceException:
            if attempt == 2:
                raise


def confirm_dialog(driver: Any, answer: str) -> str:
    """The open confirmation's text, then ``yes`` or ``no`` pressed."""
    from selenium.webdriver.common.by import By

    [dialog] = wait_for(driver, "dialog#confirm[open]")
    text = str(dialog.find_element(By.ID, "confirm-text").text)
    click(driver, "#confirm-yes" if answer == "yes" else "#confirm-no")
    return text


def row_ids(driver: Any, count: int, timeout: float = 10) -> list[str]:
    """The list's export ids, top to bottom, once it shows ``count`` rows (read in one go,
    so a re-draw in between cannot mix two lists)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def read(d: Any) -> Any:
        got = d.execute_script(
            "return [...document.querySelectorAll('#rows tr')].map((r) => r.dataset.id)")
        return got if len(got) == count else False

    return list(WebDriverWait(driver, timeout).until(read))


def text_of(driver: Any, css: str, contains: str, timeout: float = 10) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def seen(d: Any) -> Any:
        found = [e.text for e in d.find_elements(By.CSS_SELECTOR, css) if contains in e.text]
        return found[0] if found else False

    return str(WebDriverWait(driver, timeout).until(seen))


def test_summary_route(served: Any, api_key: str) -> None:
    server, _ids = served
    answer = requests.get(server.url + "/summary", headers={"X-Api-Key": api_key}, timeout=10)
    assert answer.status_code == 200, answer.text
    s = answer.json()
    assert s["by_state"] == {"delivered": 1, "failed": 1, "copying": 1, "submitted": 1}
    assert s["by_provider"] == {"cls": s["by_state"]} and s["total"] == 4
    assert s["oldest_waiting"]["state"] == "copying"  # made before the submitted one
    assert len(s["last_24h"]["hours"]) == 24
    assert (s["last_24h"]["delivered"], s["last_24h"]["failed"]) == (1, 1)
    assert s["last_24h"]["mean_delivered_s"] >= 0
    assert requests.get(server.url + "/summary", timeout=10).status_code == 401


def test_newest_first_with_paging_at_1366(bundle: Any, served: Any, api_key: str,
                                          driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    server, ids = served
    older = add_older(bundle, 12)  # 16 exports in all
    sign_in(driver, server, api_key)
    # WHEN 10 rows a page are asked for
    Select(driver.find_element(By.ID, "size")).select_by_value("10")
    shown = row_ids(driver, 10)
    # THEN the first page is the newest ten, newest first (as the API lists them)
    api = requests.get(server.url + "/exports?limit=16", headers={"X-Api-Key": api_key},
                       timeout=10).json()["items"]
    newest = [x["id"] for x in api]
    assert shown == newest[:10]
    assert newest[0] == ids["submitted"] and newest[-1] == older[-1]
    # times read relative, the exact one on hover
    created = driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{older[0]}'] td.created time")
    assert created.text == "1 h ago"
    assert created.get_attribute("title").startswith(api[4]["created_at"])
    no_horizontal_scroll(driver)
    shot(driver, "list-newest-first")
    # WHEN a new export arrives and the older page is opened
    newer = cls_export(bundle, "topic-new")
    click(driver, "#older")
    text_of(driver, "#where", "page 2")
    # THEN it goes on below the last export seen: nothing shown twice, nothing skipped
    assert row_ids(driver, 6) == newest[10:]
    assert driver.find_element(By.ID, "older").get_attribute("disabled") == "true"
    # and the first page now starts with the new export
    click(driver, "#newer")
    text_of(driver, "#where", "page 1")
    assert row_ids(driver, 10)[0] == newer


def test_a_failed_export_shows_its_reason_and_retry_asks_first(bundle: Any, served: Any,
                                                               api_key: str,
                                                               driver: Any) -> None:
    server, ids = served
    store = bundle.store()
    reason = store.get_task(ids["failed"]).error["reason"]
    sign_in(driver, server, api_key)
    # THEN the failed export is marked, with its reason in the list
    assert reason in text_of(driver, f"tr[data-id='{ids['failed']}'].failed", "failed")
    no_horizontal_scroll(driver)
    # WHEN it is opened THEN its detail is beside the list, with a retry button
    click(driver, f"tr[data-id='{ids['failed']}']")
    wait_for(driver, "#detail:not([hidden]) button[data-action='retry']")
    detail, rows = (driver.find_element("id", "detail").rect,
                    driver.find_element("id", "listbox").rect)
    assert detail["x"] >= rows["x"] + rows["width"] and detail["y"] < rows["y"] + 100
    shot(driver, "failed-export-detail")
    # WHEN retry is pressed and the confirmation refused THEN nothing changes
    click(driver, "#detail button[data-action='retry']")
    text = confirm_dialog(driver, "no")
    assert "Retry export " + ids["failed"] in text
    assert store.get_task(ids["failed"]).state is TaskState.FAILED
    # WHEN it is pressed and confirmed THEN the export starts over
    click(driver, "#detail button[data-action='retry']")
    wait_for(driver, "dialog#confirm[open]")
    shot(driver, "retry-confirmation")
    confirm_dialog(driver, "yes")
    text_of(driver, "#notice", "accepted again")
    assert store.get_task(ids["failed"]).state is TaskState.ACCEPTED
    wait_for(driver, f"tr[data-id='{ids['failed']}'][data-state='accepted']")
    shot(driver, "retried")


def test_an_action_the_api_refuses_shows_its_problem_text(bundle: Any, served: Any,
                                                          api_key: str, driver: Any) -> None:
    server, ids = served
    sign_in(driver, server, api_key)
    click(driver, f"tr[data-id='{ids['failed']}']")
    # GIVEN retry asked for and its confirmation open
    wait_for(driver, "#detail button[data-action='retry']")
    click(driver, "#detail button[data-action='retry']")
    wait_for(driver, "dialog#confirm[open]")
    # WHEN the export is retried elsewhere meanwhile, and the page's retry confirmed
    exports.retry(bundle.store(), ids["failed"])
    confirm_dialog(driver, "yes")
    # THEN the page shows the API's own words (409)
    shown = text_of(driver, "#notice.error", "refused")
    assert f"export {ids['failed']} is accepted; only failed exports can be retried" in shown
    shot(driver, "refused-action")


def test_the_summary_and_a_several_file_export(bundle: Any, served: Any, api_key: str,
                                               driver: Any) -> None:
    server, ids = served
    store = bundle.store()
    task = store.get_task(ids["delivered"])
    task.destination = {**task.destination, "objects": 3, "manifest": {
        "uri": "file:///bucket/x/manifest.json", "key": "x/manifest.json", "size": 420}}
    task.remote = {**task.remote, "parts": [
        {"From": 1_700_000_000_000, "To": 1_700_000_600_000, "log_count": 10,
         "ExportId": "vendor-part-1", "status": "Completed"},
        {"From": 1_700_000_600_000, "To": 1_700_001_200_000, "log_count": 12,
         "ExportId": "vendor-part-2", "status": "Completed"}]}
    store.update_task(task)
    sign_in(driver, server, api_key)
    # THEN the summary counts by state and provider and charts the last 24 hours
    assert "failed 1" in text_of(driver, "#by-state", "delivered 1")
    assert "1 failed" in text_of(driver, "#by-provider", "cls")
    assert ids["copying"] in text_of(driver, "#oldest", "copying")
    bars = wait_for(driver, "#chart svg g[data-hour]")
    assert len(bars) == 24
    # WHEN the several-file export is opened THEN its files and manifest are shown
    click(driver, f"tr[data-id='{ids['delivered']}']")
    files = text_of(driver, "#files", "manifest")
    assert "3 objects" in files and "x/manifest.json" in files
    parts = text_of(driver, "#parts", "vendor-part-2")
    assert "vendor-part-1" in parts and "Completed" in parts
    no_horizontal_scroll(driver)
    shot(driver, "summary-and-files")


def test_the_key_screen_tells_a_missing_key_from_a_refused_one(served: Any, api_key: str,
                                                               driver: Any) -> None:
    from selenium.webdriver.common.by import By

    server, _ids = served
    driver.get(server.url + "/ui")
    [why] = wait_for(driver, "#why[data-reason='missing']")
    screen = driver.find_element(By.ID, "login").text
    assert "COURIER_API_KEYS" in screen and "courier ui" in screen
    driver.find_element(By.ID, "key").send_keys("not-the-key")
    click(driver, "#login-form button")
    [why] = wait_for(driver, "#why[data-reason='refused']")
    assert "refused" in why.text and "401" in why.text
    shot(driver, "key-refused")
    # WHEN the page is opened with the key in its fragment THEN it shows the exports and the
    # key leaves the address bar for the tab's session storage
    driver.get(f"{server.url}/ui#key={api_key}")
    wait_for(driver, "#rows tr")
    assert driver.execute_script("return location.hash") == ""
    assert driver.execute_script("return sessionStorage.getItem('courier-api-key')") == api_key


def test_courier_ui_prints_a_link_that_opens_the_page(courier_env: dict[str, str],
                                                      driver: Any) -> None:
    env = {k: v for k, v in {**os.environ, **courier_env}.items() if k != "COURIER_API_KEYS"}
    proc = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "courier.cli", "ui", "--port", "0", "--no-tick"], env=env,
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("status page: http://127.0.0.1:"), first
        url = first.split()[2]
        assert "/ui#key=" in url
        driver.get(url)
        wait_for(driver, "#app:not([hidden]) #summary .card")
        assert driver.execute_script("return location.hash") == ""
        assert driver.find_element("id", "login").get_attribute("hidden") == "true"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_failing_webhook_is_marked_and_its_endpoint_recovered(bundle: Any, sandbox: Any,
                                                                receiver: Any, api_key: str,
                                                                driver: Any) -> None:
    from shared.webhooks import endpoints

    # GIVEN a receiver that answers 500 while the exports end
    receiver.fail_next = 1000
    ids = several_states(bundle, sandbox)
    with LocalApiServer(bundle) as server:
        sign_in(driver, server, api_key)
        # THEN the delivered export's row says its webhook fails, and why
        text_of(driver, f"tr[data-id='{ids['delivered']}'].hook-failing",
                "export.delivered pending: HTTP 500 (1 attempt)")
        # and the summary lists the endpoint as failing, with a way to recover it
        assert receiver.url in text_of(driver, "#endpoints", "failing")
        shot(driver, "failing-webhook")
        # WHEN the receiver is fixed and recover is confirmed
        receiver.fail_next = 0
        click(driver, "#endpoints button[data-recover]")
        assert "Re-enable " + receiver.url in confirm_dialog(driver, "yes")
        # THEN the API's answer is shown and the endpoint is healthy again
        text_of(driver, "#notice", "queued again for " + receiver.url)
        health = endpoints.get_endpoint(bundle.store(), receiver.url)
        assert health is not None and health.state == endpoints.ENDPOINT_OK
        # WHEN a delivery is resent from the detail THEN it is queued again
        click(driver, f"tr[data-id='{ids['delivered']}']")
        wait_for(driver, "#attempts button[data-action='resend']")
        click(driver, "#attempts button[data-action='resend']")
        assert "(same webhook-id)" in confirm_dialog(driver, "yes")
        text_of(driver, "#notice", "queued again")
        no_horizontal_scroll(driver)
