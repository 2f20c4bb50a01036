"""A scheduled export carries its window, zone and unpack choice: a provider without a window
of its own (TCSS) files it under the schedule's window in the schedule's zone."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from shared import schedules
from shared.bundle import Bundle
from shared.config import Settings
from shared.keys import render_key
from shared.runtime.events import TimerTrigger

TCSS_DAILY = {"name": "tcss-daily", "provider": "tcss", "every_s": 86400,
              "timezone": "Asia/Shanghai", "unpack": True,
              "params": {"Action": "CreateImageExportJob", "Params": {"Limit": 10}}}


def test_a_scheduled_export_is_filed_under_its_window_in_the_schedules_zone(
        courier_env: dict[str, str], sandbox: Any) -> None:
    b = Bundle(Settings.from_env({**courier_env, "COURIER_SCHEDULES": json.dumps([TCSS_DAILY]),
                                  "COURIER_KEY_TEMPLATE": "{provider}/{source}/dt={dt}/"
                                                          "{export_id}/{file_name}"}))
    try:
        # WHEN the daily schedule fires at 00:30 Shanghai time (16:30 UTC the day before)
        at = datetime(2026, 11, 21, 16, 30, tzinfo=timezone.utc)
        [made] = schedules.fire(b.store(), b.providers, b.settings,
                                TimerTrigger("tcss-daily", at.isoformat(), "tcss-daily"))
        task = b.store().get_task(made["export_id"])
        # THEN the export remembers the window it was made for and the schedule's choice
        options = task.destination["options"]
        assert options == {"unpack": True, "window": {
            "start": "2026-11-20T16:00:00Z", "end": "2026-11-21T16:00:00Z",
            "tz": "Asia/Shanghai"}}
        # AND its key names the window's Shanghai date, not the day it was created
        window = b.providers.get("tcss").data_window(task)
        key = render_key(b.settings.key_template, provider="tcss", export_id=task.id,
                         file_name="x.jsonl", when=task.created_at, window=window)
        assert key == f"tcss/CreateImageExportJob/dt=2026-11-21/{task.id}/x.jsonl"
    finally:
        b.store().close()
