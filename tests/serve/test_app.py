"""The HTTP service: good and malformed requests against the app (TestClient), the
micro-batcher on its own, and the real uvicorn server in a subprocess."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from inkreader import cli
from inkreader.decode.options import DecodingOptions
from inkreader.results import LineResult
from inkreader.runtime.loading import AUTO_BACKEND
from inkreader.runtime.recognizer import Recognizer
from inkreader.serve.app import MicroBatcher, ServeConfig, create_app

from ..conftest import SHARED

warnings.filterwarnings("ignore", message=".*httpx.*")
from fastapi.testclient import TestClient  # noqa: E402  (after the filter: it warns on import)

LINES = SHARED / "data" / "hooker" / "lines"
LINE = LINES / "JDH_2_16_144_001__r1l10.jpg"
PAGE = SHARED / "data" / "hooker" / "test_pages" / "JDH_2_16_72_007.jpg"  # a short page


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer.load(threads=1)


@pytest.fixture(scope="module")
def client(rec):
    app = create_app(ServeConfig(max_upload_mb=1, max_pixels=4_000_000, workers=1, queue=16,
                                 batch_wait_ms=20), recognizer=rec)
    with TestClient(app) as c:
        yield c


def png(width: int, height: int = 40) -> bytes:
    img = np.full((height, width), 235, np.uint8)
    cv2.putText(img, "ink", (4, height - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 20, 2)
    return cv2.imencode(".png", img)[1].tobytes()


def test_health_and_docs(client):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["capacity"] == 17 and h["backend"] == AUTO_BACKEND
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/lines", "/v1/pages", "/health"} <= set(paths)


def test_line_result_echoes_the_upload(client):
    r = client.post("/v1/lines", files={"file": ("l.jpg", LINE.read_bytes(), "image/jpeg")})
    assert r.status_code == 200
    body = r.json()
    h, w = cv2.imread(str(LINE), cv2.IMREAD_GRAYSCALE).shape
    assert body["image"] == "l.jpg" and body["size"] == [h, w] and body["error"] is None
    assert isinstance(body["text"], str) and 0.0 <= body["confidence"] <= 1.0
    assert "".join(c["char"] for c in body["chars"]) == body["text"]
    assert all(0 <= c["x0"] < c["x1"] <= w for c in body["chars"])


def test_page_result_has_lines_in_order(client):
    r = client.post("/v1/pages", files={"file": ("p.jpg", PAGE.read_bytes(), "image/jpeg")})
    assert r.status_code == 200
    body = r.json()
    assert body["image"] == "p.jpg" and body["size"] == list(cv2.imread(str(PAGE), 0).shape)
    assert len(body["lines"]) >= 2
    assert body["text"] == "\n".join(ln["text"] for ln in body["lines"])
    for ln in body["lines"]:
        assert len(ln["polygon"]) >= 3 and len(ln["baseline"]) == 2
    tops = [min(y for _, y in ln["polygon"]) for ln in body["lines"]]
    assert tops == sorted(tops)  # one column: top to bottom


def test_page_with_its_layout_and_as_pagexml_or_alto(client):
    from lxml import etree

    from inkreader.pages.schemas import validate

    image = ("p.jpg", PAGE.read_bytes(), "image/jpeg")
    layout = PAGE.with_suffix(".xml").read_bytes()
    ids = [e.get("id") for e in etree.fromstring(layout).iter("{*}TextLine")]
    r = client.post("/v1/pages", files={"file": image, "layout": ("p.xml", layout)})
    assert r.status_code == 200 and [ln["id"] for ln in r.json()["lines"]] == ids
    texts = [ln["text"] for ln in r.json()["lines"]]
    r = client.post("/v1/pages?format=pagexml", files={"file": image,
                                                       "layout": ("p.xml", layout)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    filled = etree.fromstring(r.content)  # the given PAGE 2013 file, filled in
    assert etree.QName(filled).namespace.endswith("2013-07-15")
    assert [e.findtext("{*}TextEquiv/{*}Unicode") for e in filled.iter("{*}TextLine")] == texts
    r = client.post("/v1/pages?format=alto", files={"file": image})
    assert r.status_code == 200 and validate(r.content, "alto") == []
    r = client.post("/v1/pages?format=pagexml", files={"file": image})
    assert r.status_code == 200 and validate(r.content, "pagexml") == []
    r = client.post("/v1/pages?format=hocr", files={"file": image})
    assert r.status_code == 400 and r.json()["error"] == "bad_format"
    broken = layout.replace(b"<Coords", b"<Kords", 2).replace(b"</Coords", b"</Kords", 2)
    r = client.post("/v1/pages", files={"file": image, "layout": ("p.xml", broken)})
    assert r.status_code == 400 and r.json()["error"] == "bad_layout"
    assert "p.xml: " in r.json()["detail"] and "no outline" in r.json()["detail"]
    garbled = layout.replace(b'points="', b'points="x', 1)
    r = client.post("/v1/pages", files={"file": image, "layout": ("p.xml", garbled)})
    assert r.status_code == 400 and "unreadable points" in r.json()["detail"]


@pytest.mark.parametrize("files, status, code, words", [
    ({"other": ("a.png", png(50))}, 400, "missing_file", "'file'"),
    ({"file": ("e.png", b"")}, 400, "empty_file", "e.png: empty"),
    ({"file": ("n.png", b"not an image at all")}, 400, "not_an_image", "n.png: not an image"),
    ({"file": ("t.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200)}, 400, "not_an_image", "t.jpg"),
    ({"file": ("big.bin", b"0" * (2 * 2**20))}, 413, "upload_too_large", "limit of 1 MB"),
    ({"file": ("huge.png", png(2100, 2000))}, 413, "image_too_large", "2100x2000"),
])
def test_bad_uploads_get_clear_json_errors(client, files, status, code, words):
    for endpoint in ("/v1/lines", "/v1/pages"):
        r = client.post(endpoint, files=files)
        assert r.status_code == status, r.text
        assert r.json()["error"] == code and words in r.json()["detail"]


def test_truncated_jpeg_and_non_multipart(client):
    data = LINE.read_bytes()[:-200]
    r = client.post("/v1/lines", files={"file": ("cut.jpg", data, "image/jpeg")})
    assert r.status_code == 400 and "cut.jpg: truncated JPEG" in r.json()["detail"]
    r = client.post("/v1/lines", json={"file": "x"})
    assert r.status_code == 400 and r.json()["error"] == "missing_file"
    r = client.post("/v1/lines", content=b"--b\r\nbroken",
                    headers={"content-type": "multipart/form-data; boundary=b"})
    assert 400 <= r.status_code < 500 and "error" in r.json()


def test_too_wide_line_is_a_422_naming_it(client):
    r = client.post("/v1/lines", files={"file": ("w.png", png(3800, 10))})
    assert r.status_code == 422 and "w.png" in r.json()["detail"]


def test_full_queue_answers_503(client):
    service = client.app.state.service
    service.active = service.capacity
    try:
        r = client.post("/v1/lines", files={"file": ("a.png", png(80))})
    finally:
        service.active = 0
    assert r.status_code == 503 and r.json()["error"] == "busy"
    assert r.headers["retry-after"] == "1"


def test_concurrent_lines_are_batched_and_not_mixed_up(client):
    widths = [60 + 17 * k for k in range(8)]
    before = client.get("/health").json()["line_batches"]

    def one(w: int) -> dict:
        return client.post("/v1/lines", files={"file": (f"w{w}.png", png(w))}).json()

    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(one, widths))
    assert [b["image"] for b in bodies] == [f"w{w}.png" for w in widths]
    assert [b["size"] for b in bodies] == [[40, w] for w in widths]
    batches = client.get("/health").json()["line_batches"] - before
    assert 1 <= batches < len(widths)


def test_micro_batcher_groups_and_fans_out():
    calls = []

    def read(images, names):
        calls.append(list(names))
        return [LineResult(n, text=str(a.shape[1])) for a, n in zip(images, names, strict=True)]

    async def main():
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(read, pool, max_batch=4, wait_s=0.05, slots=1)
            b.start()
            images = [np.zeros((5, 10 + k), np.uint8) for k in range(10)]
            out = await asyncio.gather(*(b.submit(a, f"n{k}") for k, a in enumerate(images)))
            await b.stop()
            return out

    results = asyncio.run(main())
    assert [r.name for r in results] == [f"n{k}" for k in range(10)]
    assert [r.text for r in results] == [str(10 + k) for k in range(10)]
    assert [len(c) for c in calls] == [4, 4, 2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(*extra: str, timeout: float = 60.0):
    """``inkreader serve`` on a free loopback port in a subprocess; yields its base URL."""

    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in the finally below)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "inkreader.cli", "serve", "--port",
                             str(port), *extra], stdout=log, stderr=log, env=env,
                            cwd=Path(__file__).resolve().parents[2])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode(errors='replace')}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not answer /health in time")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_real_server_answers_concurrent_and_malformed_requests():
    with running_server("--max-upload-mb", "1", "--workers", "1") as url:
        def one(k: int) -> httpx.Response:
            if k % 3 == 2:  # every third request is garbage
                return httpx.post(url + "/v1/lines", files={"file": (f"g{k}.png", b"junk")},
                                  timeout=60)
            return httpx.post(url + "/v1/lines", files={"file": (f"w{k}.png", png(70 + k))},
                              timeout=60)

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(one, range(12)))
        for k, r in enumerate(answers):
            if k % 3 == 2:
                assert r.status_code == 400 and f"g{k}.png" in r.json()["detail"]
            else:
                assert r.status_code == 200 and r.json()["size"] == [40, 70 + k]
        big = io.BytesIO(b"0" * (3 * 2**20))
        r = httpx.post(url + "/v1/pages", files={"file": ("big.bin", big)}, timeout=60)
        assert r.status_code == 413 and r.json()["error"] == "upload_too_large"
        assert httpx.get(url + "/health", timeout=5).json()["active"] == 0


def test_served_beam_search_reads_as_the_command_line_does(capsys):
    line = SHARED / "data" / "hooker" / "lines" / "JDH_2_16_32_001__r2l12.jpg"  # a val line
    options = ("--lm", "default", "--lexicon", "default", "--tta")
    assert cli.main(["read", str(line), "--json", *options]) == 0
    expected = json.loads(capsys.readouterr().out.splitlines()[0])["text"]
    with running_server("--workers", "1", *options) as url:
        health = httpx.get(url + "/health", timeout=5).json()
        assert health["decoding"] == DecodingOptions(tta=True).describe()
        r = httpx.post(url + "/v1/lines", files={"file": (line.name, line.read_bytes())},
                       timeout=120)
        assert r.status_code == 200 and r.json()["text"] == expected
