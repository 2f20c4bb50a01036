"""Settings, parsed once from plain values into frozen dataclasses.

Explicit argument beats environment beats default. Every environment variable the bundle
reads is named in :mod:`shared.setting_names` and nowhere else, and the vendor settings are
in :mod:`shared.vendor_settings`; ``Settings.from_env`` fails at cold start on bad values
with a ``ConfigError`` naming the variable. It does no I/O: settings that name a secret store
or a file are resolved before it (:mod:`shared.secret_stores`, :mod:`shared.bundle`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from shared.errors import ConfigError, ValidationError
from shared.fleet import (
    Account,
    NamedDestination,
    check_accounts,
    delivered_by,
    destinations,
    parquet_without_unpacking,
    parse_accounts,
)
from shared.keys import render_key
from shared.redact import url_passwords
from shared.setting_names import (
    DEFAULT_KEY_TEMPLATE,
    ENV_ACCOUNTS,
    ENV_ALI_AK,
    ENV_ALI_REGION,
    ENV_ALI_SK,
    ENV_ALI_TOKEN,
    ENV_ALLOW_HOSTS,
    ENV_API_KEYS,
    ENV_AUTH,
    ENV_AWS_REGION,
    ENV_CHAT_BOTS,
    ENV_CLS_MAX_PARTS,
    ENV_COMPLETE_FUNCTION,
    ENV_CW_BUCKET,
    ENV_CW_DELETE,
    ENV_CW_ENDPOINT,
    ENV_CW_PREFIX,
    ENV_DESTINATION,
    ENV_DESTINATION_WRITE,
    ENV_DESTINATIONS,
    ENV_DISPATCH,
    ENV_DMS_ENDPOINT,
    ENV_KEY_TEMPLATE,
    ENV_LAMBDA_FUNCTION,
    ENV_LEASE,
    ENV_LINK_TTL,
    ENV_MAX_BODY,
    ENV_METRICS,
    ENV_OPERATOR_SUBSCRIBERS,
    ENV_OSS_ENDPOINT,
    ENV_PART_SIZE,
    ENV_POLL_INTERVAL,
    ENV_PROFILE,
    ENV_PUBLIC_URL,
    ENV_SCHEDULES,
    ENV_STATE_URL,
    ENV_TC_APPID,
    ENV_TC_REGION,
    ENV_TC_SECRET_ID,
    ENV_TC_SECRET_KEY,
    ENV_TC_TOKEN,
    ENV_TENCENT_ENDPOINT,
    ENV_TENCENT_SITE,
    ENV_WEBHOOK_DISABLE_AFTER,
    ENV_WEBHOOK_ENDPOINTS,
    ENV_WEBHOOK_RETRY,
    ENV_WEBHOOK_SECRETS,
    ENV_WEBHOOK_URLS,
    NOTICE_ENV,
    SWITCH,
    TENCENT_SITES,
    UNPACK_ENV,
    env_text,
)
from shared.setting_values import (
    CHAT_PREFIX,
    ChatBot,
    NoticeSettings,
    UnpackSettings,
    api_keys,
    chat_bots,
    json_value,
    notice_settings,
    parse_destination,
    retry_delays,
    subscriber_list,
    subscribers,
    unknown_accounts,
    unpack_settings,
    webhook_secrets,
)
from shared.vendor_settings import (
    AlibabaSettings,
    AwsSettings,
    StorageSettings,
    TencentSettings,
)
from shared.windows import check_schedules, parse_schedules
from shared.write_options import (
    NO_OPTIONS,
    WriteOptions,
    check_backend,
    check_named_writes,
    write_options,
)


@dataclass(frozen=True)
class Settings:
    state_url: str = "sqlite:///.courier/state.db"
    destination: str = "file://.courier/bucket"
    destination_write: WriteOptions = NO_OPTIONS  # COURIER_DESTINATION_WRITE
    key_template: str = DEFAULT_KEY_TEMPLATE
    profile: str = "production"
    auth: str = "api-key"
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    webhook_urls: tuple[str, ...] = ()
    webhook_endpoints: tuple[dict[str, Any], ...] = ()
    link_ttl_s: int = 3600
    webhook_retry_s: tuple[float, ...] | None = None  # None: webhooks.RETRY_SCHEDULE_S
    webhook_disable_after_s: float | None = None  # None: webhooks.DISABLE_AFTER
    chat_bots: tuple[ChatBot, ...] = ()
    accounts: tuple[Account, ...] = ()  # COURIER_ACCOUNTS
    destinations: tuple[NamedDestination, ...] = ()  # COURIER_DESTINATIONS
    operator_subscribers: tuple[str, ...] = ()
    notices: NoticeSettings = field(default_factory=NoticeSettings)  # stuck, reminders
    public_url: str | None = None
    dispatch: str = "inline"
    complete_function: str | None = None
    poll_interval_s: float = 30.0
    lease_s: float = 120.0
    max_body_bytes: int = 64 * 1024
    allow_private_hosts: tuple[str, ...] = ()
    part_size: int = 8 * 1024 * 1024
    schedules: tuple[dict[str, Any], ...] = ()
    metrics: str = "log"
    tencent: TencentSettings | None = None
    alibaba: AlibabaSettings | None = None
    aws: AwsSettings | None = None
    storage: StorageSettings = field(default_factory=StorageSettings)
    unpack: UnpackSettings = field(default_factory=UnpackSettings)
    # values read from secret stores (for the log redactor); when to read them again
    resolved_secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)
    refresh_at: float | None = field(default=None, compare=False)

    @property
    def sandbox(self) -> bool:
        return self.profile == "sandbox"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The settings ``env`` (the process environment when None) holds, plain values only;
        ``overrides`` win over it."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}

        def text(name: str) -> str | None:
            return env_text(env, name)

        def items(name: str) -> tuple[str, ...]:
            raw = text(name)
            return tuple(p.strip() for p in raw.split(",") if p.strip()) if raw else ()

        def number(name: str, minimum: float) -> float | None:
            raw = text(name)
            if raw is None:
                return None
            try:
                value = float(raw)
            except ValueError as exc:
                raise ConfigError(f"{name}: {raw!r} is not a number") from exc
            if value < minimum:
                raise ConfigError(f"{name}: must be at least {minimum}")
            return value

        for attr, name in (("state_url", ENV_STATE_URL), ("destination", ENV_DESTINATION),
                           ("key_template", ENV_KEY_TEMPLATE), ("profile", ENV_PROFILE),
                           ("auth", ENV_AUTH), ("dispatch", ENV_DISPATCH),
                           ("complete_function", ENV_COMPLETE_FUNCTION)):
            if (v := text(name)) is not None:
                values[attr] = v
        for attr, name in (("api_keys", ENV_API_KEYS), ("webhook_secrets", ENV_WEBHOOK_SECRETS),
                           ("webhook_urls", ENV_WEBHOOK_URLS),
                           ("allow_private_hosts", ENV_ALLOW_HOSTS)):
            if v2 := items(name):
                values[attr] = v2
        if (n := number(ENV_POLL_INTERVAL, 1)) is not None:
            values["poll_interval_s"] = n
        if (n := number(ENV_LEASE, 5)) is not None:
            values["lease_s"] = n
        if (n := number(ENV_MAX_BODY, 1024)) is not None:
            values["max_body_bytes"] = int(n)
        if (n := number(ENV_PART_SIZE, 5)) is not None:
            values["part_size"] = int(n * 1024 * 1024)
        if (n := number(ENV_LINK_TTL, 0)) is not None:
            values["link_ttl_s"] = int(n)
        if (raw := text(ENV_WEBHOOK_RETRY)) is not None:
            values["webhook_retry_s"] = retry_delays(ENV_WEBHOOK_RETRY, raw)
        if (n := number(ENV_WEBHOOK_DISABLE_AFTER, 60)) is not None:
            values["webhook_disable_after_s"] = n
        if (raw := text(ENV_WEBHOOK_ENDPOINTS)) is not None:
            values["webhook_endpoints"] = subscribers(ENV_WEBHOOK_ENDPOINTS, raw)
        if (raw := text(ENV_CHAT_BOTS)) is not None:
            values["chat_bots"] = chat_bots(ENV_CHAT_BOTS, raw)
        if (raw := text(ENV_ACCOUNTS)) is not None:
            values["accounts"] = parse_accounts(ENV_ACCOUNTS, json_value(ENV_ACCOUNTS, raw))
        if (raw := text(ENV_OPERATOR_SUBSCRIBERS)) is not None:
            values["operator_subscribers"] = subscriber_list(ENV_OPERATOR_SUBSCRIBERS, raw)
        if (raw := text(ENV_PUBLIC_URL)) is not None:
            values["public_url"] = raw.rstrip("/")
        if (raw := text(ENV_DESTINATION_WRITE)) is not None:
            values["destination_write"] = write_options(
                ENV_DESTINATION_WRITE, json_value(ENV_DESTINATION_WRITE, raw))
        if (raw := text(ENV_SCHEDULES)) is not None:
            parsed = json_value(ENV_SCHEDULES, raw)
            if not isinstance(parsed, list) or not all(isinstance(s, dict) for s in parsed):
                raise ConfigError(f"{ENV_SCHEDULES}: must be a JSON list of objects")
            values["schedules"] = tuple(parsed)
        site = (text(ENV_TENCENT_SITE) or "china").lower()
        if site not in TENCENT_SITES:
            raise ConfigError(f"{ENV_TENCENT_SITE}: must be 'china' (tencentcloudapi.com) or "
                              "'intl' (intl.tencentcloudapi.com)")
        if text(ENV_TC_APPID) and not (text(ENV_TC_APPID) or "").isdigit():
            raise ConfigError(f"{ENV_TC_APPID}: the account's APPID is a number, e.g. "
                              "1250000000")
        if text(ENV_TC_SECRET_ID) and text(ENV_TC_SECRET_KEY):
            values["tencent"] = TencentSettings(
                secret_id=text(ENV_TC_SECRET_ID) or "",
                secret_key=text(ENV_TC_SECRET_KEY) or "",
                token=text(ENV_TC_TOKEN),
                region=text(ENV_TC_REGION) or "ap-guangzhou",
                endpoint=text(ENV_TENCENT_ENDPOINT),
                site=site,
                cls_max_parts=int(number(ENV_CLS_MAX_PARTS, 1) or 100),
                appid=text(ENV_TC_APPID),
            )
        if text(ENV_ALI_AK) and text(ENV_ALI_SK):
            values["alibaba"] = AlibabaSettings(
                access_key_id=text(ENV_ALI_AK) or "",
                access_key_secret=text(ENV_ALI_SK) or "",
                security_token=text(ENV_ALI_TOKEN),
                region=text(ENV_ALI_REGION) or "cn-hangzhou",
                endpoint=text(ENV_DMS_ENDPOINT),
                oss_endpoint=text(ENV_OSS_ENDPOINT),
            )
        values["storage"] = storage = StorageSettings.from_env(env)
        if (raw := text(ENV_DESTINATIONS)) is not None:
            values["destinations"] = destinations(ENV_DESTINATIONS, raw, storage.cos_region)
        if bucket := text(ENV_CW_BUCKET):
            prefix = (text(ENV_CW_PREFIX) or "courier-staging").strip("/")
            if not prefix or "//" in prefix:
                raise ConfigError(f"{ENV_CW_PREFIX}: must be a key prefix such as "
                                  "'courier-staging'")
            delete = (text(ENV_CW_DELETE) or "on").lower()
            if delete not in SWITCH:
                raise ConfigError(f"{ENV_CW_DELETE}: must be 'on' or 'off'")
            values["aws"] = AwsSettings(
                staging_bucket=bucket, staging_prefix=prefix,
                region=text(ENV_AWS_REGION) or storage.s3_region or "us-east-1",
                endpoint=text(ENV_CW_ENDPOINT), s3_endpoint=storage.s3_endpoint,
                delete_staged=SWITCH[delete])
        values["notices"] = notice_settings({n: text(n) for n in NOTICE_ENV}, NOTICE_ENV)
        values["unpack"] = unpack_settings({n: text(n) for n in UNPACK_ENV}, UNPACK_ENV)
        values["metrics"] = text(ENV_METRICS) or ("emf" if text(ENV_LAMBDA_FUNCTION) else "log")
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def secret_values(self) -> list[str]:
        """Every value of these settings that is a secret (for the log and error redactor)."""
        values = [*self.api_keys, *self.webhook_secrets, *self.resolved_secrets,
                  *url_passwords(self.state_url)]
        values += [v for bot in self.chat_bots for v in (bot.url, bot.secret or "")]
        values += [v for account in self.accounts for v in account.secrets()]
        values += [v for named in self.destinations for v in named.secrets()]
        if self.tencent:
            values += [self.tencent.secret_key, self.tencent.token or ""]
        if self.alibaba:
            values += [self.alibaba.access_key_secret, self.alibaba.security_token or ""]
        return values + [self.storage.cos_secret_key or "", self.storage.cos_token or "",
                         self.storage.oss_access_key_secret or "", self.storage.oss_token or ""]

    def warnings(self) -> list[str]:
        """What these settings allow but an operator should know: logged once per cold start
        (:class:`shared.bundle.Container`), not on every run."""
        out = []
        if not self.webhook_secrets:
            out.append("no webhook secrets configured: deliveries are sent unsigned")
        return out

    def check(self) -> None:
        if self.profile not in ("production", "sandbox"):
            raise ConfigError(f"{ENV_PROFILE}: must be 'production' or 'sandbox'")
        if self.auth not in ("api-key", "none"):
            raise ConfigError(f"{ENV_AUTH}: must be 'api-key' or 'none'")
        if self.auth == "none" and not self.sandbox:
            raise ConfigError(f"{ENV_AUTH}=none is only allowed with {ENV_PROFILE}=sandbox")
        if self.auth == "api-key" and not self.api_keys:
            raise ConfigError(f"{ENV_API_KEYS}: set at least one API key (or use the sandbox "
                              "profile with COURIER_AUTH=none)")
        if self.metrics not in ("emf", "log", "off"):
            raise ConfigError(f"{ENV_METRICS}: must be 'emf', 'log' or 'off'")
        if self.dispatch not in ("inline", "lambda", "scf"):
            raise ConfigError(f"{ENV_DISPATCH}: must be 'inline', 'lambda' or 'scf'")
        if self.dispatch != "inline" and not self.complete_function:
            raise ConfigError(f"{ENV_COMPLETE_FUNCTION}: required with {ENV_DISPATCH}="
                              f"{self.dispatch}")
        api_keys(ENV_API_KEYS, self.api_keys)
        webhook_secrets(ENV_WEBHOOK_SECRETS, self.webhook_secrets)
        check_backend(self.destination_write, parse_destination(
            ENV_DESTINATION, self.destination, self.storage.cos_region,
            oss_region=self.storage.oss_region).scheme)
        self._check_chat()
        check_accounts(ENV_DESTINATIONS, self.destinations, self.accounts)
        parquet_without_unpacking(ENV_DESTINATIONS, self.destinations, self.unpack.enabled)
        check_named_writes(ENV_DESTINATIONS, self.destinations, self.storage.cos_region)
        check_schedules(parse_schedules(self.schedules), self._template_of)
        try:  # a template is only known good once a key made from it is
            render_key(self.key_template, provider="cls", export_id="exp_0", file_name="f.csv",
                       when=datetime(2026, 1, 1, tzinfo=timezone.utc))
        except ValidationError as exc:
            raise ConfigError(f"{ENV_KEY_TEMPLATE}: {exc.detail}") from None

    def chat_bot(self, endpoint: str) -> ChatBot | None:
        """The bot a ``chat:<name>`` subscriber names (None for a URL or an unknown name)."""
        return next((b for b in self.chat_bots if b.endpoint == endpoint), None)

    def account(self, name: str) -> Account | None:
        """The named account ``name`` (COURIER_ACCOUNTS), or None."""
        return next((a for a in self.accounts if a.name == name), None)

    def named_destination(self, name: str) -> NamedDestination | None:
        """The named destination ``name`` (COURIER_DESTINATIONS), or None."""
        return next((d for d in self.destinations if d.name == name), None)

    def delivery(self, name: str | None) -> NamedDestination:
        """Where an export naming destination ``name`` lands (None: the deployment's own,
        named ""), its key template, unpack default and format filled in; ConfigError for a name
        the settings do not hold."""
        named = None if name is None else self.named_destination(name)
        if name is not None and named is None:
            raise ConfigError(f"{ENV_DESTINATIONS}: no destination named {name!r}")
        return delivered_by(named, self.destination, self.key_template, self.unpack.enabled,
                            self.unpack.format)

    def _check_chat(self) -> None:
        """Every ``chat:<name>`` subscriber names a bot of COURIER_CHAT_BOTS, and every
        endpoint's ``accounts`` an account of COURIER_ACCOUNTS (or "default")."""
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            raise ConfigError(f"{ENV_PUBLIC_URL}: must be the http(s) address of the API")
        named = [(f"{ENV_WEBHOOK_ENDPOINTS}[{i}]", e["url"])
                 for i, e in enumerate(self.webhook_endpoints)]
        named += [(ENV_WEBHOOK_URLS, u) for u in self.webhook_urls]
        named += [(ENV_OPERATOR_SUBSCRIBERS, s) for s in self.operator_subscribers]
        named += [(f"{ENV_SCHEDULES}[{i}].subscribers", str(u))
                  for i, s in enumerate(self.schedules) for u in s.get("subscribers") or ()]
        for setting, url in named:
            if url.startswith(CHAT_PREFIX) and self.chat_bot(url) is None:
                raise ConfigError(f"{setting}: {url} names no bot of {ENV_CHAT_BOTS}")
        unknown_accounts(ENV_WEBHOOK_ENDPOINTS, self.webhook_endpoints,
                         [a.name for a in self.accounts])

    def _template_of(self, name: str | None) -> tuple[str, str] | None:
        """(the setting that holds it, the key template) of destination ``name``; None
        when no destination has that name."""
        if name is None:
            return ENV_KEY_TEMPLATE, self.key_template
        named = self.named_destination(name)
        return None if named is None else (
            f"{ENV_DESTINATIONS}[{name}].key_template" if named.key_template
            else ENV_KEY_TEMPLATE, named.key_template or self.key_template)
