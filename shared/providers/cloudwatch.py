"""AWS CloudWatch Logs export tasks through boto3 (``logs``, API 2014-03-28).

CreateExportTask copies one log group's events between ``from`` and ``to`` into an S3 bucket,
one gzip object per log stream (and more for large streams), under the ``destinationPrefix``
it is given. An account may have one active (PENDING or RUNNING) export task at a time in a
region, ``LimitExceededException`` otherwise: :meth:`CloudwatchProvider.queue_key` names the
account and region, so Courier runs these exports one at a time (:mod:`shared.queues`).

One Courier export may cover several log groups (a prefix or a list): one export task each,
one after the other, every group under its own folder of the export's staging prefix
``<staging prefix>/<export id>/``. When poll finds a group's task COMPLETED it moves the
export's ``index`` on and hands it back (``PollResult.resubmit``): the next group's task is
created by ``exports.submit`` like the first, its create-open marker stored before the call.
The export is ready when the last group's task is COMPLETED; its result is every object
under that prefix (a :class:`SourceSet`).

CreateExportTask takes no idempotency token, but a ``taskName``: each task is named after the
Courier export and group (``<export id>-<n>``), and an answer that leaves open whether the
call went through, or a kill between the call and the state write (the marker found still
set), is followed by a search for a task of that name (``create_once``); a task another
export owns (:mod:`shared.owners`) is never taken over.

Every call (Logs, S3, STS) goes through :class:`~shared.providers.aws.AwsApi`, the shared
vendor client base: drawn from the rate budget, counted, ended by the call deadline (the
boto3 read timeout capped by the time left) and its errors mapped by code.

Polling: one task is described by its id. For several, the active tasks (statusCode PENDING,
then RUNNING: one or two, as the account has at most one) settle every export still running
in two calls; only the tasks no longer active are described one by one, which happens once
in each task's life.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from shared.clouds import aws as cloud
from shared.errors import ProviderError, ValidationError
from shared.keys import DataWindow
from shared.model import ExportTask, S3ObjectSource, SourceSet
from shared.pacing import RateBudget, RateLimiter
from shared.providers import schema as ps
from shared.providers.aws import NO_ANSWER, AwsApi, client
from shared.providers.base import (
    PollResult,
    Provider,
    RemoteStatus,
    Submission,
    already_gone,
    create_once,
    ms_time,
    owned_elsewhere,
    poll_each,
    window_of,
)
from shared.providers.validate import Params
from shared.vendor_settings import AwsSettings

log = logging.getLogger(__name__)

NAME = "cloudwatch"
MAX_GROUPS = 50  # log groups one export may cover (one task each, in turn)
GROUP_NAME = r"[\.\-_/#A-Za-z0-9]{1,512}"  # CloudWatch Logs' pattern for log group names
PAGE = 50  # DescribeExportTasks' and DescribeLogGroups' largest page
MAX_PAGES = 20  # searches by task name stop after this many pages
URL_LIFETIME_S = 3600
DELETE_BATCH = 1000  # DeleteObjects' largest request
WRITE_TEST = "aws-logs-write-test"  # the object CloudWatch Logs writes to test the bucket

STATUS = {
    "PENDING": RemoteStatus.PENDING,
    "RUNNING": RemoteStatus.PENDING,
    "PENDING_CANCEL": RemoteStatus.PENDING,
    "COMPLETED": RemoteStatus.READY,
    "CANCELLED": RemoteStatus.FAILED,
    "FAILED": RemoteStatus.FAILED,
}
# answers that leave open whether a create went through (nothing came back, or a 5xx)
AMBIGUOUS_CODES = frozenset({NO_ANSWER, "ServiceUnavailableException", "InternalFailure",
                             "InternalServerError", "RequestTimeout"})


# The parameters an export of this provider takes (validate() reads their names; the
# OpenAPI document, the CLI, the status page and docs/api.md are made from it).
PARAMS_SCHEMA = ps.obj({
    "logGroupName": ps.text(512, GROUP_NAME, description="One log group"),
    "logGroupNamePrefix": ps.text(512, GROUP_NAME, description=(
        "Every log group starting with this (one export task each, in turn)")),
    "logGroupNames": {**ps.strings(MAX_GROUPS), "minItems": 1, "items": {
        "type": "string", "pattern": f"^(?:{GROUP_NAME})$"},
        "description": "Several log groups (one export task each, in turn)"},
    "from": ps.integer(0, description="Unix time in milliseconds; earlier than to"),
    "to": ps.integer(10**11, description="Unix time in milliseconds"),
    "logStreamNamePrefix": ps.text(512, description="Only the streams starting with this"),
}, ["from", "to"], "CloudWatch Logs export tasks (CreateExportTask), one at a time per "
                   "account and region: exactly one of logGroupName, logGroupNamePrefix "
                   "or logGroupNames. The result is one gzip object per log stream, with "
                   "a manifest.")


class CloudwatchProvider(Provider):
    name = NAME
    params_schema = PARAMS_SCHEMA
    access_check = ("DescribeExportTasks", {"limit": 1})
    create_check = ("DescribeExportTasks by status (PENDING, RUNNING, COMPLETED): the task "
                    "named <export id>-<group>, unless another export owns it")

    def ambiguous(self, code: str | None) -> bool:
        return code in AMBIGUOUS_CODES

    def __init__(self, settings: AwsSettings, *, logs: Any = None, s3: Any = None,
                 sts: Any = None, limiter: RateBudget | None = None,
                 credentials: Any = None) -> None:
        self.settings = settings
        self.limiter = limiter or RateLimiter(rate=5)  # assumption: Logs' low per-action TPS
        # a named account's keys or role: ``credentials``, the account's boto3 Session shared
        # with its other clients (shared.clouds.roles), or one of its own (None: boto3's own
        # chain, the function's role)
        self.session = credentials or cloud.session(
            keys=settings.keys, assume=settings.assume, region=settings.region,
            sts_endpoint=settings.endpoint, account=settings.account)
        self.api = AwsApi(NAME, logs or client("logs", settings.endpoint, settings.region,
                                               self.session), self.limiter)
        self.s3 = AwsApi(NAME, s3 or client("s3", settings.s3_endpoint, settings.region,
                                            self.session), self.limiter)
        self._sts = AwsApi(NAME, sts, self.limiter) if sts is not None else None
        self._account: str | None = None

    # ------------------------------------------------------------------ input
    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p = Params(params, known=ps.fields(PARAMS_SCHEMA))
        given = [n for n in ("logGroupName", "logGroupNamePrefix", "logGroupNames")
                 if params.get(n) is not None]
        if len(given) != 1:
            raise ValidationError("params.logGroupName", "give exactly one of logGroupName, "
                                  "logGroupNamePrefix or logGroupNames")
        out: dict[str, Any] = {"from": p.integer("from", minimum=0),
                               "to": p.integer("to", minimum=0)}
        if given[0] == "logGroupNames":
            names = p.strings("logGroupNames", max_items=MAX_GROUPS)
            for i, name in enumerate(names):
                if not re.fullmatch(GROUP_NAME, name):
                    raise ValidationError(f"params.logGroupNames[{i}]", "is not a log group "
                                          "name (letters, digits and . - _ / #)")
            if not names:
                raise ValidationError("params.logGroupNames", "must name at least one group")
            out["logGroupNames"] = list(dict.fromkeys(names))
        else:
            out[given[0]] = p.text(given[0], max_len=512, pattern=GROUP_NAME)
        if (stream := p.text("logStreamNamePrefix", default=None, max_len=512)) is not None:
            out["logStreamNamePrefix"] = stream
        if out["from"] >= out["to"]:
            raise ValidationError("params.from", "must be earlier than params.to (both are "
                                  "Unix times in milliseconds)")
        if out["to"] < 10**11:
            raise ValidationError("params.to", "must be a Unix time in milliseconds")
        return out

    def group_key(self, task: ExportTask) -> str:
        return self.shard(f"{NAME}:{self.settings.region}")

    def queue_key(self, task: ExportTask) -> str:
        return f"{NAME}:{self._account_id()}:{self.settings.region}"

    # ------------------------------------------------------------------ calls
    def create(self, task: ExportTask) -> Submission:
        """The first group's export task, or (the export back from poll with
        ``resubmit``, its ``index`` moved on) the next group's: every one through
        ``exports.submit``, with its create-open marker stored before the call."""
        if task.remote.get("groups"):
            groups, index = list(task.remote["groups"]), int(task.remote["index"])
            prefix, ids = task.remote["prefix"], list(task.remote.get("taskIds") or [])[:index]
        else:
            groups, index, ids = self._groups(task.params), 0, []
            prefix = f"{self.settings.staging_prefix}/{task.id}"
        remote: dict[str, Any] = {"groups": groups, "index": index, "prefix": prefix}
        task_id = self._start(task, remote, index)
        return Submission(remote={**remote, "taskIds": [*ids, task_id]}, claims=(task_id,),
                          stage=f"group {index + 1} of {len(groups)}")

    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        wanted = {t.remote["taskIds"][-1]: t for t in tasks if t.remote.get("taskIds")}
        infos: dict[str, dict[str, Any]] = {}
        if len(wanted) > 1:
            for code in ("PENDING", "RUNNING"):
                for info in self._list(statusCode=code):
                    if info.get("taskId") in wanted and _code(info) == code:
                        infos[info["taskId"]] = info

        def look(task: ExportTask) -> PollResult:
            task_id = task.remote["taskIds"][-1]
            return self._advance(task, infos.get(task_id) or self._describe(task_id))

        return poll_each(wanted.values(), look)

    def data_window(self, task: ExportTask) -> DataWindow:
        """CloudWatch Logs exports ``from``..``to`` (ms) of its log group (or prefix)."""
        params = task.params
        group = params.get("logGroupName") or params.get("logGroupNamePrefix") or ",".join(
            params.get("logGroupNames") or [])
        return window_of(task, ms_time(params["from"]), ms_time(params["to"]), source=group,
                         account=self._account, region=self.settings.region)

    def result(self, task: ExportTask, *, refresh: bool = False) -> SourceSet:
        prefix = f"{task.remote['prefix']}/"
        bucket = self.settings.staging_bucket
        items = []
        for obj in self._staged(bucket, prefix):
            key = str(obj["Key"])
            if key.rsplit("/", 1)[-1] == WRITE_TEST or key.endswith("/"):
                continue
            url = self.s3.client.generate_presigned_url("get_object", ExpiresIn=URL_LIFETIME_S,
                                                 Params={"Bucket": bucket, "Key": key})
            items.append(S3ObjectSource(url=url, file_name=key[len(prefix):],
                                        size=int(obj["Size"]), bucket=bucket, key=key,
                                        endpoint=self.settings.s3_endpoint))
        return SourceSet(tuple(sorted(items, key=lambda s: s.file_name or "")))

    def discard_result(self, task: ExportTask) -> None:
        """Delete every object staged under the export's prefix (its data, CloudWatch Logs'
        write-test object), a thousand per DeleteObjects call; off with
        ``COURIER_CLOUDWATCH_DELETE_STAGED=off``."""
        if not self.settings.delete_staged or not task.remote.get("prefix"):
            return
        bucket = self.settings.staging_bucket
        keys = [str(o["Key"]) for o in self._staged(bucket, f"{task.remote['prefix']}/")]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": k} for k in keys[start:start + DELETE_BATCH]]
            answer = self.s3.call("DeleteObjects", {"Bucket": bucket,
                                                    "Delete": {"Objects": batch, "Quiet": True}})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise ProviderError(NAME, str(first.get("Code") or "DeleteFailed"),
                                    f"{len(answer['Errors'])} staged objects not deleted: "
                                    f"{first.get('Message') or first.get('Code')}",
                                    retryable=True)
        log.info("deleted the %d staged objects of export %s", len(keys), task.id)

    def cancel(self, task: ExportTask) -> None:
        task_ids = task.remote.get("taskIds") or []
        if task_ids:  # already finished or gone: nothing to stop
            with already_gone("InvalidOperationException", "ResourceNotFoundException"):
                self._call("CancelExportTask", taskId=task_ids[-1])

    # --------------------------------------------------------------- helpers
    def _groups(self, params: dict[str, Any]) -> list[str]:
        if "logGroupName" in params:
            return [params["logGroupName"]]
        if "logGroupNames" in params:
            return list(params["logGroupNames"])
        groups: list[str] = []
        kwargs: dict[str, Any] = {"logGroupNamePrefix": params["logGroupNamePrefix"],
                                  "limit": PAGE}
        while len(groups) <= MAX_GROUPS:
            page = self._call("DescribeLogGroups", **kwargs)
            groups += [str(g["logGroupName"]) for g in page.get("logGroups") or []]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        if not groups:
            raise ProviderError(NAME, "NoLogGroup", "no log group starts with "
                                f"{params['logGroupNamePrefix']!r}", retryable=False)
        if len(groups) > MAX_GROUPS:
            raise ProviderError(NAME, "TooManyLogGroups", f"more than {MAX_GROUPS} log groups "
                                "match the prefix; narrow it", retryable=False)
        return groups

    def _start(self, task: ExportTask, remote: dict[str, Any], index: int) -> str:
        """Start the export task of group ``index``; its id. In doubt (an answer that left
        it open, or a kill after the call: ``create_once``), the task of that name is
        looked for first."""
        name = f"{task.id}-{index}"
        group = remote["groups"][index]
        args: dict[str, Any] = {
            "taskName": name, "logGroupName": group, "fromTime": task.params["from"],
            "to": task.params["to"], "destination": self.settings.staging_bucket,
            "destinationPrefix": f"{remote['prefix']}/{index:03d}-{_safe(group)}"}
        if task.params.get("logStreamNamePrefix"):
            args["logStreamNamePrefix"] = task.params["logStreamNamePrefix"]

        def made() -> Submission:
            answer = self._call("CreateExportTask", **args)
            if not answer.get("taskId"):
                raise ProviderError(NAME, NO_ANSWER, "CreateExportTask answered without "
                                    "taskId", retryable=True)
            return Submission(remote={"taskId": str(answer["taskId"])})

        return str(create_once(task, made, lambda: self._named(name),
                               self.ambiguous).remote["taskId"])

    def _named(self, name: str) -> Submission | None:
        """The export task called ``name``, if an unanswered create made it."""
        for code in ("PENDING", "RUNNING", "COMPLETED"):
            for info in self._list(statusCode=code, pages=MAX_PAGES):
                if (info.get("taskName") == name and _code(info) in (code, None)
                        and not owned_elsewhere(info.get("taskId"))):
                    log.info("export task %s was made by an earlier, unanswered create; "
                             "taking it over", info.get("taskId"))
                    return Submission(remote={"taskId": str(info["taskId"])})
        return None

    def _advance(self, task: ExportTask, info: dict[str, Any]) -> PollResult:
        code = _code(info)
        status = STATUS.get(code or "")
        remote = task.remote
        done = f"group {remote['index'] + 1} of {len(remote['groups'])}"
        if status is None:  # not a documented code (moto's first one is "active"): pending
            return PollResult(RemoteStatus.PENDING, stage=done,
                              reason=f"unknown status {code}")
        if status is RemoteStatus.FAILED:
            message = (info.get("status") or {}).get("message") or code
            return PollResult(status, retryable=code == "FAILED",
                              reason=f"export task of {remote['groups'][remote['index']]} "
                              f"is {code}: {message}")
        if status is RemoteStatus.PENDING:
            return PollResult(status, stage=done)
        index = remote["index"] + 1
        if index < len(remote["groups"]):  # the next group's turn: created by exports.submit
            return PollResult(RemoteStatus.PENDING, remote={"index": index}, resubmit=True,
                              progress=100 * index // len(remote["groups"]),
                              stage=f"group {index + 1} of {len(remote['groups'])}")
        return PollResult(RemoteStatus.READY, progress=100, result={
            "bucket": self.settings.staging_bucket, "prefix": remote["prefix"],
            "content_type": "application/gzip", "groups": len(remote["groups"])})

    def _describe(self, task_id: str) -> dict[str, Any]:
        tasks = self._call("DescribeExportTasks", taskId=task_id).get("exportTasks") or []
        info = next((t for t in tasks if t.get("taskId") == task_id), None)
        if info is None:
            raise ProviderError(NAME, "ResourceNotFoundException", f"export task {task_id} "
                                "is not listed", retryable=False)
        return dict(info)

    def _list(self, pages: int = 1, **filters: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"limit": PAGE, **filters}
        for _ in range(pages):
            page = self._call("DescribeExportTasks", **kwargs)
            found += page.get("exportTasks") or []
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return found

    def _staged(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            page = self.s3.call("ListObjectsV2", kwargs)
            objects += page.get("Contents") or []
            if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
                return objects
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def _account_id(self) -> str:
        if self._account is None:
            if self._sts is None:
                self._sts = AwsApi.build(NAME, "sts", self.settings.endpoint,
                                         self.settings.region, self.limiter, self.session)
            answer = self._sts.call("GetCallerIdentity", {})
            self._account = str(answer.get("Account") or "")
        return self._account

    def _call(self, action: str, **kwargs: Any) -> dict[str, Any]:
        return self.api.call(action, kwargs)


def _code(info: dict[str, Any]) -> str | None:
    code = (info.get("status") or {}).get("code")
    return str(code) if code else None


def _safe(group: str) -> str:
    """A log group name as one key segment."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", group).strip("-") or "group"
