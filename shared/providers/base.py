"""Provider: the interface every export API is adapted to.

A provider is thin, like a hook: the constructor takes connection settings, per-export inputs
are method arguments. It

* ``validate(params)`` — checks and normalises the caller's parameters, raising
  ``ValidationError`` naming the field; nothing is sent to the vendor before this passes;
* ``create(task)`` — makes the one call that starts the export; returns remote ids;
* ``poll(tasks)`` — reads the status of many tasks, batching as the vendor allows
  (tasks with the same ``group_key`` arrive together); may advance multi-stage exports;
* ``result(task)`` — a readable :data:`~shared.model.Source` for a ready task (or a
  :class:`~shared.model.SourceSet` of several), re-reading a short-lived URL when it
  has lapsed;
* ``cancel(task)`` — best effort;
* ``data_window(task)`` — the time window and source the export's data holds (the key
  template's ``{dt}``, ``{hour}``, ``{source}``, …): the vendor's own window parameters
  where the export has them, else the schedule window it was made for, else its acceptance
  time (:func:`window_of`).

Vendor errors never leave a provider as vendor exception types: they become
:class:`~shared.errors.ProviderError` with ``retryable`` set from an explicit code table.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.clock import from_iso
from shared.errors import ProviderError
from shared.keys import DataWindow
from shared.model import ExportTask, Source, SourceSet

log = logging.getLogger(__name__)

# Fields of ``task.result`` that hold secrets (presigned URLs): kept in the state table for
# the completion function, never returned by the API or logged.
SECRET_RESULT_FIELDS = frozenset({"url", "cos_secret_id", "cos_secret_key", "cos_token"})

# Set in ``task.remote`` (by ``exports.submit``) once an attempt may have made the export
# without Courier learning its id: an answer that left it open, or a kill between the vendor
# call and the state write. Cleared only by a create that succeeds; while set, every attempt
# looks for what an earlier call made before it makes one.
CREATE_DOUBT = "create_in_doubt"
# The error of a create whose object another export claimed first (see shared.owners).
CLAIM_LOST_CODE = "CreateClaimLost"
# Whether a vendor object (by id) already belongs to another Courier export; set around a
# create by ``exports.submit`` from the state store. Without one nothing counts as owned.
_owned_elsewhere: ContextVar[Callable[[str], bool] | None] = ContextVar(
    "courier_owned_elsewhere", default=None)


@contextmanager
def adoption_guard(owned_elsewhere: Callable[[str], bool]) -> Iterator[None]:
    """Creates inside the block never adopt a vendor object ``owned_elsewhere`` says is
    another export's."""
    token = _owned_elsewhere.set(owned_elsewhere)
    try:
        yield
    finally:
        _owned_elsewhere.reset(token)


def owned_elsewhere(object_id: Any) -> bool:
    """True when the vendor object ``object_id`` belongs to another Courier export."""
    check = _owned_elsewhere.get()
    return bool(check is not None and object_id and check(str(object_id)))


# What a vendor's file is, by its name (CLS ships ``.tar.gz``, DMS ``.zip``): recorded with
# the result so that a user knows what arrives. Courier does not unpack them.
ARCHIVE_TYPES = ((".tar.gz", "application/gzip"), (".tgz", "application/gzip"),
                 (".zip", "application/zip"), (".gz", "application/gzip"))


def content_type_of(file_name: str | None) -> str | None:
    """The content type of an archive named ``file_name``; None for anything else."""
    name = (file_name or "").lower()
    return next((kind for suffix, kind in ARCHIVE_TYPES if name.endswith(suffix)), None)


def unexpected(what: str, value: Any) -> str:
    """The stage of an export whose last answer held ``what`` = ``value``, which the vendor's
    model does not have: said, never taken for success (``unexpected status 'PAUSED'``)."""
    return f"unexpected {what} {str(repr(value))[:40]}"


class RemoteStatus(str, Enum):
    PENDING = "pending"  # the vendor is still working on it
    WAITING = "waiting"  # waiting on a person (e.g. DMS approval): normal, not a failure
    READY = "ready"  # the file can be fetched
    FAILED = "failed"  # the vendor gave up on it


@dataclass
class Submission:
    """What ``create`` learnt: ids to remember and the first stage."""

    remote: dict[str, Any]
    stage: str | None = None
    # True: one step of a create made of several (e.g. a CLS window split into parts); the
    # remote is kept and ``create`` is called again for the next step, each step with the
    # same before-the-call bookkeeping, in-doubt look and ownership claim as a whole create.
    more: bool = False
    # vendor objects this step made, claimed for the export (besides ``owned_id(remote)``)
    claims: tuple[str, ...] = ()


@dataclass
class PollResult:
    status: RemoteStatus
    progress: int | None = None
    remote: dict[str, Any] = field(default_factory=dict)  # merged into task.remote
    stage: str | None = None  # new stage (None: unchanged)
    result: dict[str, Any] = field(default_factory=dict)  # file info when ready
    reason: str | None = None  # why it failed / what it waits for
    retryable: bool = False  # for FAILED: could creating it again help?
    next_poll_s: float | None = None  # provider's hint for the next look
    # True: the export needs more creates (a CLS part cut off at the cap, re-split): it goes
    # back to ``accepted`` with ``remote`` kept, and the timer creates what is missing.
    resubmit: bool = False


class Provider(ABC):
    name: ClassVar[str]
    # The JSON Schema of an export's ``params`` (:mod:`shared.providers.schema`): the one
    # description of them, read by ``validate`` and served by the registry.
    params_schema: ClassVar[dict[str, Any]]
    # How a create left in doubt is looked for at the vendor before it is made again (kept
    # in the export's ``remote.create_check``); "" means the vendor gives no way to look.
    create_check: ClassVar[str] = ""
    # One cheap read that needs no resource id, ``(action, params)``: ``courier doctor``
    # makes it to learn whether the vendor accepts the credentials.
    access_check: ClassVar[tuple[str, dict[str, Any]] | None] = None

    def check_access(self) -> str | None:
        """Make :attr:`access_check`'s call through the vendor client (a ProviderError when
        the vendor refuses it); the action made, None when the provider has none."""
        api = getattr(self, "api", None)
        if self.access_check is None or api is None:
            return None
        action, params = self.access_check
        api.call(action, dict(params))
        return action

    @abstractmethod
    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return normalised params or raise ValidationError(field, message)."""

    def group_key(self, task: ExportTask) -> str:
        """Tasks with the same key are polled in one ``poll`` call."""
        return task.id

    def shard(self, key: str) -> str:
        """``key`` for this provider's account and region: the deployment's own keeps the
        key as it is; a named account's (COURIER_ACCOUNTS) gets ``@<account>/<region>``, so
        the listing groups and create locks of one account and region never wait on
        another's."""
        settings = getattr(self, "settings", None)
        account = getattr(settings, "account", None)
        return key if account is None else f"{key}@{account}/{getattr(settings, 'region', '')}"

    def owner_shard(self, key: str) -> str:
        """``key`` for the real account this provider's calls reach: the deployment's own
        (or a named account signing with the deployment's keys) keeps the key as it is; a
        named account's gets ``@<owner>`` (:meth:`shared.fleet.Account.owner`: its role's
        owner, or its own key id digested), so two names for one real account share it
        (creates that must not overlap in one account never do, whatever name or region
        they come by), while another account's never waits on it. Without an owner known,
        the account's name and region (:meth:`shard`)."""
        settings = getattr(self, "settings", None)
        if getattr(settings, "account", None) is None:
            return key
        owner = getattr(settings, "owner", None)
        if owner is None and getattr(settings, "assume", None) is None:
            return key  # the deployment's keys: the deployment's account
        return self.shard(key) if owner is None else f"{key}@{owner}"

    def serial_key(self, task: ExportTask) -> str | None:
        """Creates sharing this key never overlap (a lock in the state table); None: free."""
        return None

    def queue_key(self, task: ExportTask) -> str | None:
        """Exports sharing this key run one at a time at the vendor (CloudWatch Logs: one
        active export task per account and region): the oldest accepted one is created once
        the one before it has finished there, the rest wait ``accepted``, in order
        (:mod:`shared.queues`). None: no queue."""
        return None

    def ambiguous(self, code: str | None) -> bool:
        """Whether an error ``code`` from ``create`` leaves open that the export was made.
        Each vendor's base says which of its codes do; by default none does."""
        return False

    def prepare(self, task: ExportTask) -> dict[str, Any]:
        """Bookkeeping stored with the task *before* the create call (merged into
        ``task.remote``), so that an attempt after a lost answer or a kill can tell what
        the call made. Default: nothing."""
        return {}

    @abstractmethod
    def create(self, task: ExportTask) -> Submission: ...

    def owned_id(self, remote: dict[str, Any]) -> str | None:
        """The vendor object a submitted export owns (claimed in the state store, so that
        no other export adopts it); None: nothing exclusive (e.g. a caller's existing task)."""
        return None

    @abstractmethod
    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        """Status per task id. A ProviderError for the whole group may be raised instead."""

    @abstractmethod
    def result(self, task: ExportTask, *, refresh: bool = False) -> Source | SourceSet:
        """Where to read the file, or the files (a :class:`SourceSet`, each copied and listed
        in a manifest). ``refresh`` forces new URLs (the stored ones were refused)."""

    def cancel(self, task: ExportTask) -> None:  # noqa: B027 - optional
        """Ask the vendor to drop the export, where it can."""

    def abandon(self, task: ExportTask) -> None:  # noqa: B027 - optional
        """The export failed for good: stop what it still runs at the vendor (a CLS export
        split into parts: the parts not finished, which would hold up the topic's later
        exports). Best effort; default nothing."""

    def data_window(self, task: ExportTask) -> DataWindow:
        """What the export's data covers, for the key template; providers with window
        parameters of their own override it. Default: :func:`window_of` the task."""
        return window_of(task, region=getattr(getattr(self, "settings", None), "region", None))

    def discard_result(self, task: ExportTask) -> None:  # noqa: B027 - optional
        """After the result was delivered and verified: delete what the provider staged for
        it (CloudWatch Logs' objects in the staging bucket), where that is Courier's to do."""


Outcomes = dict[str, PollResult | ProviderError]  # what poll answers: per task id

# Where an export keeps how it is to be delivered (``task.destination[DELIVERY]``): the
# schedule window it was made for (``window``: start, end, tz) and ``unpack``.
DELIVERY = "options"


def window_of(task: ExportTask, start: datetime | None = None, end: datetime | None = None,
              *, source: Any = None, account: Any = None, region: Any = None) -> DataWindow:
    """The export's :class:`DataWindow`: ``start``/``end`` where the provider read them from
    its parameters, else the schedule window the export was made for, else its acceptance
    time; partitions are named in the schedule's time zone (UTC without one)."""
    made_for = (task.destination.get(DELIVERY) or {}).get("window") or {}
    try:
        tz: Any = ZoneInfo(str(made_for.get("tz") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        tz = timezone.utc
    if start is None or end is None:
        start = from_iso(made_for.get("start")) or task.created_at
        end = from_iso(made_for.get("end")) or start
    return DataWindow(start=start, end=end, tz=tz, region=None if region is None else str(region),
                      source=None if source is None else str(source),
                      account=None if account is None else str(account))


def ms_time(value: Any) -> datetime:
    """A Unix time in milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def poll_each(tasks: Iterable[ExportTask],
              look: Callable[[ExportTask], PollResult]) -> Outcomes:
    """``look`` at every task on its own: a ``ProviderError`` is that task's outcome and the
    other tasks are still looked at."""
    results: Outcomes = {}
    for task in tasks:
        try:
            results[task.id] = look(task)
        except ProviderError as exc:
            results[task.id] = exc
    return results


def is_code(code: str, codes: Iterable[str]) -> bool:
    """Whether ``code`` is one of ``codes`` or below one of them (``ResourceNotFound``
    covers ``ResourceNotFound.TopicNotExist``)."""
    return any(code == c or code.startswith(c + ".") for c in codes)


@contextmanager
def already_gone(*codes: str) -> Iterator[None]:
    """A cancel inside the block that the vendor answers with one of ``codes`` (see
    :func:`is_code`: the thing is gone or finished already) has nothing left to do."""
    try:
        yield
    except ProviderError as exc:
        if not is_code(exc.code, codes):
            raise
        log.info("%s: nothing to cancel (%s)", exc.provider, exc.code)


def create_once(task: ExportTask, create: Callable[[], Submission],
                made_earlier: Callable[[], Submission | None],
                ambiguous: Callable[[str | None], bool]) -> Submission:
    """``create`` for a vendor call that takes no idempotency token, without making the
    export twice. An answer that leaves open whether the call went through (``ambiguous``
    of its code: no answer, a timeout, a server error) is followed by ``made_earlier``,
    which looks for what the call may have made; so is a retry after such an answer (the
    code kept in ``task.error``, or :data:`CREATE_DOUBT` kept). A failed search leaves
    the original error standing. ``made_earlier`` must pass over objects
    :func:`owned_elsewhere`."""
    if in_doubt(task, ambiguous):
        earlier = made_earlier()  # the last try may have gone through after all
        if earlier is not None:
            return earlier
    try:
        return create()
    except ProviderError as exc:
        if not ambiguous(exc.code):
            raise
        try:
            earlier = made_earlier()
        except ProviderError:
            raise exc from None
        if earlier is None:
            raise
        return earlier


def in_doubt(task: ExportTask, ambiguous: Callable[[str | None], bool]) -> bool:
    """Whether the attempt before this one may have made the export already."""
    code = (task.error or {}).get("code")
    return bool(task.remote.get(CREATE_DOUBT)) or code == CLAIM_LOST_CODE or ambiguous(code)
