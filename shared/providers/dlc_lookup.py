"""DLC: the task a create left in doubt made, found with DescribeTasks.

``CreateTasks`` takes no idempotency token and a query run twice is billed twice, so after
an answer that leaves open whether the tasks were made (or a kill before their ids were
stored) DLC's listing is searched: filter ``task-sql-keyword`` (the SDK: a fuzzy match on the
SQL) with the start of the exported statement, from ``StartTime``; then, on our side, the
same statement, database and engine, ``CreateTime`` no earlier than the export's acceptance
less :data:`ADOPT_MARGIN`, not failed or cancelled, and no other export's. The newest wins.
The same SQL run by someone outside Courier in those minutes cannot be told apart.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from shared.model import ExportTask
from shared.providers.base import owned_elsewhere

ADOPT_MARGIN = timedelta(minutes=5)  # clock skew allowed between Courier and DLC
KEYWORD_LEN = 100  # task-sql-keyword: this much of the exported statement
PAGE = 100  # DescribeTasks' largest page
PAGES = 10


def last_statement(sql: str) -> str:
    """The statement whose result is exported: DLC runs ``;``-separated statements as one
    task each, in order."""
    statements = [part.strip() for part in sql.split(";") if part.strip()]
    return statements[-1] if statements else sql.strip()


def same_sql(listed: Any, statement: str) -> bool:
    """Whether a listed task's ``SQL`` is ``statement`` (plain, or base64 as it was sent)."""
    text = str(listed or "").strip()
    if text == statement:
        return True
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return decoded.strip().rstrip(";").strip() == statement


def find_task(api: Any, task: ExportTask, *, start_time: str,
              parse_time: Callable[[Any], datetime | None],
              dead_states: Collection[int]) -> str | None:
    """The id of the newest task running ``task``'s SQL (see the module docstring)."""
    params = task.params
    statement = last_statement(params["SQL"])
    since = task.created_at - ADOPT_MARGIN
    found: list[tuple[datetime, str]] = []
    for page_no in range(PAGES):
        page = api.call("DescribeTasks", {
            "Filters": [{"Name": "task-sql-keyword", "Values": [statement[:KEYWORD_LEN]]}],
            "StartTime": start_time, "Limit": PAGE, "Offset": page_no * PAGE})
        rows = page.get("TaskList") or []
        for info in rows:
            made = parse_time(info.get("CreateTime"))
            if (made is None or made < since or not info.get("Id")
                    or not same_sql(info.get("SQL"), statement)
                    or info.get("DatabaseName") != params["DatabaseName"]
                    or (params.get("DataEngineName")
                        and info.get("DataEngineName") != params["DataEngineName"])
                    or not isinstance(info.get("State"), int)  # outside the model: not ours
                    or info["State"] in dead_states
                    or owned_elsewhere(info["Id"])):
                continue
            found.append((made, str(info["Id"])))
        if len(rows) < PAGE or (page_no + 1) * PAGE >= int(page.get("TotalCount") or 0):
            break
    return max(found)[1] if found else None
