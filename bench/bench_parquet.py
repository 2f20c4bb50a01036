"""Parquet conversion (``format: parquet``) speed and memory, against DuckDB only reading the
same member in the same run.

For every kind (CSV, JSON lines) and size (of the member's content) it prints::

    bench parquet: kind=csv size_mb=32 content_mb=… rows=… mb_s=… rows_s=… count_mb_s=… ratio=…
        cpu_mb_s=… cpu_count_mb_s=… gunzip_mb_s=… parquet_mb=… peak_rss_mb=…

* ``mb_s``, ``rows_s`` — :func:`~shared.storage.unpack.unpack_archive` with format parquet
  over a ``.tar.gz`` of one member in a folder store: streamed back, spooled gzip'd to the
  temporary folder, converted by DuckDB (its memory limit and one thread, as deployed),
  the Parquet file uploaded, both MD5s; MB (MiB) of content and rows per second.
* ``count_mb_s`` — the baseline: DuckDB with the same settings reading the same member,
  spooled the same way (a ``.gz`` file), to count its rows (``SELECT count(*)``): what
  parsing alone costs, so ``ratio = cpu_mb_s / cpu_count_mb_s`` is what typing, writing
  Parquet and the stage's own work keep of it (per CPU second of each child, which other
  load on a shared machine does not skew as it skews wall time).
* ``gunzip_mb_s`` — decompressing the archive alone, one core: the floor under both.
* ``peak_rss_mb`` — peak RSS (``ru_maxrss``) of the child that converted, DuckDB included;
  a final line per kind, ``bench parquet: kind=csv rss_growth_mb=…``, compares the largest
  and smallest member: the converter holds DuckDB's buffers (bounded by its memory limit,
  :data:`~shared.convert.parquet.MEMORY_MB`), never the member, so an eight times larger
  member adds tens of MB at most.

Each measurement runs in its own child process. ``--sizes 32,256`` (default), ``--kinds
csv,json``, ``--repeat 1``. About three minutes on two busy cores.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
BLOCK = MB  # one block of distinct rows, repeated


def block(kind: str) -> tuple[bytes, int]:
    """About a MB of typed log rows (its size, whole rows only) and how many rows it holds."""
    rng = random.Random(7)
    rows: list[str] = []
    size = 0
    while size < BLOCK:
        ts = f"2026-11-20 07:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        values = {"ts": ts, "level": rng.choice(["INFO", "WARN", "ERROR"]),
                  "req": rng.getrandbits(62), "path": f"/api/v1/items/{rng.randrange(10**6)}",
                  "ms": rng.randrange(5000), "ratio": round(rng.random(), 4),
                  "msg": "request served"}
        row = (json.dumps(values) if kind == "json" else
               ",".join(str(v) for v in values.values())) + "\n"
        rows.append(row)
        size += len(row)
    return "".join(rows).encode(), len(rows)


class Content:
    """``repeat`` blocks (after a CSV header), produced as read."""

    def __init__(self, head: bytes, data: bytes, repeat: int) -> None:
        self.parts = [head] + [data] * repeat
        self.pending = b""

    def read(self, n: int = -1) -> bytes:
        while len(self.pending) < n and self.parts:
            self.pending += self.parts.pop(0)
        out, self.pending = self.pending[:n], self.pending[n:]
        return out


def make_archive(path: Path, kind: str, size: int) -> tuple[int, int]:
    """A ``.tar.gz`` of one member of about ``size`` bytes; (content bytes, rows)."""
    data, rows = block(kind)
    head = b"ts,level,req,path,ms,ratio,msg\n" if kind == "csv" else b""
    repeat = max(size // len(data), 1)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo(f"logs/part-000.{kind}")
        info.size = len(head) + len(data) * repeat
        tar.addfile(info, Content(head, data, repeat))  # type: ignore[arg-type]
    return info.size, rows * repeat


def child_gunzip(archive: str) -> dict[str, float]:
    start, cpu = time.perf_counter(), time.process_time()
    inflate = zlib.decompressobj(31)
    plain = 0
    with open(archive, "rb") as fh:
        while chunk := fh.read(MB):
            plain += len(inflate.decompress(chunk))
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}


def child_count(archive: str, kind: str, folder: str) -> dict[str, float]:
    """DuckDB counting the member's rows, as the converter has it spooled."""
    import duckdb

    sys.path.insert(0, str(ROOT))
    from shared.convert.parquet import MEMORY_MB, SPOOL_LEVEL, THREADS

    spool = Path(folder) / f"member.{kind}.gz"
    with tarfile.open(archive, "r:gz") as tar, open(spool, "wb") as out:
        member = tar.extractfile(tar.getmembers()[0])
        assert member is not None
        packer = zlib.compressobj(SPOOL_LEVEL, zlib.DEFLATED, 31)
        while chunk := member.read(MB):
            out.write(packer.compress(chunk))
        out.write(packer.flush())
    reader = "read_csv" if kind == "csv" else "read_json"
    start, cpu = time.perf_counter(), time.process_time()
    with duckdb.connect(config={"memory_limit": f"{MEMORY_MB}MB", "threads": THREADS}) as con:
        row = con.execute(f"SELECT count(*) FROM {reader}('{spool}', "
                          "compression = 'gzip')").fetchone()
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "rows": int(row[0]) if row else 0}


def child_convert(archive: str, folder: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from bench.bench_unpack import Journal, raw_in_store
    from shared.setting_values import UnpackSettings
    from shared.storage.unpack import unpack_archive

    store, raw = raw_in_store(archive, folder, format="parquet")
    start, cpu = time.perf_counter(), time.process_time()
    result = unpack_archive(store, raw, "bench/dt=2026-11-20/hour=07/exp/manifest.json",
                            settings=UnpackSettings(parquet_tmp_bytes=4096 * MB),
                            journal=Journal())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    (Path(folder) / raw["key"]).rename(archive)
    [entry] = result.objects
    return {"seconds": seconds, "cpu": cpu, "bytes": int(entry["content_size"]),
            "rows": int(entry["rows"]), "parquet": int(entry["size"]),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_child(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                          text=True, timeout=1200, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(tmp: Path, kind: str, size_mb: int, repeat: int) -> float:
    archive = tmp / f"a-{kind}-{size_mb}.tar.gz"
    content, rows = make_archive(archive, kind, size_mb * MB)
    gunzip, counts, runs = [], [], []
    for i in range(repeat):
        gunzip.append(in_child("gunzip", str(archive)))
        spool = tmp / f"count-{i}"
        spool.mkdir()
        counts.append(in_child("count", str(archive), kind, str(spool)))
        folder = tmp / f"store-{kind}-{size_mb}-{i}"
        runs.append(in_child("convert", str(archive), str(folder)))
        subprocess.run(["rm", "-rf", str(folder), str(spool)], check=True)
    archive_mb = archive.stat().st_size / MB
    archive.unlink()
    best = min(runs, key=lambda r: r["seconds"])
    assert best["rows"] == rows == max(c["rows"] for c in counts), (best, rows)
    cpu_mb_s = max(content / r["cpu"] for r in runs) / MB
    cpu_count = max(content / r["cpu"] for r in counts) / MB
    peak = max(r["peak_rss_mb"] for r in runs)
    print(f"bench parquet: kind={kind} size_mb={size_mb} content_mb={content / MB:.1f} "
          f"archive_mb={archive_mb:.1f} "
          f"rows={rows} mb_s={content / best['seconds'] / MB:.1f} "
          f"rows_s={rows / best['seconds']:.0f} "
          f"count_mb_s={content / min(c['seconds'] for c in counts) / MB:.1f} "
          f"ratio={cpu_mb_s / cpu_count:.2f} cpu_mb_s={cpu_mb_s:.1f} "
          f"cpu_count_mb_s={cpu_count:.1f} "
          f"gunzip_mb_s={content / min(g['seconds'] for g in gunzip) / MB:.1f} "
          f"parquet_mb={best['parquet'] / MB:.1f} peak_rss_mb={peak:.1f}", flush=True)
    return peak


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="32,256")
    parser.add_argument("--kinds", default="csv,json")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        what, *rest = args.child
        children: dict[str, Callable[..., dict[str, float]]] = {
            "gunzip": child_gunzip, "count": child_count, "convert": child_convert}
        child = children[what]
        print(json.dumps(child(*rest)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-parquet-") as tmp:
        for kind in args.kinds.split(","):
            rss = {int(s): measure(Path(tmp), kind, int(s), args.repeat)
                   for s in args.sizes.split(",")}
            small, large = min(rss), max(rss)
            print(f"bench parquet: kind={kind} rss_growth_mb={rss[large] - rss[small]:.1f} "
                  f"(peak RSS at {large} MB minus at {small} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
