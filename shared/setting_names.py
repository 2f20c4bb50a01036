"""Every environment variable the bundle reads, named once (:mod:`shared.config` parses
them), and the reader of one plain value."""

from __future__ import annotations

from collections.abc import Mapping

# --- environment variable names (the one place they are spelled) ---------------------------
ENV_PROFILE = "COURIER_PROFILE"  # "production" (default) | "sandbox"
ENV_STATE_URL = "COURIER_STATE_URL"
# file:///path | s3://bucket/prefix | cos://bucket/prefix | oss://bucket/prefix
ENV_DESTINATION = "COURIER_DESTINATION"
ENV_KEY_TEMPLATE = "COURIER_KEY_TEMPLATE"
# the destination's protections, JSON {"sse", "kms_key_id", "storage_class", "tags", "retention"}
ENV_DESTINATION_WRITE = "COURIER_DESTINATION_WRITE"
# more destinations by name, JSON {"<name>": {"url", "key_template", "unpack", keys, …}}
ENV_DESTINATIONS = "COURIER_DESTINATIONS"
ENV_AUTH = "COURIER_AUTH"  # "api-key" (default) | "none" (sandbox profile only)
ENV_API_KEYS = "COURIER_API_KEYS"  # comma-separated accepted keys
ENV_WEBHOOK_SECRETS = "COURIER_WEBHOOK_SECRETS"  # whsec_new[,whsec_old during rotation]
ENV_WEBHOOK_URLS = "COURIER_WEBHOOK_URLS"  # default subscribers, comma-separated
# default subscribers with filters: JSON [{"url", "events": [...], "providers": [...]}]
ENV_WEBHOOK_ENDPOINTS = "COURIER_WEBHOOK_ENDPOINTS"
ENV_LINK_TTL = "COURIER_LINK_TTL_S"  # lifetime of the download link in export.delivered
# webhook retry delays in seconds, comma-separated: "0,5,300,1800,7200,18000,36000,36000"
ENV_WEBHOOK_RETRY = "COURIER_WEBHOOK_RETRY_S"
# an endpoint failing without a break for longer than this (seconds) is disabled
ENV_WEBHOOK_DISABLE_AFTER = "COURIER_WEBHOOK_DISABLE_AFTER_S"
# chat bots by name, JSON {"ops": {"kind": "wecom", "url": ..., "secret": ...}} (a secret)
ENV_CHAT_BOTS = "COURIER_CHAT_BOTS"
# named accounts, JSON {"<name>": {"vendor", "region", "site", keys or "role", …}} (a secret)
ENV_ACCOUNTS = "COURIER_ACCOUNTS"
# who hears endpoint.disabled / delivery.dead_lettered: http(s) URLs and chat:<bot name>
ENV_OPERATOR_SUBSCRIBERS = "COURIER_OPERATOR_SUBSCRIBERS"
# export.stuck and export.waiting reminders (setting_values.notice_settings)
ENV_STUCK_AFTER = "COURIER_STUCK_AFTER_S"
ENV_WAITING_REMIND_AFTER = "COURIER_WAITING_REMIND_AFTER_S"
ENV_WAITING_REMINDERS = "COURIER_WAITING_REMINDERS"
NOTICE_ENV = (ENV_STUCK_AFTER, ENV_WAITING_REMIND_AFTER, ENV_WAITING_REMINDERS)
ENV_PUBLIC_URL = "COURIER_PUBLIC_URL"  # the HTTP door's base URL, for links in chat messages
ENV_DISPATCH = "COURIER_DISPATCH"  # "inline" (default) | "lambda" | "scf"
ENV_COMPLETE_FUNCTION = "COURIER_COMPLETE_FUNCTION"  # name of the complete function
ENV_POLL_INTERVAL = "COURIER_POLL_INTERVAL_S"
ENV_LEASE = "COURIER_LEASE_S"
ENV_MAX_BODY = "COURIER_MAX_BODY_BYTES"
ENV_ALLOW_HOSTS = "COURIER_ALLOW_PRIVATE_HOSTS"  # hosts/CIDRs exempt from the SSRF guard
ENV_PART_SIZE = "COURIER_PART_SIZE_MB"
ENV_SCHEDULES = "COURIER_SCHEDULES"  # JSON list of scheduled exports
ENV_METRICS = "COURIER_METRICS"  # "emf" | "log" | "off"; default emf on Lambda, log elsewhere
ENV_LAMBDA_FUNCTION = "AWS_LAMBDA_FUNCTION_NAME"  # set by the Lambda runtime
ENV_S3_ENDPOINT = "COURIER_S3_ENDPOINT"  # an S3-compatible server for s3:// destinations
ENV_S3_REGION = "COURIER_S3_REGION"
ENV_COS_ENDPOINT = "COURIER_COS_ENDPOINT"  # another COS endpoint (the sandbox's gateway)
ENV_OSS_ENDPOINT = "COURIER_OSS_ENDPOINT"  # another OSS endpoint (the sandbox's gateway)
ENV_TENCENT_ENDPOINT = "COURIER_TENCENT_ENDPOINT"  # e.g. http://127.0.0.1:8700 (sandbox)
# "china" (default): <svc>.tencentcloudapi.com; "intl": <svc>.intl.tencentcloudapi.com
ENV_TENCENT_SITE = "COURIER_TENCENT_SITE"
ENV_CLS_MAX_PARTS = "COURIER_CLS_MAX_PARTS"  # CLS exports one window may be split into
TENCENT_SITES = ("china", "intl")
ENV_DMS_ENDPOINT = "COURIER_DMS_ENDPOINT"
ENV_TC_SECRET_ID = "TENCENTCLOUD_SECRETID"
ENV_TC_SECRET_KEY = "TENCENTCLOUD_SECRETKEY"
ENV_TC_TOKEN = "TENCENTCLOUD_SESSIONTOKEN"
ENV_TC_REGION = "TENCENTCLOUD_REGION"
ENV_TC_APPID = "TENCENTCLOUD_APPID"  # the account's APPID: completes a bucket named without it
ENV_ALI_AK = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ALI_SK = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_ALI_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
ENV_ALI_REGION = "ALIBABA_CLOUD_REGION_ID"
# the cloudwatch provider: the bucket (and key prefix) CloudWatch Logs stages its exports in
ENV_CW_BUCKET = "COURIER_CLOUDWATCH_BUCKET"
ENV_CW_PREFIX = "COURIER_CLOUDWATCH_PREFIX"
ENV_CW_ENDPOINT = "COURIER_CLOUDWATCH_ENDPOINT"  # another Logs endpoint (the sandbox's gateway)
ENV_CW_DELETE = "COURIER_CLOUDWATCH_DELETE_STAGED"  # on | off: staged objects after delivery
SWITCH = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}
ENV_AWS_REGION = "AWS_REGION"  # set by Lambda; the region CloudWatch Logs is asked in
ENV_SECRET_TTL = "COURIER_SECRET_TTL_S"  # how long a value read from a store is kept
ENV_UNPACK = "COURIER_UNPACK"  # on | off: archives land unpacked, one gzip object per member
ENV_UNPACK_KEEP_RAW = "COURIER_UNPACK_KEEP_RAW"  # on | off: the archive stays under raw/
ENV_UNPACK_MAX_MEMBER = "COURIER_UNPACK_MAX_MEMBER_MB"  # one member, unpacked
ENV_UNPACK_MAX_TOTAL = "COURIER_UNPACK_MAX_TOTAL_MB"  # one archive's members, unpacked
ENV_UNPACK_MAX_RATIO = "COURIER_UNPACK_MAX_RATIO"  # unpacked bytes per archive byte
ENV_FORMAT = "COURIER_FORMAT"  # gzip | parquet: how unpacked CSV/JSON members are stored
ENV_PARQUET_TMP = "COURIER_PARQUET_TMP_MB"  # a member, gzip'd, and its Parquet file in /tmp
UNPACK_ENV = (ENV_UNPACK, ENV_UNPACK_KEEP_RAW, ENV_UNPACK_MAX_MEMBER, ENV_UNPACK_MAX_TOTAL,
              ENV_UNPACK_MAX_RATIO, ENV_FORMAT, ENV_PARQUET_TMP)
ENV_AWS_SECRETS_ENDPOINT = "COURIER_AWS_SECRETS_ENDPOINT"  # another Secrets Manager/SSM

DEFAULT_KEY_TEMPLATE = "{provider}/{yyyy}/{mm}/{dd}/{export_id}/{file_name}"


def env_text(env: Mapping[str, str], name: str) -> str | None:
    """``name``'s value in ``env``, stripped; None when unset or blank."""
    raw = env.get(name)
    return raw.strip() if raw and raw.strip() else None
