"""Load test of ``inkreader serve``: requests/s and p50/p95 latency at 1, 4 and 16 concurrent
clients, against a server this script starts itself on a free loopback port (127.0.0.1 only).

Bounded: each client sends at most ``--requests`` requests and each level stops after
``--seconds``. Every request's image is a real Hooker test line cut to a width no other request
has, sent under its own file name; a response counts as correct only if it echoes that name
and that (height, width), so a lost or mixed-up answer is caught.

    .venv/bin/python bench/load_test.py                       # 1, 4, 16 clients, /v1/lines
    .venv/bin/python bench/load_test.py --endpoint pages --clients 1 4 --requests 2
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HOOKER = ROOT / ".." / "shared" / "data" / "hooker"
HOST = "127.0.0.1"  # loopback only, never anything else


def line_images(n: int) -> list[tuple[str, bytes, tuple[int, int]]]:
    """``n`` distinct requests: (file name, JPEG bytes, (height, width)); widths all differ."""
    with open(HOOKER / "lines.tsv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["split"] == "test"]
    out, k = [], 0
    while len(out) < n:
        gray = cv2.imread(str(HOOKER / rows[k % len(rows)]["file"]), cv2.IMREAD_GRAYSCALE)
        width = gray.shape[1] - len(out) % 97 - 1  # unique (h, w) with the name
        crop = gray[:, :max(width, 32)]
        ok, jpg = cv2.imencode(".jpg", crop)
        out.append((f"req{len(out):05d}.jpg", jpg.tobytes(), crop.shape))
        k += 1
    return out


def page_images(n: int) -> list[tuple[str, bytes, tuple[int, int]]]:
    pages = sorted((HOOKER / "test_pages").glob("*.jpg"))
    out = []
    for k in range(n):
        gray = cv2.imread(str(pages[k % len(pages)]), cv2.IMREAD_GRAYSCALE)
        crop = gray[:, : gray.shape[1] - k]
        out.append((f"page{k:05d}.jpg", cv2.imencode(".jpg", crop)[1].tobytes(), crop.shape))
    return out


def start_server(extra: list[str]) -> tuple[subprocess.Popen, str, object]:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed by the caller)
    proc = subprocess.Popen([sys.executable, "-m", "inkreader.cli", "serve", "--host", HOST,
                             "--port", str(port), *extra], stdout=log, stderr=log, cwd=ROOT)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"server exited: {log.read().decode(errors='replace')}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url, log
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start in 120 s")


def level(url: str, endpoint: str, clients: int, work: list, seconds: float) -> dict:
    """``clients`` threads share ``work`` (each item sent once); returns the tallies."""
    lock = threading.Lock()
    todo = iter(work)
    latencies, wrong, failed, statuses = [], [], [], {}
    deadline = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(timeout=120) as http:
            while time.monotonic() < deadline:
                with lock:
                    item = next(todo, None)
                if item is None:
                    return
                name, data, shape = item
                t0 = time.perf_counter()
                try:
                    r = http.post(f"{url}/v1/{endpoint}", files={"file": (name, data)})
                except httpx.HTTPError as exc:
                    with lock:
                        failed.append(f"{name}: {exc}")
                    continue
                dt = time.perf_counter() - t0
                with lock:
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    if r.status_code != 200:
                        failed.append(f"{name}: HTTP {r.status_code} {r.text[:100]}")
                        continue
                    body = r.json()
                    if body.get("image") != name or tuple(body.get("size") or ()) != shape:
                        wrong.append(f"{name}: got {body.get('image')} {body.get('size')}")
                    latencies.append(dt)

    before = httpx.get(url + "/health").json()["line_batches"]
    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    batches = httpx.get(url + "/health").json()["line_batches"] - before
    lat = np.array(latencies) * 1000
    return {"clients": clients, "sent": len(latencies) + len(failed), "ok": len(latencies),
            "wrong": wrong, "failed": failed, "statuses": statuses, "wall": wall,
            "rps": len(latencies) / wall if wall else 0.0,
            "p50": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
            "p95": float(np.percentile(lat, 95)) if len(lat) else float("nan"),
            "batches": batches}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--requests", type=int, default=12, help="requests per client (default 12)")
    p.add_argument("--seconds", type=float, default=90, help="time limit per level (default 90)")
    p.add_argument("--endpoint", choices=("lines", "pages"), default="lines")
    p.add_argument("--server-args", default="", help="extra `inkreader serve` options, quoted")
    args = p.parse_args(argv)
    make = line_images if args.endpoint == "lines" else page_images
    work = make(sum(c * args.requests for c in args.clients))
    proc, url, log = start_server(args.server_args.split())
    try:
        httpx.post(f"{url}/v1/{args.endpoint}", files={"file": work[0][:2]}, timeout=120)
        rows, offset = [], 0
        for c in args.clients:
            n = c * args.requests
            rows.append(level(url, args.endpoint, c, work[offset:offset + n], args.seconds))
            offset += n
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} usable cores; "
          f"endpoint /v1/{args.endpoint}; server options: {args.server_args or '(defaults)'}")
    print("| clients | requests sent | correct | wrong / lost | other status | req/s | "
          "p50 ms | p95 ms | recognizer calls |")
    print("|---|---|---|---|---|---|---|---|---|")
    bad = 0
    for r in rows:
        others = {k: v for k, v in r["statuses"].items() if k != 200}
        calls = r["batches"] if args.endpoint == "lines" else r["ok"]
        print(f"| {r['clients']} | {r['sent']} | {r['ok']} | {len(r['wrong'])} | "
              f"{others or '-'} | {r['rps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {calls} |")
        for msg in r["wrong"] + r["failed"]:
            print(f"  {msg}", file=sys.stderr)
        bad += len(r["wrong"]) + len(r["failed"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
