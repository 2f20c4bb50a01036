"""Throughput and memory of ``copy_source`` per sink and size.

For every sink (``local``: a folder; ``s3``: a moto server) and size it prints::

    bench copy: sink=local size_mb=64 mb_s=… limit_mb_s=… ratio=… peak_rss_mb=… naive_mb_s=…
        md5_mb_s=… md5_bound_ratio=…

* ``mb_s`` — the streaming copy (HTTP source → sink), MB/s (MiB).
* ``limit_mb_s`` — min(reading the source and discarding it, writing the same bytes from
  memory to the sink with the same part size and concurrency): what the slower side allows.
* ``ratio`` — ``mb_s / limit_mb_s``.
* ``peak_rss_mb`` — peak RSS (``ru_maxrss``) of the child process that ran the copy.
* ``naive_mb_s`` — download to a temporary file, then upload it (the obvious alternative;
  it computes no MD5).
* ``md5_mb_s`` — MD5 of the same bytes from memory, in one thread, part by part: the copy
  must hash every byte in order, and MD5 cannot be split across cores, so this is a ceiling
  of its own, which the two baselines do not pay. ``md5_bound_ratio`` is
  ``mb_s / min(limit_mb_s, md5_mb_s)``: how close the copy comes to what the path *and*
  the hashing allow. It differs from ``ratio`` only where the sink absorbs bytes faster
  than one core hashes them (a local folder backed by the page cache).

Every measurement runs in its own child process; the source (a file served with Range
support over HTTP on 127.0.0.1) and moto run in further processes, so none of them share
the copy's interpreter. ``--sizes 64,256,1024,2048`` (default), ``--sinks local,s3``,
``--part-size-mb 8``, ``--repeat 3`` (best of N). About eight minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
BUCKET = "bench-copy"
REPEAT = 3  # best of N per measurement (--repeat): this runs on shared, noisy machines
_settings = {"repeat": REPEAT}
AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1"}


# ------------------------------------------------------------------ helper servers
def serve_file(path: str) -> None:
    """Child: serve ``path`` at /data with Range support; prints the port, runs forever."""
    size = os.path.getsize(path)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def do_GET(self) -> None:  # noqa: N802
            start = 0
            rng = self.headers.get("Range")
            if rng:
                start = int(rng.split("=", 1)[1].split("-", 1)[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(size - start))
            self.send_header("ETag", '"bench"')
            self.end_headers()
            with open(path, "rb") as fh:
                try:
                    self.connection.sendfile(fh, start, size - start)
                except OSError:
                    pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


def serve_moto() -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    while True:
        time.sleep(3600)


def spawn(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip():
        proc.kill()
        raise SystemExit(f"helper {args[0]} did not start")
    return proc, int(line)


# ------------------------------------------------------------------ measurements
def open_sink(sink: str, endpoint: str, folder: str) -> Any:
    if sink == "local":
        from shared.storage.local import LocalObjectStore

        return LocalObjectStore(folder)
    from shared.storage.s3 import S3ObjectStore

    return S3ObjectStore(BUCKET, prefix="bench", endpoint_url=endpoint)


def measure(mode: str, sink: str, endpoint: str, url: str, size: int, part_size: int,
            folder: str) -> dict[str, float]:
    """Child: one measurement; returns seconds and peak RSS."""
    import requests

    from shared.model import UrlSource
    from shared.storage.copy import copy_concurrency, copy_source

    key = f"{mode}-{uuid.uuid4().hex}.bin"
    store = open_sink(sink, endpoint, folder)
    if mode in ("write", "md5"):
        data = os.urandom(part_size)  # one part's bytes, used size/part_size times
    t0 = time.perf_counter()
    if mode == "copy":
        result = copy_source(UrlSource(url), store, key, part_size=part_size)
        assert result.size == size, result
    elif mode == "md5":
        import hashlib

        digest = hashlib.md5()  # noqa: S324 - the copy's integrity hash, timed
        for _ in range(size // part_size):
            digest.update(data)
        digest.update(data[:size % part_size])
    elif mode == "read":
        with requests.get(url, stream=True, timeout=(10, 60)) as resp:
            got = 0
            while True:
                chunk = resp.raw.read(MB)
                if not chunk:
                    break
                got += len(chunk)
        assert got == size
    elif mode == "write":
        from concurrent.futures import ThreadPoolExecutor

        from shared.storage.base import UploadedPart

        upload = store.start_upload(key)
        count = -(-size // part_size)
        last = size - (count - 1) * part_size
        with ThreadPoolExecutor(copy_concurrency(store)) as pool:
            futures = [pool.submit(store.put_part, key, upload, n,
                                   data if n < count else data[:last],
                                   offset=(n - 1) * part_size)
                       for n in range(1, count + 1)]
            parts = [UploadedPart(n, f.result()) for n, f in enumerate(futures, 1)]
        store.complete_upload(key, upload, parts)
    elif mode == "naive":
        from shared.storage.base import UploadedPart

        with tempfile.TemporaryFile() as tmp:
            with requests.get(url, stream=True, timeout=(10, 60)) as resp:
                for chunk in resp.iter_content(MB):
                    tmp.write(chunk)
            tmp.seek(0)
            upload = store.start_upload(key)
            parts = []
            n = 0
            while True:
                chunk = tmp.read(part_size)
                if not chunk:
                    break
                n += 1
                parts.append(UploadedPart(n, store.put_part(key, upload, n, chunk,
                                                            offset=(n - 1) * part_size)))
            store.complete_upload(key, upload, parts)
    seconds = time.perf_counter() - t0
    if mode in ("read", "md5"):
        pass
    elif sink == "local":
        for p in Path(folder).rglob(f"{key}*"):
            p.unlink()
    else:
        # moto keeps every object in memory or temporary files: drop this one so later
        # measurements do not pay for earlier ones
        store.client.delete_object(Bucket=BUCKET, Key=store._k(key))
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_rss_mb": rss_kb / 1024}


def run_interleaved(modes: list[str], sink: str, endpoint: str, url: str, size: int,
                    part_size: int, folder: str) -> dict[str, dict[str, float]]:
    """Best of N per mode, the modes taking turns (copy, write, naive, copy, …), so that a
    slow spell of the machine or of the server falls on all of them alike."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(_settings["repeat"]):
        for mode in modes:
            got = _run_once(mode, sink, endpoint, url, size, part_size, folder)
            if mode not in best or got["seconds"] < best[mode]["seconds"]:
                best[mode] = got
    return best


def run_child(mode: str, sink: str, endpoint: str, url: str, size: int, part_size: int,
              folder: str) -> dict[str, float]:
    best: dict[str, float] | None = None
    for _ in range(_settings["repeat"]):
        got = _run_once(mode, sink, endpoint, url, size, part_size, folder)
        if best is None or got["seconds"] < best["seconds"]:
            best = got
    assert best is not None
    return best


def _run_once(mode: str, sink: str, endpoint: str, url: str, size: int, part_size: int,
              folder: str) -> dict[str, float]:
    os.sync()  # earlier runs' dirty pages must not be written back during this one
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--sink", sink, "--endpoint", endpoint,
         "--url", url, "--size-bytes", str(size), "--part-size", str(part_size),
         "--folder", folder],
        capture_output=True, text=True, env={**os.environ, **AWS_ENV}, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{mode} on {sink} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="64,256,1024,2048", help="sizes in MiB, comma-separated")
    ap.add_argument("--sinks", default="local,s3")
    ap.add_argument("--part-size-mb", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=REPEAT, help="best of N per measurement")
    ap.add_argument("--child")
    ap.add_argument("--serve-file")
    ap.add_argument("--serve-moto", action="store_true")
    ap.add_argument("--sink", default="local")
    ap.add_argument("--endpoint", default="")
    ap.add_argument("--url", default="")
    ap.add_argument("--size-bytes", type=int, default=0)
    ap.add_argument("--part-size", type=int, default=8 * MB)
    ap.add_argument("--folder", default="")
    args = ap.parse_args()

    if args.serve_file:
        serve_file(args.serve_file)
        return
    if args.serve_moto:
        serve_moto()
        return
    if args.child:
        print(json.dumps(measure(args.child, args.sink, args.endpoint, args.url,
                                 args.size_bytes, args.part_size, args.folder)))
        return

    _settings["repeat"] = max(1, args.repeat)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    sinks = [s.strip() for s in args.sinks.split(",") if s.strip()]
    part_size = args.part_size_mb * MB
    helpers: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as work:
        try:
            endpoint = ""
            if "s3" in sinks:
                moto, moto_port = spawn(["--serve-moto"], AWS_ENV)
                helpers.append(moto)
                endpoint = f"http://127.0.0.1:{moto_port}"
                import boto3

                boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                             aws_access_key_id="bench", aws_secret_access_key="bench"  # noqa: S106
                             ).create_bucket(Bucket=BUCKET)
            for size_mb in sizes:
                size = size_mb * MB
                src = os.path.join(work, f"src-{size_mb}.bin")
                with open(src, "wb") as fh:
                    for _ in range(size_mb):
                        fh.write(os.urandom(MB))
                server, port = spawn(["--serve-file", src])
                helpers.append(server)
                url = f"http://127.0.0.1:{port}/data"
                read = run_child("read", "local", "", url, size, part_size, work)
                md5_mb_s = size_mb / run_child("md5", "local", "", url, size, part_size,
                                               work)["seconds"]
                for sink in sinks:
                    folder = os.path.join(work, f"sink-{sink}")
                    os.makedirs(folder, exist_ok=True)
                    got = run_interleaved(["copy", "write", "naive"], sink, endpoint, url,
                                          size, part_size, folder)
                    copy, write, naive = got["copy"], got["write"], got["naive"]
                    mb_s = size_mb / copy["seconds"]
                    limit = min(size_mb / read["seconds"], size_mb / write["seconds"])
                    print(f"bench copy: sink={sink} size_mb={size_mb} mb_s={mb_s:.1f} "
                          f"limit_mb_s={limit:.1f} ratio={mb_s / limit:.2f} "
                          f"peak_rss_mb={copy['peak_rss_mb']:.0f} "
                          f"naive_mb_s={size_mb / naive['seconds']:.1f} "
                          f"md5_mb_s={md5_mb_s:.1f} "
                          f"md5_bound_ratio={mb_s / min(limit, md5_mb_s):.2f}", flush=True)
                server.kill()
                server.wait()
                helpers.remove(server)
                os.unlink(src)
        finally:
            for proc in helpers:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
