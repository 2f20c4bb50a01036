"""Listing groups: the submitted exports one listing call serves, claimed together.

A group is a provider, an account (none: the deployment's own) and the provider's
:meth:`~shared.providers.base.Provider.group_key` (a CLS topic, a MongoDB instance, DLC's running
queries, CloudWatch's region, …). It is stored with the task while it is submitted
(:attr:`ExportTask.poll_group`), so a timer tick claims a whole group at once
(:meth:`~shared.state.base.TaskStore.claim_group`) and every group is listed by one poller
per tick however many pollers run. A provider that lists each export alone gives its id as
the key: such a task has no group and is claimed on its own.

A newly submitted export joins its group's next look when one is due within a poll interval
(:func:`first_look`), so exports of one group created at different times are listed together
rather than each bringing the group back for a listing of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.model import ExportTask, TaskState
from shared.providers import Providers
from shared.state.base import TaskStore
from shared.state.codec import lookup_key


def group_of(providers: Providers, task: ExportTask) -> tuple[str, str, str]:
    """(provider, account, the provider's group key); the key is "" when the provider
    cannot say (the poll of that group reports why)."""
    try:
        key = providers.get(task.provider, task.account).group_key(task)
    except Exception:  # noqa: BLE001 - reported once for the group by the poll
        key = ""
    return task.provider, task.account or "", key


def poll_group(providers: Providers, task: ExportTask) -> str | None:
    """The name a submitted task's group is stored under (at most 160 bytes, as unique keys
    are); None when it is polled on its own, or not submitted."""
    if task.state is not TaskState.SUBMITTED:
        return None
    provider, account, key = group_of(providers, task)
    if not key or key == task.id:
        return None
    return lookup_key(f"{provider}|{account}|{key}")


def first_look(store: TaskStore, group: str | None, now: datetime,
               interval_s: float) -> datetime:
    """When a just-submitted export of ``group`` is first looked at: with the group's
    earliest look already due within [now, now + interval], else one interval from now."""
    latest = now + timedelta(seconds=interval_s)
    if group is None:
        return latest
    return store.group_next_due(group, after=now, until=latest) or latest
