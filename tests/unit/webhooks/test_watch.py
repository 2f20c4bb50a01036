"""The stuck and reminder settings, read and checked; each provider's time; what counts as
progress; the chat texts of export.stuck and of a reminder."""

from __future__ import annotations

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.model import ExportTask, TaskState
from shared.providers import REGISTRY
from shared.webhooks import watch
from shared.webhooks.chat.message import Event, compose

BASE = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none"}


def read(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


@pytest.mark.parametrize(("raw", "provider", "seconds"), [
    (None, "cls", 3 * 3600), (None, "dlc", 6 * 3600), (None, "cloudwatch", 6 * 3600),
    (None, "mongodb", 2 * 3600), (None, "dms", 3 * 3600), (None, "unknown", 3 * 3600),
    ("7200", "dlc", 7200), ("7200,dlc=21600", "dlc", 21600), ("7200,dlc=21600", "tcss", 7200),
    ("dlc=21600", "cls", 3 * 3600), ("dms=off", "dms", None), ("0", "cls", None),
], ids=["cls", "dlc", "cloudwatch", "mongodb", "dms", "other", "all", "override",
        "all-beside-override", "override-only", "off", "all-off"])
def test_each_provider_has_its_time(raw: str | None, provider: str,
                                    seconds: float | None) -> None:
    settings = read(**({"COURIER_STUCK_AFTER_S": raw} if raw else {}))
    assert watch.stuck_after(settings, provider) == seconds


def test_every_registered_provider_has_a_default_time() -> None:
    assert set(watch.STUCK_AFTER_S) == set(REGISTRY)


@pytest.mark.parametrize(("env", "problem"), [
    ({"COURIER_STUCK_AFTER_S": "soon"}, "COURIER_STUCK_AFTER_S: item 1 ('soon') must be seconds"),
    ({"COURIER_STUCK_AFTER_S": "30"}, "COURIER_STUCK_AFTER_S: item 1 must be 60 to 2592000"),
    ({"COURIER_STUCK_AFTER_S": "cls=3600,cls=60"}, "COURIER_STUCK_AFTER_S: a provider is named "
                                                  "twice"),
    ({"COURIER_WAITING_REMIND_AFTER_S": "daily"}, "COURIER_WAITING_REMIND_AFTER_S: 'daily' is "
                                                  "not a number of seconds"),
    ({"COURIER_WAITING_REMIND_AFTER_S": "10"}, "COURIER_WAITING_REMIND_AFTER_S: must be at "
                                               "least 60 seconds"),
    ({"COURIER_WAITING_REMINDERS": "-1"}, "COURIER_WAITING_REMINDERS: must be a whole number"),
], ids=["not-seconds", "too-short", "twice", "remind-text", "remind-short", "reminders"])
def test_bad_notice_settings_stop_the_cold_start(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        read(**env)
    assert problem in err.value.message


def test_reminder_settings_are_read() -> None:
    assert read().notices.remind_after_s == 86400 and read().notices.reminders == 7
    off = read(COURIER_WAITING_REMIND_AFTER_S="off", COURIER_WAITING_REMINDERS="3").notices
    assert (off.remind_after_s, off.reminders) == (0, 3)


def test_an_unknown_provider_in_the_stuck_setting_is_named() -> None:
    settings = read(COURIER_STUCK_AFTER_S="3600,clss=7200")
    assert watch.unknown_providers(settings, REGISTRY) == [
        f"COURIER_STUCK_AFTER_S: unknown provider 'clss' (expected one of: "
        f"{', '.join(sorted(REGISTRY))})"]
    assert watch.unknown_providers(read(COURIER_STUCK_AFTER_S="cls=60"), REGISTRY) == []


def test_progress_is_a_change_of_state_stage_progress_round_or_bytes_copied() -> None:
    task = ExportTask(provider="tcss", params={}, state=TaskState.SUBMITTED, progress=40)
    marks = {watch.mark(task)}
    for change in (lambda t: setattr(t, "progress", 41), lambda t: setattr(t, "stage", "b"),
                   lambda t: setattr(t, "state", TaskState.COPYING),
                   lambda t: t.destination.update(copy={"bytes_done": 10}),
                   lambda t: setattr(t, "round", 1)):
        change(task)
        marks.add(watch.mark(task))
    assert len(marks) == 6
    task.attempts, task.due_at, task.remote["x"] = 3, None, 1  # none of these is progress
    assert watch.mark(task) in marks


STUCK = {"type": "export.stuck", "timestamp": "2030-01-01T15:05:00Z", "data": {
    "export_id": "exp_1", "provider": "cls", "state": "submitted", "stage": "queuing",
    "account": "eu-prod", "stalled_since": "2030-01-01T12:00:00Z", "stuck_after_s": 10800,
    "stall": 1, "what_to_do": "See where it is: courier exports get exp_1"}}
REMINDER = {"type": "export.waiting", "timestamp": "2030-01-02T12:00:00Z", "data": {
    "export_id": "exp_2", "provider": "dms", "state": "submitted", "reminder": 1,
    "reason": "still waiting for approval in DMS", "waiting_since": "2030-01-01T12:00:00Z",
    "what_to_do": "have DMS ticket 40000001 approved (or rejected) by its approver"}}


def test_the_chat_texts_say_what_stopped_and_what_to_do() -> None:
    title, text = compose([Event(STUCK)], "https://courier.example.com")
    assert title == "Export stuck"
    assert text.splitlines() == [
        "**Export stuck**", "- export: `exp_1`", "- provider: cls", "- account: eu-prod",
        "- where it is: submitted (queuing)",
        "- no progress since: 2030-01-01 12:00 UTC (stuck after 3 h)",
        "- what to do: See where it is: courier exports get exp_1",
        "- [status page](https://courier.example.com/ui)"]
    title, text = compose([Event(REMINDER)])
    assert title == "Export still waiting (reminder 1)"
    assert "- reason: still waiting for approval in DMS" in text
    assert "- waiting since: 2030-01-01 12:00 UTC" in text
    assert "- what to do: have DMS ticket 40000001 approved" in text
    title, _ = compose([Event(STUCK), Event(STUCK)])
    assert title == "2 exports stuck in the last minute"
