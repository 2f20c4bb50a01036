"""Drive a provider by hand, as the poller would: create, then one poll at a time."""

from __future__ import annotations

from typing import Any

from shared.model import ExportTask, TaskState
from shared.providers.base import PollResult, Provider


def submit(provider: Provider, params: dict[str, Any]) -> ExportTask:
    """Validate and create an export; the task comes back ``submitted``."""
    task = ExportTask(provider=provider.name, params=provider.validate(params))
    sub = provider.create(task)
    task.remote.update(sub.remote)
    task.stage = sub.stage
    task.state = TaskState.SUBMITTED
    return task


def step(provider: Provider, task: ExportTask) -> PollResult:
    """One poll of one task, its outcome applied to the task."""
    outcome = provider.poll([task])[task.id]
    assert isinstance(outcome, PollResult), outcome
    task.remote.update(outcome.remote)
    if outcome.stage:
        task.stage = outcome.stage
    task.result.update(outcome.result)
    return outcome
