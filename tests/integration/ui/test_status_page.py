"""``GET /ui`` in a real headless Chromium, against the create function's API served on
127.0.0.1 over real exports in several states."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from courier.server import LocalApiServer
from tests import browser
from tests.scenarios import several_states


@pytest.fixture
def served(bundle: Any, sandbox: Any) -> Any:
    ids = several_states(bundle, sandbox)
    with LocalApiServer(bundle) as server:
        yield server, ids


def wait_for(driver: Any, css: str, count: int | None = None, timeout: float = 10) -> list:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d: Any) -> Any:
        items = d.find_elements(By.CSS_SELECTOR, css)
        return items if items and (count is None or len(items) == count) else False

    return WebDriverWait(driver, timeout).until(found)


def test_the_page_needs_no_key_and_leaks_nothing(served: Any, api_key: str) -> None:
    server, _ids = served
    page = requests.get(server.url + "/ui", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
    assert api_key not in page.text and "exp_" not in page.text  # no data in the page
    assert requests.get(server.url + "/exports", timeout=10).status_code == 401


def test_status_page_in_chromium(served: Any, api_key: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    server, ids = served
    with browser.chromium() as driver:
        # GIVEN the page, which asks for the key first (the API answers 401 without it)
        driver.get(server.url + "/ui")
        wait_for(driver, "#login:not([hidden]) #key")
        driver.find_element(By.ID, "key").send_keys(api_key)
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        # THEN every export is a row showing its state
        rows = wait_for(driver, "#rows tr", count=4)
        states = {r.get_attribute("data-id"): r.get_attribute("data-state") for r in rows}
        assert states == {v: k for k, v in ids.items()}
        # the copy under way shows a half-full bar, the delivered one a full one
        half = driver.find_element(By.CSS_SELECTOR,
                                   f"tr[data-id='{ids['copying']}'] .bar[data-kind='copy']")
        assert half.get_attribute("data-pct") == "50"
        full = driver.find_element(By.CSS_SELECTOR,
                                   f"tr[data-id='{ids['delivered']}'] .bar[data-kind='copy']")
        assert full.get_attribute("data-pct") == "100"
        hooks = wait_for(driver, f"tr[data-id='{ids['delivered']}'] td.hooks")
        assert "export.delivered" in hooks[0].text
        # the key is in this tab's session storage only
        assert driver.execute_script("return sessionStorage.getItem('courier-api-key')") == \
            api_key
        assert driver.execute_script("return localStorage.length") == 0
        browser.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(browser.ARTIFACTS / "status-page.png"))
        # WHEN filtered by state THEN only the failed export is left
        Select(driver.find_element(By.ID, "state")).select_by_value("failed")
        [left] = wait_for(driver, "#rows tr", count=1)
        assert left.get_attribute("data-id") == ids["failed"]
        # WHEN the delivered export is opened THEN its delivery attempts are listed
        Select(driver.find_element(By.ID, "state")).select_by_value("")
        wait_for(driver, "#rows tr", count=4)
        driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{ids['delivered']}']").click()
        attempts = wait_for(driver, "#attempts tbody tr")
        assert any("export.delivered" in a.text and "204" in a.text for a in attempts)
        driver.save_screenshot(str(browser.ARTIFACTS / "status-page-detail.png"))


def test_a_destination_is_a_link_only_for_a_web_address(bundle: Any, served: Any,
                                                        api_key: str) -> None:
    from selenium.webdriver.common.by import By

    server, ids = served
    # GIVEN destinations a page must not turn into a script link, and one web address
    store = bundle.store()
    for export_id, uri in ((ids["delivered"], "javascript:alert(document.domain)"),
                           (ids["failed"], " JavaScript:alert(1)"),
                           (ids["copying"], "https://bucket.example/exports/report.csv")):
        task = store.get_task(export_id)
        task.destination = {**task.destination, "uri": uri, "key": f"{export_id}.csv"}
        store.update_task(task)
    with browser.chromium() as driver:
        driver.get(server.url + "/ui")
        wait_for(driver, "#login:not([hidden]) #key")
        driver.find_element(By.ID, "key").send_keys(api_key)
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        wait_for(driver, "#rows tr", count=4)

        def cell(export_id: str) -> Any:
            return driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{export_id}'] td.dest")

        # THEN the script URIs are text (the URI in the tooltip), never a link
        for export_id in (ids["delivered"], ids["failed"]):
            assert cell(export_id).find_elements(By.TAG_NAME, "a") == []
            assert cell(export_id).text == f"{export_id}.csv"
        assert driver.find_elements(By.CSS_SELECTOR, "a[href^='javascript'],a[href*='alert']"
                                    ) == []
        # and the web address is a link that does not hand the page to what it opens
        [link] = cell(ids["copying"]).find_elements(By.TAG_NAME, "a")
        assert link.get_attribute("href") == "https://bucket.example/exports/report.csv"
        assert link.get_attribute("rel") == "noopener noreferrer"


def test_an_export_into_a_named_destination_shows_its_name(bundle: Any, served: Any,
                                                           api_key: str) -> None:
    from selenium.webdriver.common.by import By

    server, ids = served
    # GIVEN a delivered export that named the destination "lake"
    store = bundle.store()
    task = store.get_task(ids["delivered"])
    task.destination_name = "lake"
    task.destination = {**task.destination, "uri": "s3://team-lake/courier/k/report.csv",
                        "key": "k/report.csv"}
    store.update_task(task)
    with browser.chromium() as driver:
        driver.get(server.url + "/ui")
        wait_for(driver, "#login:not([hidden]) #key")
        driver.find_element(By.ID, "key").send_keys(api_key)
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        wait_for(driver, "#rows tr", count=4)
        # THEN its row says where: the destination's name before the key
        row = driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{ids['delivered']}']")
        assert row.find_element(By.CSS_SELECTOR, "td.dest").text == "lake: k/report.csv"
        # AND its detail names the destination and the object's URI
        row.click()
        wait_for(driver, "#detail:not([hidden]) dl")
        pairs = dict(zip((e.text for e in driver.find_elements(By.CSS_SELECTOR, "#detail dt")),
                         (e.text for e in driver.find_elements(By.CSS_SELECTOR, "#detail dd"))))
        assert pairs["destination"] == "lake s3://team-lake/courier/k/report.csv"
