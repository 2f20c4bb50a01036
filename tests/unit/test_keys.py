from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import ValidationError
from shared.keys import check_key, render_key, sanitize_file_name

WHEN = datetime(2024, 3, 7, 5, 9, tzinfo=timezone.utc)


def render(template: str, file_name: str | None = "result.csv", **kw: object) -> str:
    args: dict[str, object] = {"provider": "cls", "export_id": "exp_1", "file_name": file_name,
                               "when": WHEN}
    args.update(kw)
    return render_key(template, **args)  # type: ignore[arg-type]


def test_all_placeholders() -> None:
    key = render("exports/{provider}/{yyyy}/{mm}/{dd}/{hh}/{export_id}/{file_name}")
    assert key == "exports/cls/2024/03/07/05/exp_1/result.csv"


def test_time_is_utc() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=8)))
    assert render("{yyyy}{mm}{dd}{hh}", when=local) == "2024030705"


def test_literal_braces() -> None:
    assert render("x{{y}}/{file_name}") == "x{y}/result.csv"


@pytest.mark.parametrize("template", [
    "{bucket}/{file_name}", "{file_name!r}", "{yyyy:>6}", "{0}", "{}", "{file_name",
    "../{file_name}", "a/../{file_name}", "/abs/{file_name}", "a\\{file_name}",
    "a//{file_name}", "{file_name}/", "./{file_name}", "", "  ",
    ".courier-meta/{file_name}",
])
def test_bad_templates_refused(template: str) -> None:
    with pytest.raises(ValidationError) as err:
        render(template)
    assert err.value.field == "key_template"


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\report.csv", "report.csv"),
    ("/tmp/out/", "out"),
    ("na\x00me\x1b.csv", "name.csv"),
    ("line\nbreak.txt", "linebreak.txt"),
    ("..", "exp_1.dat"),
    ("", "exp_1.dat"),
    (None, "exp_1.dat"),
    ("数据.csv", "数据.csv"),
])
def test_provider_file_names_sanitised(raw: str | None, clean: str) -> None:
    assert render("{export_id}/{file_name}", file_name=raw) == f"exp_1/{clean}"


def test_sanitize_default_fallback() -> None:
    assert sanitize_file_name("\x01\x02") == "export.dat"


def test_ids_with_slashes_refused() -> None:
    with pytest.raises(ValidationError):
        render("{provider}/{file_name}", provider="a/..")
    with pytest.raises(ValidationError):
        render("{export_id}/{file_name}", export_id="..")


def test_key_length_capped() -> None:
    with pytest.raises(ValidationError):
        check_key("a" * 1025)
    assert check_key("a" * 1024)


@pytest.mark.parametrize("name", [
    "a" * 236 + ".csv",  # just past what a folder destination took
    "a" * 1000 + ".tar.gz",
    "日" * 79 + ".log",  # 237 bytes of three-byte characters
    "b" * 300,  # no extension
], ids=["236-ascii", "1000-ascii", "79-cjk", "no-extension"])
def test_a_long_file_name_is_shortened_by_rule(name: str) -> None:
    from shared.keys import MAX_NAME_BYTES, fit_name, split_extension

    # WHEN a provider's file name is too long for a key segment
    key = render("exports/{export_id}/{file_name}", file_name=name)
    short = key.rsplit("/", 1)[-1]
    # THEN it is cut to the limit, keeps its extension, carries a hash of the whole name,
    # and the same name always gives the same key
    assert len(short.encode()) <= MAX_NAME_BYTES and short == fit_name(name)
    assert split_extension(short)[1] == split_extension(name)[1]
    assert short.encode().startswith(name.encode()[:100]) and "~" in short
    assert render("exports/{export_id}/{file_name}", file_name=name) == key


def test_two_long_names_with_one_beginning_stay_apart() -> None:
    from shared.keys import fit_name

    assert fit_name("a" * 300 + "1.csv") != fit_name("a" * 300 + "2.csv")
    assert fit_name("short.csv") == "short.csv"
