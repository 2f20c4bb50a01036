"""Listing groups: the submitted exports one listing call serves, claimed together.

A group is a provider, an account (none: the deployment's own) and the provider's
:meth:`~shared.providers.base.Provider.group_key` (a CLS topic, a MongoDB instance, DLC's running
queries, CloudWatch's region, …). It is stored with the task while it is submitted
(:attr:`ExportTask.poll_group`), so a timer tick claims a whole group at once
(:meth:`~shared.state.base.TaskStore.claim_group`) and every group is listed by one poller
per tick however many pollers run. A provider that lists each export alone gives its id as
the key: such a task has no group and is claimed on its own.
"""

from __future__ import annotations

from shared.model import ExportTask, TaskState
from shared.providers import Providers
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
