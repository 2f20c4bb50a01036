"""Unpacking throughput and memory, against the same run's single-core gzip limit.

For every size (of the members' content, unpacked) it prints::

    bench unpack: kind=tar.gz size_mb=64 archive_mb=… mb_s=… limit_mb_s=… ratio=…
        peak_rss_mb=… members=4

* ``mb_s`` — :func:`~shared.storage.unpack.unpack_archive` over a ``.tar.gz`` in a folder
  store (streamed back from it, every member gzip'd into its own object, both MD5s, the
  content check), MB of content per second (MiB).
* ``limit_mb_s`` — decompressing the same archive and compressing the same bytes again at
  the same level, in one thread, nothing else: one core's gzip limit, which unpacking cannot
  beat (gzip streams are not split across cores).
* ``cpu_mb_s``, ``cpu_limit_mb_s`` — the same per CPU second of the child (its own user and
  system time), which other load on a shared machine does not skew as it skews wall time.
* ``ratio`` — ``cpu_mb_s / cpu_limit_mb_s`` (target ≥ 0.8; exit status 1 below it).
* ``peak_rss_mb`` — peak RSS (``ru_maxrss``) of the child process that unpacked: it must stay
  flat as the archive grows (the stage holds a bounded buffer, never the archive).

A final line compares the largest and smallest size:
``bench unpack: rss_growth_mb=… (peak RSS at SIZE MB minus at SIZE MB)``.
``BENCH_UNPACK_MAX_MB=2048`` adds a size of that many MB (about 470 MB of archive, a few
minutes more), so that the growth is measured as the archive reaches 2 GB of content;
``make bench`` leaves it out and stays bounded.

Each measurement runs in its own child process. The archive's content is JSON log lines that
compress about as logs do. ``--sizes 64,512`` (default), ``--members 1`` (as CLS ships),
``--repeat 2`` (best of N, each side). The stage's memory is its part buffer (a part of 8 MB
and its copy at upload): both sizes are past one part, so what grows between them would be a
leak.
About five minutes on two busy cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
BLOCK = MB  # one block of distinct lines, repeated (gzip's window is 32 KiB)


def block() -> bytes:
    rng = random.Random(7)
    lines = []
    size = 0
    while size < BLOCK:
        line = json.dumps({"ts": 1763600000000 + rng.randrange(10**7), "level":
                           rng.choice(["INFO", "WARN", "ERROR"]), "req": rng.getrandbits(64),
                           "path": f"/api/v1/items/{rng.randrange(10**6)}",
                           "ms": rng.randrange(5000), "msg": "request served"}) + "\n"
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()[:BLOCK]


class Content:
    """``size`` bytes of log lines, produced as read."""

    def __init__(self, size: int, data: bytes) -> None:
        self.left, self.data, self.at = size, data, 0

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        out = bytearray()
        while len(out) < n:
            take = min(n - len(out), len(self.data) - self.at)
            out += self.data[self.at:self.at + take]
            self.at = (self.at + take) % len(self.data)
        self.left -= n
        return bytes(out)


def make_archive(path: Path, size: int, members: int) -> None:
    data = block()
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:  # quick to make
        for i in range(members):
            info = tarfile.TarInfo(f"logs/part-{i:03d}.json")
            info.size = size // members
            tar.addfile(info, Content(info.size, data))  # type: ignore[arg-type]


def child_limit(archive: str) -> dict[str, float]:
    """Decompress the archive and compress the bytes again, one thread."""
    start, cpu = time.perf_counter(), time.process_time()
    inflate = zlib.decompressobj(31)
    deflate = zlib.compressobj(6, zlib.DEFLATED, 31)
    plain = 0
    with open(archive, "rb") as fh:
        while chunk := fh.read(MB):
            out = inflate.decompress(chunk)
            plain += len(out)
            deflate.compress(out)
    deflate.flush()
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "bytes": plain}


class Journal:
    """The unpack stage's journal, kept in memory (what the completion stores in the task)."""

    def __init__(self) -> None:
        self.done: list[dict[str, Any]] = []

    def members(self) -> list[dict[str, Any]]:
        return self.done

    def member_done(self, entry: dict[str, Any]) -> None:
        self.done.append(entry)


def raw_in_store(archive: str, folder: str, **extra: Any) -> tuple[Any, dict[str, Any]]:
    """A folder store holding ``archive`` as an export's verified raw copy (moved into place,
    its MD5 read), and the raw entry the unpack stage starts from (``extra`` added to it)."""
    import hashlib

    sys.path.insert(0, str(ROOT))
    from shared.storage.local import LocalObjectStore

    store = LocalObjectStore(folder)
    raw_key = "raw/bench/export.tar.gz"
    target = Path(folder) / raw_key
    target.parent.mkdir(parents=True, exist_ok=True)
    Path(archive).rename(target)  # the raw copy, in place in the store
    md5 = hashlib.md5()  # noqa: S324
    with target.open("rb") as fh:
        while chunk := fh.read(MB):
            md5.update(chunk)
    return store, {"key": raw_key, "size": target.stat().st_size, "md5": md5.hexdigest(),
                   "kind": "tar.gz", **extra}


def child_unpack(archive: str, folder: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from shared.setting_values import UnpackSettings
    from shared.storage.unpack import unpack_archive

    store, raw = raw_in_store(archive, folder)
    start, cpu = time.perf_counter(), time.process_time()
    result = unpack_archive(store, raw, "bench/dt=2026-11-20/hour=07/exp/manifest.json",
                            settings=UnpackSettings(), journal=Journal())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    (Path(folder) / raw["key"]).rename(archive)
    content = sum(int(o["content_size"]) for o in result.objects)
    return {"seconds": seconds, "cpu": cpu, "bytes": content, "members": result.parts,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_child(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                          text=True, timeout=900, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def default_sizes() -> str:
    """64 and 512 MB, and ``BENCH_UNPACK_MAX_MB`` when it is set (the opt-in large size)."""
    sizes = [64, 512]
    extra = os.environ.get("BENCH_UNPACK_MAX_MB", "").strip()
    if extra:
        if not extra.isdigit() or int(extra) < 1:
            raise SystemExit("BENCH_UNPACK_MAX_MB: must be a whole number of MB, such as 2048")
        sizes = sorted({*sizes, int(extra)})
    return ",".join(map(str, sizes))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=default_sizes())
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        what, *rest = args.child
        print(json.dumps(child_limit(*rest) if what == "limit" else child_unpack(*rest)))
        return 0
    rss: dict[int, float] = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-unpack-") as tmp:
        for size_mb in (int(s) for s in args.sizes.split(",")):
            archive = Path(tmp) / f"a{size_mb}.tar.gz"
            make_archive(archive, size_mb * MB, args.members)
            limits, runs = [], []
            for i in range(args.repeat):
                limits.append(in_child("limit", str(archive)))
                folder = Path(tmp) / f"store-{size_mb}-{i}"
                runs.append(in_child("unpack", str(archive), str(folder)))
                subprocess.run(["rm", "-rf", str(folder)], check=True)
            limit = max(r["bytes"] / r["seconds"] for r in limits) / MB
            best = max(runs, key=lambda r: r["bytes"] / r["seconds"])
            mb_s = best["bytes"] / best["seconds"] / MB
            # per CPU second: what one core does, whatever else the machine runs meanwhile
            cpu_limit = max(r["bytes"] / r["cpu"] for r in limits) / MB
            cpu_mb_s = max(r["bytes"] / r["cpu"] for r in runs) / MB
            rss[size_mb] = max(r["peak_rss_mb"] for r in runs)
            ratio = cpu_mb_s / cpu_limit
            ok = ok and ratio >= 0.8
            print(f"bench unpack: kind=tar.gz size_mb={size_mb} "
                  f"archive_mb={archive.stat().st_size / MB:.1f} mb_s={mb_s:.1f} "
                  f"limit_mb_s={limit:.1f} cpu_mb_s={cpu_mb_s:.1f} "
                  f"cpu_limit_mb_s={cpu_limit:.1f} ratio={ratio:.2f} "
                  f"peak_rss_mb={rss[size_mb]:.1f} members={int(best['members'])}", flush=True)
            archive.unlink()
    small, large = min(rss), max(rss)
    print(f"bench unpack: rss_growth_mb={rss[large] - rss[small]:.1f} (peak RSS at {large} MB "
          f"minus at {small} MB)", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
