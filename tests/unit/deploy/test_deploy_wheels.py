"""What goes into a package's dependency folder (deploy/wheels.py), pip itself left out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy import wheels
from deploy.lockfile import Pin


def pin(name: str) -> Pin:
    return Pin(name=name, version="1", text=f"{name}==1 \\\n    --hash=sha256:00", via=frozenset())


def test_crcmod_plus_stands_in_for_the_source_built_crcmod(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a lock with both (cos-python-sdk-v5 names crcmod; the OSS SDK and we crcmod-plus)
    installed: list[list[str]] = []
    built: list[list[str]] = []
    monkeypatch.setattr(wheels, "_pip", lambda args, env=None: installed.append(args))

    def pure(pins: list[Pin], wheelhouse: Path) -> list[str]:
        built.append([p.name for p in pins])
        return [f"{p.name}==1" for p in pins]

    monkeypatch.setattr(wheels, "pure_wheels", pure)
    into = tmp_path / "pkg"
    into.mkdir()
    # WHEN the dependencies are installed
    wheels.install_dependencies([pin("crcmod"), pin("crcmod-plus"), pin("alibabacloud-tea"),
                                 pin("requests")], into, "3.10", tmp_path / "wheels")
    # THEN crcmod-plus's wheel (with its C extension) is the crcmod package; crcmod is not
    # built over it, the other source-only dependency still is
    binaries = (tmp_path / "requirements.txt").read_text(encoding="utf-8")
    assert "crcmod-plus==1" in binaries and "requests==1" in binaries
    assert built == [["alibabacloud-tea"]]
    assert all("crcmod==1" not in " ".join(args) for args in installed)


def test_crcmod_alone_is_still_built_from_source(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []
    monkeypatch.setattr(wheels, "_pip", lambda args, env=None: None)
    monkeypatch.setattr(wheels, "pure_wheels",
                        lambda pins, wheelhouse: built.append([p.name for p in pins]) or [])
    (tmp_path / "pkg").mkdir()
    wheels.install_dependencies([pin("crcmod")], tmp_path / "pkg", "3.10", tmp_path / "w")
    assert built == [["crcmod"]]
