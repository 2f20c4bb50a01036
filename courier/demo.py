"""``make demo``: the whole round trip on this machine, against the sandbox.

Starts the provider sandbox, moto's server behind the CloudWatch Logs gateway
(:mod:`courier.demo_aws`) and a webhook receiver, points the bundle at them (SQLite state,
a local-folder bucket), creates exports through the real create handler with API-gateway
events from ``events/``, runs the timer handler until every export is delivered, checks the
files and the signed webhooks, and prints a summary ending in ``demo: N/N exports delivered``.

Files land the way users query them: unpacked (``COURIER_UNPACK=on``) under
:data:`KEY_TEMPLATE`'s Hive-style partitions of each export's data window; the demo reads its
first CLS export back with DuckDB and prints the query and its answer beside what the sandbox
exported. One CLS export names the second destination ``archive`` (``COURIER_DESTINATIONS``:
another bucket folder, its own key template, archives kept whole).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from courier.demo_aws import GROUP as CW_GROUP

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
KEY_TEMPLATE = "{provider}/{source}/dt={dt}/hour={hour}/{export_id}/{file_name}"
ARCHIVE = "archive"  # the demo's second destination
ARCHIVE_TEMPLATE = "{provider}/{yyyy}{mm}{dd}/{export_id}/{file_name}"
# a second account (another CAM uin), reached through a role assumed with STS, in Shanghai
SECOND_UIN = "100000000002"
SECOND_ROLE = f"qcs::cam::uin/{SECOND_UIN}:roleName/courier-export"
ACCOUNTS = {"shanghai": {"vendor": "tencent", "region": "ap-shanghai", "role": SECOND_ROLE,
                         "external_id": "courier-demo"}}
SECOND_TOPIC = "topic-shanghai-orders"


def demo_exports(now_ms: int, cloudwatch: tuple[int, int] | None = None
                 ) -> list[tuple[str, dict[str, Any]]]:
    """(event file, request body) per export: every provider the sandbox serves, and
    CloudWatch Logs over ``cloudwatch`` (from, to) when moto runs."""
    hour = 3_600_000
    top = now_ms - now_ms % hour  # windows of whole clock hours: one partition each
    if cloudwatch is not None:  # the clock hour that holds the seeded events
        cw_from = (cloudwatch[1] - 120_000) - (cloudwatch[1] - 120_000) % hour
        cloudwatch = (cw_from, cw_from + hour)
    aws = [] if cloudwatch is None else [
        ("aws_http_api_post_exports_cloudwatch.json",
         {"provider": "cloudwatch", "params": {"logGroupName": CW_GROUP,
                                               "from": cloudwatch[0], "to": cloudwatch[1]}})]
    return aws + [
        ("scf_apigw_post_exports.json",
         {"provider": "cls", "params": {"TopicId": "topic-app-logs", "From": top - hour,
                                        "To": top, "Query": "level:ERROR"}}),
        ("aws_http_api_post_exports.json",
         {"provider": "cls", "params": {"TopicId": "topic-app-logs", "From": top - 2 * hour,
                                        "To": top - hour, "Format": "csv"}}),
        ("aws_apigw_rest_post_exports.json",
         {"provider": "cls", "params": {"TopicId": "topic-audit", "From": top - hour,
                                        "To": top}, "destination": ARCHIVE}),
        ("scf_apigw_post_exports.json",  # in the second account, through its role
         {"provider": "cls", "account": "shanghai",
          "params": {"TopicId": SECOND_TOPIC, "From": top - hour, "To": top}}),
        ("scf_apigw_post_exports.json",
         {"provider": "mongodb", "params": {"InstanceId": "cmgo-demo0001",
                                            "StartTime": "2026-11-21 00:00:00",
                                            "EndTime": "2026-11-21 01:00:00",
                                            "LogLevels": ["ERROR"]}}),
        ("aws_http_api_post_exports.json",
         {"provider": "tcss", "params": {"Action": "CreateImageExportJob",
                                         "Params": {"Limit": 1000}}}),
        ("aws_http_api_post_exports.json",
         {"provider": "dlc", "params": {"SQL": "SELECT region, sum(amount) FROM orders "
                                               "GROUP BY region", "DatabaseName": "sales"}}),
        ("scf_apigw_post_exports.json",
         {"provider": "dms", "params": {"Tid": 1, "DbId": 1234, "InstanceId": 77,
                                        "Comment": "monthly orders",
                                        "ExeSQL": "SELECT * FROM orders WHERE month = 11"}}),
    ]


def http_event(name: str, body: dict[str, Any], api_key: str, idem: str) -> dict[str, Any]:
    event = json.loads((EVENTS / name).read_text())
    event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    headers = {k: v for k, v in (event.get("headers") or {}).items()
               if k.lower() not in ("x-api-key", "authorization", "idempotency-key")}
    headers["x-api-key"] = api_key
    headers["idempotency-key"] = idem
    event["headers"] = headers
    return event


def run(timeout_s: float = 55.0, out: Any = None) -> int:
    out = out or sys.stdout
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {text}", file=out, flush=True)

    from courier.local import LocalContext
    from courier.receiver import Receiver
    from sandbox import Sandbox

    # the embedded defaults, so `courier exports list` (and `courier ui`) see the demo's
    # exports afterwards; each run's idempotency keys are its own
    work = ROOT / ".courier"
    work.mkdir(parents=True, exist_ok=True)
    run_id = secrets.token_hex(4)
    sb = Sandbox(port=0, **sandbox_speed())
    sb.start()
    sb.add_account(SECOND_UIN, roles=[(SECOND_ROLE, "courier-demo")], topics=[SECOND_TOPIC])
    secret = "whsec_" + __import__("base64").b64encode(secrets.token_bytes(24)).decode()
    receiver = Receiver(secret).start()
    api_key = secrets.token_urlsafe(24)
    os.environ.update(demo_env(sb, work, api_key, secret, receiver.url))
    from sandbox.chatbots import ChatBots

    chat = ChatBots().start()
    wecom = chat.add("wecom")
    os.environ.update(chat_env(wecom.url))
    aws, window = start_aws(say)
    from functions import common, create_export, poll_tasks

    common.reset()
    say(f"sandbox at {sb.url}; state {work / 'state.db'}; bucket {work / 'bucket'}; "
        f"destination {ARCHIVE} {work / ARCHIVE}")
    now_ms = int(time.time() * 1000)
    ids: list[str] = []
    for i, (event_name, body) in enumerate(demo_exports(now_ms, window)):
        event = http_event(event_name, body, api_key, f"demo-{run_id}-{i}")
        answer = create_export.handler(event, LocalContext())
        task = json.loads(answer["body"])
        if answer["statusCode"] != 202:
            say(f"create via {event_name} answered {answer['statusCode']}: {task}")
            continue
        ids.append(task["id"])
        where = f", account {task['account']}" if task.get("account") else ""
        where += f", into destination {task['destination_name']}" if task.get(
            "destination_name") else ""
        say(f"{task['id']} {task['provider']:<8} {task['state']:<10} (via {event_name}{where})")

    bundle = common.bundle()
    store = bundle.store()
    seen: dict[str, str] = {}
    timer = json.loads((EVENTS / "scf_timer.json").read_text())
    approved: set[str] = set()
    while time.monotonic() - started < timeout_s:
        poll_tasks.handler(timer, LocalContext(30))
        done = True
        for export_id in ids:
            task = store.get_task(export_id)
            label = task.state.value + (f"/{task.stage}" if task.stage else "")
            if seen.get(export_id) != label:
                seen[export_id] = label
                say(f"{export_id} {task.provider:<8} {label}")
            if task.stage == "waiting" and export_id not in approved:
                approved.add(export_id)
                approve(sb, task, api_key, say)
            done = done and task.state.terminal
        hooks = {r.payload.get("data", {}).get("export_id") for r in receiver.delivered()}
        if done and all(i in hooks for i in ids):
            break
        time.sleep(0.5)

    chat_line(chat, wecom, ids, timer, started + timeout_s + 10, out)
    delivered = summary(store, ids, receiver, say, out)
    query_landed(store, ids, sb, work / "bucket", out)
    calls = dict(getattr(sb, "calls", {}))
    if aws is not None:
        calls.update({("logs", action): n for action, n in aws.gateway.calls.items()})
    if calls:
        spent = ", ".join(f"{svc}.{action}={n}" for (svc, action), n in sorted(calls.items()))
        say(f"provider API calls: {spent}")
    receiver.stop()
    chat.stop()
    if aws is not None:
        aws.stop()
    sb.stop()
    print("look at them: .venv/bin/courier exports list  (or .venv/bin/courier ui)", file=out)
    print(f"demo: {delivered}/{len(ids)} exports delivered", file=out, flush=True)
    return 0 if ids and delivered == len(ids) else 1


def start_aws(say: Any) -> tuple[Any, tuple[int, int] | None]:
    """moto behind the CloudWatch Logs gateway, seeded, with the bundle pointed at it; (None,
    None) without moto (the export is then left out)."""
    from courier.demo_aws import DemoAws

    try:
        aws = DemoAws().start()
    except ImportError:
        say("cloudwatch left out: moto[server] is not installed (make .venv/.installed)")
        return None, None
    os.environ.pop("AWS_PROFILE", None)  # moto's fake keys only, never a real profile
    os.environ.update(aws.env())
    window = aws.seed()
    say(f"moto at {aws.moto_url}, CloudWatch Logs gateway at {aws.gateway.url}")
    return aws, window


def approve(sb: Any, task: Any, api_key: str, say: Any) -> None:
    """Play the DMS approver, then ask Courier to look again rather than wait a minute."""
    from courier.local import LocalContext
    from functions import create_export

    sb.dms.approve(task.remote["OrderId"])
    event = http_event("scf_apigw_post_exports.json", {}, api_key, f"check-{task.id}")
    event["body"] = ""
    event["path"] = event["requestContext"]["path"] = f"/exports/{task.id}/check"
    answer = create_export.handler(event, LocalContext())
    say(f"{task.id} dms      ticket {task.remote['OrderId']} approved in DMS; "
        f"POST /exports/{task.id}/check -> {answer['statusCode']}")


def summary(store: Any, ids: list[str], receiver: Any, say: Any, out: Any) -> int:
    rows = [("export", "provider", "state", "key in the bucket", "bytes", "md5", "webhook",
             "account")]
    delivered = 0
    for export_id in ids:
        task = store.get_task(export_id)
        dest = task.destination or {}
        md5_ok = ""
        uri = str(dest.get("uri") or "")
        if uri.startswith("file://") and dest.get("md5"):
            path = Path(unquote(uri[len("file://"):]))
            md5_ok = "ok" if _md5(path) == dest["md5"] else "MISMATCH"
            if md5_ok == "ok" and dest.get("manifest"):  # several files: check each listed
                md5_ok = _check_manifest(path, str(dest.get("key") or ""),
                                         int(dest.get("objects") or 0))
        hooks = [r for r in receiver.received
                 if r.payload.get("data", {}).get("export_id") == export_id]
        ok = [r.event_type for r in hooks if r.verified and r.status < 300]
        webhook = (f"{', '.join(ok)} verified" if ok else
                   f"{len(hooks)} tries, none verified" if hooks else "none")
        if task.state.value == "delivered" and md5_ok == "ok" and "export.delivered" in ok:
            delivered += 1
        key = str(dest.get("key") or "-")
        if task.destination_name:  # a named destination: another bucket
            key = f"{task.destination_name}: {key}"
        if dest.get("manifest"):
            key += f" ({dest.get('objects')} objects)"
        rows.append((export_id, task.provider, task.state.value, key,
                     str(dest.get("size", "-")), f"{dest.get('md5', '-')} {md5_ok}".strip(),
                     webhook, task.account or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(file=out)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)), file=out)
    print(file=out)
    return delivered


def query_landed(store: Any, ids: list[str], sb: Any, bucket: Path, out: Any) -> None:
    """Read the first CLS export back with DuckDB by its Hive partition; print the query,
    its answer and what the sandbox exported (rows, sum of ``seq``)."""
    task = next((t for t in map(store.get_task, ids)
                 if t.provider == "cls" and (t.destination or {}).get("manifest")), None)
    if task is None:
        print("query: no CLS export landed unpacked", file=out)
        return
    try:
        import duckdb
    except ImportError:
        print("query: skipped, duckdb is not installed (make .venv/.installed)", file=out)
        return
    folder = str(task.destination["manifest"]["key"]).rsplit("/", 1)[0]
    dt, hour = (part.split("=", 1)[1] for part in folder.split("/")[2:4])
    topic, export_id = task.params["TopicId"], task.id
    sql = (f"SELECT count(*), sum(seq) FROM read_json_auto('{bucket}/cls/{topic}/*/*/"
           f"{export_id}/*.json.gz', hive_partitioning = true) "
           f"WHERE dt = '{dt}' AND hour = '{hour}'")
    with duckdb.connect() as con:
        rows, total = con.execute(sql).fetchall()[0]
    expected = exported(sb.files.get(task.remote["ExportId"]).data)
    verdict = "ok" if (rows, total) == expected else "MISMATCH"
    print(f"query: {sql}", file=out)
    print(f"answer: {rows} rows, sum(seq) = {total}; the sandbox exported {expected[0]} rows, "
          f"sum {expected[1]} {verdict}", file=out, flush=True)


def exported(archive: bytes) -> tuple[int, int]:
    """(rows, sum of ``seq``) of the NDJSON member of a sandbox ``.tar.gz``."""
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        member = tar.extractfile(tar.getmembers()[0])
        lines = member.read().splitlines() if member is not None else []
    seqs = [int(json.loads(line)["seq"]) for line in lines if line.strip()]
    return len(seqs), sum(seqs)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _check_manifest(path: Path, key: str, objects: int) -> str:
    """"ok" when every object the manifest lists is in the bucket with its size and MD5
    (``path`` is the manifest's file, ``key`` its key: the keys it lists are the bucket's)."""
    manifest = json.loads(path.read_text())
    listed = manifest.get("objects") or []
    if not listed:
        return "MISMATCH"
    bucket = path.parents[len(Path(key).parts) - 1]
    good = [o for o in listed if (bucket / o["key"]).is_file()
            and (bucket / o["key"]).stat().st_size == o["size"]
            and _md5(bucket / o["key"]) == o["md5"]]
    return "ok" if len(good) == len(listed) == objects else "MISMATCH"


def chat_env(bot_url: str) -> dict[str, str]:
    """The sandbox WeCom bot hears every export's end (a chat subscriber, docs/configuration.md)."""
    return {"COURIER_CHAT_BOTS": json.dumps({"demo": {"kind": "wecom", "url": bot_url}}),
            "COURIER_WEBHOOK_ENDPOINTS": json.dumps(
                [{"chat": "demo", "events": ["export.delivered", "export.failed"]}])}


def chat_line(chat: Any, bot: Any, ids: list[str], timer: dict[str, Any], until: float,
              out: Any) -> None:
    """Wait for the bot's messages (at most 18 a minute: later ones come as a digest), then
    say what it received."""
    from courier.local import LocalContext
    from functions import poll_tasks

    def heard() -> set[str]:
        return {i for m in chat.received(bot) for i in ids if i in m.text}

    while heard() != set(ids) and time.monotonic() < until:
        poll_tasks.handler(timer, LocalContext(30))
        time.sleep(0.5)
    messages = chat.received(bot)
    first = messages[0].text.splitlines()[0] if messages else "-"
    print(f"chat: the sandbox WeCom bot received {len(messages)} message(s) covering "
          f"{len(heard())}/{len(ids)} exports, {len(chat.refusals(bot))} refused; first: {first}",
          file=out, flush=True)


def sandbox_speed() -> dict[str, Any]:
    return {}


def demo_env(sb: Any, work: Path, api_key: str, secret: str, hook_url: str) -> dict[str, str]:
    secret_id, secret_key = sb.credentials
    ali_key, ali_secret = sb.dms.credentials
    return {
        "COURIER_PROFILE": "sandbox",
        "COURIER_AUTH": "api-key",
        "COURIER_API_KEYS": api_key,
        "COURIER_STATE_URL": f"sqlite:///{work / 'state.db'}",
        "COURIER_DESTINATION": f"file://{work / 'bucket'}",
        "COURIER_WEBHOOK_SECRETS": secret,
        "COURIER_WEBHOOK_URLS": hook_url,
        "COURIER_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
        "COURIER_POLL_INTERVAL_S": "1",
        "COURIER_DISPATCH": "inline",
        "TENCENTCLOUD_SECRETID": secret_id,
        "TENCENTCLOUD_SECRETKEY": secret_key,
        "TENCENTCLOUD_REGION": "ap-guangzhou",
        "COURIER_TENCENT_ENDPOINT": sb.url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ali_key,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ali_secret,
        "COURIER_DMS_ENDPOINT": sb.url,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "COURIER_METRICS": "off",  # the summary is the demo's output
        "COURIER_KEY_TEMPLATE": KEY_TEMPLATE,
        "COURIER_UNPACK": "on",
        "COURIER_DESTINATIONS": json.dumps({ARCHIVE: {
            "url": f"file://{work / ARCHIVE}", "key_template": ARCHIVE_TEMPLATE,
            "unpack": False}}),
        "COURIER_ACCOUNTS": json.dumps(ACCOUNTS),
    }
