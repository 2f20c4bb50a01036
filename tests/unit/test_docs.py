"""README.md and docs/*.md held to the tree: the README stays short and starts with the two
commands, every relative link lands on a file (and heading), every setting is documented and
every documented name exists, and every `make` target and `courier` command the pages name
is real."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import typer

import shared.setting_names
from courier.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
CONFIGURATION = DOCS / "configuration.md"
README_LIMIT = 12_000  # bytes: a page a newcomer reads to the end
CODE_DIRS = ("shared", "functions", "deploy", "courier")
CODE_SUFFIXES = {".py", ".yml", ".yaml", ".json", ".sh", ".js"}

# a fenced block (its body) or an inline code span, in document order
CODE = re.compile(r"(?ms:^```[^\n]*\n(?P<block>.*?)^```[ \t]*$)|`(?P<span>[^`\n]+)`")
FENCED = re.compile(r"(?ms)^```.*?^```[ \t]*$")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:[ \t]+\"[^\"]*\")?\)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
# commands as a reader types them, with or without .venv/bin/
COMMAND = re.compile(r"(?<![\w/.-])(?:\.venv/bin/)?"
                     r"(?:(?P<tool>make|courier)[ \t]+(?P<arg>[a-z][\w.-]*)"
                     r"|(?P<other>curl|pip|python3?|bash)[ \t])")
MAKE = re.compile(r"(?<![\w/.-])make[ \t]+(?P<target>[a-z][\w.-]*)")
COURIER = re.compile(r"(?<![\w/.-])(?:\.venv/bin/)?courier[ \t]+(?P<cmd>[a-z][\w-]*)"
                     r"(?:[ \t]+(?P<sub>[a-z][\w-]*))?")
SETTING = re.compile(r"\bCOURIER_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _code(text: str) -> list[str]:
    """The code of a page, fenced blocks and inline spans, in document order."""
    return [m.group("block") if m.group("block") is not None else m.group("span")
            for m in CODE.finditer(text)]


def _prose(text: str) -> str:
    """The page without fenced blocks and inline code (where links and headings live)."""
    return re.sub(r"`[^`\n]+`", "", FENCED.sub("", text))


def _slug(title: str) -> str:
    """The anchor GitHub gives a heading: code and link text kept, punctuation dropped,
    lower case, spaces to hyphens."""
    title = re.sub(r"`([^`]*)`", r"\1", title)
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: Counter[str] = Counter()
    anchors = set()
    for match in HEADING.finditer(FENCED.sub("", _read(path))):
        slug = _slug(match.group(2))
        anchors.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return anchors


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_readme_is_short() -> None:
    size = len(README.read_bytes())
    assert size < README_LIMIT, f"README.md is {size} bytes; keep it under {README_LIMIT}"


def test_readme_starts_with_the_two_commands() -> None:
    # GIVEN every command the README shows, in the order a reader meets them
    commands = [f"{m.group('tool')} {m.group('arg')}" if m.group("tool") else m.group("other")
                for snippet in _code(_read(README)) for m in COMMAND.finditer(snippet)]
    # THEN the first two are `make demo` and `make test`
    assert sorted(commands[:2]) == ["make demo", "make test"], commands[:4]


def test_readme_maps_every_docs_page() -> None:
    linked = {Path(target.split("#")[0]).name for target in LINK.findall(_prose(_read(README)))
              if target.startswith("docs/")}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.name not in linked]
    assert not missing, f"README.md links no docs page for: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_relative_links_land(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(_read(page))):
        if SCHEME.match(target):
            continue  # http(s), mailto: not ours to check
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix != ".md":
            broken.append(f"{target}: an anchor into a file that is not a page")
        elif anchor and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{_page_id(page)}: {broken}"


def test_every_setting_is_documented() -> None:
    names = {value for key, value in vars(shared.setting_names).items()
             if key.startswith("ENV_") and isinstance(value, str)}
    text = _read(CONFIGURATION)
    missing = sorted(n for n in names if not re.search(rf"\b{re.escape(n)}\b", text))
    assert names and not missing, f"docs/configuration.md does not mention {missing}"


def test_every_documented_setting_exists() -> None:
    code = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*"):
            parts = path.relative_to(ROOT).parts
            if path.suffix in CODE_SUFFIXES and not any(p.startswith(".") or p in (
                    "__pycache__", "node_modules") for p in parts) and path.is_file():
                code.update(SETTING.findall(path.read_text(encoding="utf-8", errors="replace")))
    unknown = sorted(set(SETTING.findall(_read(CONFIGURATION))) - code)
    assert not unknown, f"docs/configuration.md names settings no code reads: {unknown}"


def _make_targets() -> set[str]:
    makefile = _read(ROOT / "Makefile")
    return set(re.findall(r"^([A-Za-z][\w.-]*)[ \t]*:(?!=)", makefile, re.M))


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_make_targets_exist(page: Path) -> None:
    targets = _make_targets()
    named = {m.group("target") for s in _code(_read(page)) for m in MAKE.finditer(s)}
    assert not named - targets, f"{_page_id(page)} names make targets the Makefile lacks: " \
                                f"{sorted(named - targets)}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_courier_commands_exist(page: Path) -> None:
    cli = typer.main.get_command(app)
    commands = getattr(cli, "commands", {})
    unknown = []
    for snippet in _code(_read(page)):
        for m in COURIER.finditer(snippet):
            command = commands.get(m.group("cmd"))
            if command is None:
                unknown.append(f"courier {m.group('cmd')}")
            elif m.group("sub") and hasattr(command, "commands") and (
                    m.group("sub") not in command.commands):
                unknown.append(f"courier {m.group('cmd')} {m.group('sub')}")
    assert not unknown, f"{_page_id(page)} names commands courier lacks: {unknown}"
