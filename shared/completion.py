"""One ready task: copy the result into the destination, verify it, then notify.

Idempotent under at-least-once invocation: a task that is already delivered, or being copied
under somebody else's live lease, is left alone; the copy itself skips an object that has
already landed with the same size and MD5, and resumes a multipart upload from the parts the
state table recorded.

The copy holds a short lease (:data:`COPY_LEASE_S`) that a heartbeat renews while it runs,
so a killed copy is picked up again by the next tick about a minute later, whatever the
function's timeout; its progress is kept in the state table (:mod:`shared.copy_journal`).
It must end by its deadline: the smaller of ``budget_s`` and the time the enclosing call
deadline leaves (a tick that completes inline); a copy cut off there is retried later from
its stored parts, and counts as a failed attempt only if it stored none.

Every way a copy ends, ends the export: delivered, or back to ready with a retry due, or
failed and announced (``export.failed``), unexpected errors included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared import netguard
from shared.clock import utcnow
from shared.config import Settings
from shared.copy_journal import Heartbeat, TaskJournal
from shared.errors import (
    ConfigError,
    CourierError,
    DestinationUnusableError,
    IntegrityError,
    ProviderError,
    StorageError,
    UnsafeTargetError,
    ValidationError,
    VersionConflictError,
)
from shared.model import ExportTask, SourceSet, TaskState, backoff
from shared.pacing import time_left
from shared.providers import ACCOUNT_CODES, Providers
from shared.providers.base import DELIVERY, Provider
from shared.runtime import metrics
from shared.runtime.context import export_context, note_provider
from shared.state.base import TaskStore
from shared.storage.base import ObjectStore
from shared.storage.protection import ProtectionError
from shared.webhooks import notify

log = logging.getLogger(__name__)

MAX_COPY_ATTEMPTS = 5
# the code a copy failure is recorded under (GET /exports, export.failed): what failed, in
# the product's words; the first kind that matches wins
COPY_CODES: tuple[tuple[type[CourierError], str], ...] = (
    (ProtectionError, "ProtectionNotApplied"),
    (IntegrityError, "IntegrityCheckFailed"),
    (DestinationUnusableError, "DestinationUnusable"),
    (StorageError, "StorageFailed"),
    (UnsafeTargetError, "UnsafeSource"),
    (ConfigError, "SettingMissing"),
    (ValidationError, "InvalidResult"),
)


def failure_code(exc: CourierError) -> str:
    """The code of a failed copy: the vendor's own for a provider's refusal, else the first
    of :data:`COPY_CODES` that matches, else ``CopyFailed``."""
    if isinstance(exc, ProviderError):
        return exc.code
    return next((code for kind, code in COPY_CODES if isinstance(exc, kind)), "CopyFailed")
COPY_LEASE_S = 60.0  # renewed every third of it while the copy runs
class Completer:
    def __init__(self, settings: Settings, store: Callable[[], TaskStore], providers: Providers,
                 destination: Callable[[str | None], ObjectStore],
                 check_url: Callable[[str], None] | None = None) -> None:
        """``destination(name)``: the store of the destination an export names (None: the
        deployment's own; :class:`shared.storage.destinations.Destinations`)."""
        self.settings = settings
        self.store = store
        self.providers = providers
        self.destination = destination
        # the outbound guard: its session checks where every download connection lands
        self.check_url = check_url or netguard.OutboundGuard(tuple(settings.allow_private_hosts))

    def complete(self, export_id: str, *, owner: str, budget_s: float = 600.0,
                 now: datetime | None = None) -> ExportTask:
        """Copy one ready export (see the module doc); its log lines carry its id."""
        with export_context(export_id):
            return self._complete(export_id, owner=owner, budget_s=budget_s, now=now)

    def _complete(self, export_id: str, *, owner: str, budget_s: float,
                  now: datetime | None) -> ExportTask:
        from shared.keys import render_key
        from shared.storage.archives import archive_kind
        from shared.storage.copy import copy_source
        from shared.storage.manifest import MANIFEST_NAME, SetResult, copy_set
        from shared.storage.pipeline import CopyDeadlineError, CopyResult
        from shared.storage.sources import SourceExpiredError
        from shared.storage.unpack import raw_key, set_kind, unpack_archive

        store = self.store()
        task = store.get_task(export_id)
        note_provider(task.provider)
        deadline = time.monotonic() + budget_s
        left = time_left()  # a tick that completes inline passes its own deadline on
        if left is not None:
            deadline = min(deadline, time.monotonic() + left)
        now = now or utcnow()
        if task.state not in (TaskState.READY, TaskState.COPYING):
            log.info("export %s is %s; nothing to complete", task.id, task.state.value)
            return task
        if task.lease_owner and task.lease_until and task.lease_until > now:
            log.info("export %s is being worked on by another invocation", task.id)
            return task
        task.move(TaskState.COPYING)
        lease_s = min(budget_s, COPY_LEASE_S)
        task.lease_owner, task.lease_until = owner, now + timedelta(seconds=lease_s)
        task.due_at = task.lease_until  # if this invocation dies, the timer hands it on
        try:
            task = store.update_task(task)
        except VersionConflictError:
            log.info("export %s changed meanwhile; leaving it", export_id)
            return store.get_task(export_id)

        journal = TaskJournal(store, task)
        heartbeat = Heartbeat(journal, lease_s)
        try:
            provider = self.providers.get(task.provider, task.account)
            target = self.settings.delivery(task.destination_name)
            dest = self.destination(task.destination_name)
            result: CopyResult | SetResult | None = None
            metadata = {"export-id": task.id, "provider": task.provider}
            window = provider.data_window(task)
            raw = task.destination.get("raw")  # landed before: unpack it, ask nobody again
            for refresh in (False, True):
                if raw:
                    break
                source = provider.result(journal.task, refresh=refresh)
                many = isinstance(source, SourceSet)
                file_name = MANIFEST_NAME if many else (
                    task.result.get("file_name") or f"{task.id}.dat")
                kind = None if not self._unpacks(task, target.unpack) else (
                    set_kind(source) if isinstance(source, SourceSet) else
                    archive_kind(file_name))
                key = task.destination.get("key") or render_key(
                    target.key_template or "", provider=task.provider, export_id=task.id,
                    file_name=file_name, when=task.created_at, window=window)
                key = raw_key(key) if kind and not key.startswith("raw/") else key
                if journal.task.destination.get("key") != key:
                    journal.keep_key(key)
                try:
                    if isinstance(source, SourceSet):
                        result = copy_set(source, dest, key, journal=journal,
                                          export_id=task.id, provider=task.provider,
                                          metadata=metadata, part_size=self.settings.part_size,
                                          check_url=self.check_url, deadline=deadline)
                    else:
                        result = copy_source(
                            source, dest, key, part_size=self.settings.part_size,
                            expected_size=task.result.get("size") or None, journal=journal,
                            check_url=self.check_url, metadata=metadata, deadline=deadline)
                    if kind:
                        raw = {"key": result.key, "size": result.size, "md5": result.md5,
                               "kind": kind,
                               "format": self._format(task, target.format)}
                        if isinstance(result, SetResult):  # several archives, each unpacked
                            raw["archives"] = [{**o, "kind": archive_kind(o["name"])}
                                               for o in result.objects]
                        journal.raw_landed(raw)
                    break
                except SourceExpiredError:
                    if refresh:
                        raise
                    log.info("export %s: download URL lapsed; asking for a fresh one", task.id)
            if raw:
                manifest_key = render_key(
                    target.key_template or "", provider=task.provider, export_id=task.id,
                    file_name=MANIFEST_NAME, when=task.created_at, window=window)
                result = unpack_archive(
                    dest, raw, manifest_key, settings=self.settings.unpack, journal=journal,
                    export_id=task.id, provider=task.provider, metadata=metadata,
                    part_size=self.settings.part_size, deadline=deadline)
            assert result is not None
        except VersionConflictError:
            log.info("export %s was taken over during its copy; leaving it", export_id)
            return store.get_task(export_id)
        except CopyDeadlineError as exc:
            heartbeat.stop()
            return self._copy_failed(store, journal.task, exc,
                                     counts=not journal.parts_done and not journal.members())
        except CourierError as exc:  # the copy, the provider, the destination, the settings
            heartbeat.stop()
            return self._copy_failed(store, journal.task, exc)
        except Exception:  # noqa: BLE001 - a copy must never stay "copying" for ever
            heartbeat.stop()
            log.exception("export %s: unexpected error during the copy", task.id)
            return self._copy_failed(store, journal.task, StorageError(
                "unexpected error during the copy; see the function log", retryable=True))
        finally:
            heartbeat.stop()
        task = journal.task
        task.destination.update({"uri": result.uri, "key": result.key, "size": result.size,
                                 "md5": result.md5})
        seconds = max((utcnow() - journal.began).total_seconds(), 1e-3)
        task.destination["copy"] = {
            **journal.progress(), "bytes_done": result.size, "bytes_total": result.size,
            "parts_done": result.parts, "duration_s": round(seconds, 3),
            "throughput_mb_s": round(result.size / seconds / 1e6, 3)}
        if result.server_side:
            task.destination["copied"] = "server-side"
        if protection := dest.protection():  # asked of every object, checked on each
            task.destination["protection"] = {**protection, "verified": "head"}
        extra: dict[str, Any] = {}
        if isinstance(result, SetResult):  # several files: the manifest lists them
            task.destination.pop("files", None)
            task.destination["manifest"] = {"uri": result.uri, "key": result.key,
                                            "size": result.manifest_size, "md5": result.md5}
            task.destination["objects"] = result.parts
            extra.update(manifest=task.destination["manifest"], objects=result.parts,
                         bytes=result.size)
        task.destination.pop("upload_id", None)
        task.destination.pop("source_validator", None)
        task.move(TaskState.DELIVERED)
        task.due_at = None
        task.release()
        task.error = None
        task = store.update_task(task)
        log.info("export %s delivered (%d bytes)", task.id, result.size)
        metrics.add(metrics.BYTES_COPIED, result.size, metrics.BYTES, provider=task.provider)
        metrics.add(metrics.COPY_SECONDS, seconds, metrics.SECONDS, provider=task.provider)
        metrics.add(metrics.ACCEPT_TO_DELIVERED_SECONDS,
                    max(0.0, (utcnow() - task.created_at).total_seconds()), metrics.SECONDS,
                    provider=task.provider)
        link = dest.presign(result.key, self.settings.link_ttl_s) if (
            self.settings.link_ttl_s > 0) else None
        if link:
            extra["download_url"] = link
        notify.notify(store, self.settings, task, "export.delivered", extra)
        self._discard_staged(provider, task)
        return task

    @staticmethod
    def _unpacks(task: ExportTask, default: bool | None) -> bool:
        """Whether the export lands unpacked: its own ``unpack`` (or its schedule's), else
        its destination's (``default``)."""
        chosen = (task.destination.get(DELIVERY) or {}).get("unpack")
        return bool(default) if chosen is None else bool(chosen)

    @staticmethod
    def _format(task: ExportTask, default: str | None) -> str:
        """How the unpacked members are stored: the export's own ``format`` (or its
        schedule's), else its destination's (``default``: a named destination's ``format``,
        else ``COURIER_FORMAT``)."""
        chosen = (task.destination.get(DELIVERY) or {}).get("format")
        return str(chosen or default or "gzip")

    @staticmethod
    def _discard_staged(provider: Provider, task: ExportTask) -> None:
        """Once the delivery is recorded, the provider's staged copy may go; if deleting it
        fails, the export stays delivered and the objects stay (a lifecycle rule on the
        staging prefix catches what is left)."""
        try:
            provider.discard_result(task)
        except CourierError as exc:
            log.warning("export %s: its staged objects were not deleted: %s", task.id,
                        exc.message)

    def _copy_failed(self, store: TaskStore, task: ExportTask,
                     exc: CourierError, *, counts: bool = True) -> ExportTask:
        """Retry later or fail for good (and announce it). ``counts``: whether this try
        counts against :data:`MAX_COPY_ATTEMPTS` (a copy cut off by its deadline after
        storing parts made progress, so it does not)."""
        task.attempts += int(counts)
        # A setting or credential missing after a redeploy may be fixed: try again later.
        retryable = isinstance(exc, ConfigError) or bool(getattr(exc, "retryable", False))
        if retryable and task.attempts < MAX_COPY_ATTEMPTS:
            task.move(TaskState.READY)
            task.due_at = utcnow() + backoff(task.attempts)
            task.note_error(str(exc), code=failure_code(exc), retryable=True)
            log.warning("export %s: copy failed (%s); retrying later", task.id,
                        failure_code(exc))
            task.release()
            return store.update_task(task)
        stage = getattr(exc, "stage", "copy")
        if isinstance(exc, ProviderError) and exc.code in ACCOUNT_CODES:
            # its account taken out of the settings: said as the poll and submit say it
            task.fail(exc.detail, code=exc.code, retryable=False)
        else:
            task.fail(f"{stage} failed: {exc}", code=failure_code(exc), retryable=retryable)
        task.release()
        task = store.update_task(task)
        log.warning("export %s: copy failed for good (%s)", task.id, failure_code(exc))
        notify.notify(store, self.settings, task, "export.failed")
        return task
