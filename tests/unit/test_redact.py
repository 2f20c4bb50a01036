"""What the process's redactor masks in error texts: secrets it was told of, URL passwords,
the signing parts of presigned links, and nothing else."""

from __future__ import annotations

import pytest

from shared.config import Settings
from shared.errors import ProviderError, StoreError, ValidationError
from shared.model import ExportTask
from shared.redact import MASK, Redactor, learn


@pytest.mark.parametrize(("text", "gone", "kept"), [
    ("GET https://b-1250000000.cos.ap-guangzhou.myqcloud.com/f.csv?q-sign-algorithm=sha1"
     "&q-ak=AKIDabc123&q-sign-time=1&q-key-time=1&q-header-list=&q-signature=0f9e8d7c6b",
     ["AKIDabc123", "0f9e8d7c6b"], ["/f.csv?", "q-sign-time=1"]),
    ("source https://s3.amazonaws.com/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
     "AKIAX%2F20260101&X-Amz-Signature=abcdef0123&X-Amz-Security-Token=FwoGZX",
     ["AKIAX%2F20260101", "abcdef0123", "FwoGZX"], ["X-Amz-Algorithm=AWS4-HMAC-SHA256"]),
    ("oss http://b.oss-cn-hangzhou.aliyuncs.com/r.zip?Expires=170&OSSAccessKeyId=LTAIxyz"
     "&Signature=s1g%2Bn&security-token=CAIStok",
     ["LTAIxyz", "s1g%2Bn", "CAIStok"], ["Expires=170"]),
    ("cannot connect to postgresql://courier:hunter2-pw@db.internal:5432/courier",
     ["hunter2-pw"], [f"postgresql://courier:{MASK}@db.internal:5432/courier"]),
    ("mysql://root:p%40ss@10.0.0.3/x and https://user:tok@hook.example/in",
     ["p%40ss", ":tok@"], ["mysql://root:", "https://user:"]),
], ids=["cos-presigned", "s3-presigned", "oss-presigned", "dsn-password", "userinfo"])
def test_signing_parts_and_url_passwords_are_masked(text: str, gone: list[str],
                                                    kept: list[str]) -> None:
    clean = Redactor().scrub(text)
    assert not [g for g in gone if g in clean], clean
    assert all(k in clean for k in kept), clean


def test_ordinary_text_and_queries_are_left_alone() -> None:
    text = "no such route: GET /exports?limit=5&state=failed (user@example.com, a:b)"
    assert Redactor().scrub(text) == text


def test_learned_values_stay_masked_and_short_ones_are_not_secrets() -> None:
    redactor = Redactor(["first-secret"])
    redactor.learn(["second-secret", "abc", ""])
    assert redactor.scrub("first-secret second-secret abc") == f"{MASK} {MASK} abc"


def test_the_state_store_password_is_a_secret_even_when_written_in_the_environment() -> None:
    settings = Settings(state_url="postgresql://u:pa%25ss-word@h/db", auth="none",
                        profile="sandbox")
    assert {"pa%25ss-word", "pa%ss-word"} <= set(settings.secret_values())


def test_errors_and_stored_reasons_are_scrubbed_as_they_are_made() -> None:
    learn(Settings(api_keys=("key-quoted-by-a-vendor",)).secret_values())
    store = StoreError("postgresql state store: invalid percent-encoded "
                       'token: "key-quoted-by-a-vendor"')
    provider = ProviderError("dms", "Forbidden", "key-quoted-by-a-vendor refused",
                             retryable=False)
    invalid = ValidationError("params.Url", "https://x.example/a?Signature=abcdef is expired")
    assert "key-quoted-by-a-vendor" not in store.message + str(provider) + provider.detail
    assert "abcdef" not in invalid.detail + str(invalid)
    assert "invalid percent-encoded token" in store.message  # still names the problem
    task = ExportTask(provider="cls", params={})
    task.fail("the vendor said: key-quoted-by-a-vendor is wrong", code="X")
    assert task.error == {"reason": f"the vendor said: {MASK} is wrong", "code": "X",
                          "retryable": False}
