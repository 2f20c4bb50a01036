"""Local emulator of the Tencent Cloud API 3.0 (CLS log export, MongoDB log download, TCSS
export jobs) that the real ``tencentcloud`` SDK can be pointed at.

    from sandbox import Sandbox
    with Sandbox(port=0) as sb:
        ...  # HttpProfile(protocol="http", endpoint=sb.endpoint), Credential(*sb.credentials)

Knobs: ``sb.clock.advance(s)`` / ``Sandbox(time_scale=x)`` (tasks progress by sandbox time),
``Sandbox(keys=[(id, key), ...])``, ``Sandbox(topic_pattern=regex)``, ``sb.faults.add(...)``
(kinds error / slow / drop / http_status / lost_answer, optional ``ttl``; also
``POST /_sandbox/faults``), ``sb.rate_limit``
(per service+action per second, default 20), ``sb.fail_exports(topic)``,
``sb.fail_next_export()``,
``sb.set_file_size(topic, n)``, ``sb.missing_topics``, ``sb.fail_log_downloads(instance)``,
``sb.fail_export_jobs(action)``, ``sb.issue_role_keys(ttl_s)`` (temporary keys that need
their X-TC-Token), ``sb.regional_services`` (services refusing a request without
X-TC-Region), ``sb.site`` ("intl" / "china": the API domain a proxied request must name),
``Sandbox(conformance="strict")`` / ``SANDBOX_CONFORMANCE`` (answers held against the SDK
models: ``sb.conformance.problems``).
Records: ``sb.calls`` {(service, action): n}, ``sb.made`` (every Create* call that took
effect: service, action, request, answer), ``sb.scf.take_event(name)`` (queued asynchronous
invocations) and
``sb.bytes_served`` {file token: bytes} (the token is the ExportId / TaskId / JobId).

``python -m sandbox --port 8700 --time-scale 1`` runs it standalone. Never imported by ``shared`` /
``functions`` / ``courier``, and imports none of them.
"""

from __future__ import annotations

from sandbox.cli import main
from sandbox.core import SECRET_ID, SECRET_KEY, Sandbox
from sandbox.errors import ApiError

__all__ = ["SECRET_ID", "SECRET_KEY", "ApiError", "Sandbox", "main"]
