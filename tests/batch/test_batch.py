"""inkreader batch: a Dask cluster of 2 local workers reads real Hooker pages and lines as
read-page / read do (default decoding); a killed run and a killed worker lose nothing and write
nothing twice; changed files are read again; bad input is a clear error or an error record
(these with --greedy: they test the store, not the decoder, and it loads faster)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from inkreader.batch.run import BatchSpec, guess_kind, run_batch
from inkreader.batch.store import Store
from inkreader.cli import main
from inkreader.decode.options import GREEDY
from inkreader.runtime.spec import ReaderSpec

from ..conftest import SHARED

HOOKER = SHARED / "data" / "hooker"
PAGES = [HOOKER / "test_pages" / f"JDH_2_16_{n}_001.jpg" for n in ("145", "159")]
LINES = sorted((HOOKER / "lines").glob("JDH_2_16_144_001__r1l1*.jpg"))[:6]


def records(store: Path) -> list[dict]:
    return [json.loads(line) for shard in sorted(store.glob("part-*.jsonl"))
            for line in shard.read_text(encoding="utf-8").splitlines()]


def archive(root: Path, pages: int = 2, lines: int = 3) -> tuple[Path, Path]:
    """``root/pages`` and ``root/lines``: copies of real Hooker test pages and line crops."""
    for sub, files in (("pages", PAGES[:pages]), ("lines", LINES[:lines])):
        (root / sub).mkdir(parents=True)
        for f in files:
            shutil.copy(f, root / sub / f.name)
    return root / "pages", root / "lines"


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c, distributed.Client(c) as client:
        yield c, client


def test_guess_kind_is_the_web_pages():
    assert guess_kind(902, 128) == "line"  # a Hooker line crop
    assert guess_kind(1386, 2161) == "page"  # a Hooker page
    assert guess_kind(1500, 300) == "line"  # 5x wider than high
    assert guess_kind(1400, 300) == "page"


@pytest.mark.slow
def test_two_dask_workers_read_as_read_page_and_read(cluster, tmp_path, capsys):
    c, _ = cluster
    pages, lines = archive(tmp_path / "src")
    store = tmp_path / "out.store"
    # task size 3: the three lines are one task (one Recognizer call, as `read` reads them) and
    # the two pages another (one page-reader call, as `read-page` reads them)
    rc = main(["batch", str(lines), str(pages), "--out", str(store), "--cluster",
               c.scheduler_address, "--task-size", "3", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    got = {r["image"]: r for r in records(store)}
    assert main(["read-page", "--format", "json", *map(str, sorted(pages.iterdir()))]) == 0
    want_pages = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert main(["read", "--json", *map(str, sorted(lines.iterdir()))]) == 0
    want_lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(got) == 5 and {r["status"] for r in got.values()} == {"ok"}
    for want, kind in [(w, "page") for w in want_pages] + [(w, "line") for w in want_lines]:
        rec = got[os.path.abspath(want["image"])]
        assert rec["kind"] == kind
        assert rec["text"] == want["text"] and rec["text"].strip()
        assert rec["size"] == want["size"]
        assert rec["model"]["sha256"] and rec["file"]["sha256"]
    page = got[os.path.abspath(want_pages[0]["image"])]
    assert [ln["polygon"] for ln in page["lines"]] == [ln["polygon"]
                                                       for ln in want_pages[0]["lines"]]


@pytest.mark.slow
def test_a_killed_worker_loses_nothing(cluster, tmp_path):
    from inkreader.batch.cluster import DaskEngine

    c, client = cluster
    archive(tmp_path / "src", pages=1, lines=5)
    killed = []

    def kill_a_busy_worker(recs, summary):
        busy = [w for w, tasks in client.processing().items() if tasks]
        if recs and not killed and busy:  # after the first commit, while tasks run
            client.restart_workers([busy[0]])  # Dask's own API: kill and restart its process
            killed.append(busy[0])

    spec = BatchSpec(ReaderSpec(decoding=GREEDY))
    summary = run_batch([tmp_path / "src"], tmp_path / "out.store", spec,
                        DaskEngine(c.scheduler_address), task_size=1,
                        on_commit=kill_a_busy_worker)
    assert killed, "no worker was busy after the first commit"
    got = Counter(r["image"] for r in records(tmp_path / "out.store"))
    assert len(got) == 6 and set(got.values()) == {1}
    assert summary.read == 6 and summary.lost == 0 and summary.errors == 0
    assert len(client.scheduler_info()["workers"]) == 2  # the killed one came back


@pytest.mark.slow
def test_a_killed_run_restarted_reads_each_image_once(tmp_path):
    archive(tmp_path / "src", pages=1, lines=3)
    store = tmp_path / "out.store"
    cmd = [sys.executable, "-m", "inkreader.cli", "batch", str(tmp_path / "src"), "--out",
           str(store), "--task-size", "1", "--workers", "1", "--no-progress", "--greedy"]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(store.glob("part-*.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = len(records(store))
    assert 1 <= before < 4, "the run was not killed mid-way"
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"{before} already in the store, {4 - before} read" in out.stderr
    got = Counter(r["image"] for r in records(store))
    assert len(got) == 4 and set(got.values()) == {1}
    assert not list(store.glob(".*.tmp"))


def test_a_changed_file_is_read_again(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    target = src / "line.jpg"
    shutil.copy(LINES[0], target)
    shutil.copy(LINES[1], src / "other.jpg")
    store = tmp_path / "out.store"
    args = ["batch", str(src), "--out", str(store), "--workers", "1", "--no-progress", "--greedy"]
    assert main(args) == 0
    first = {Path(r["image"]).name: r for r in records(store)}
    # the same size and mtime, other bytes: only --verify-hash sees it
    data = bytearray(target.read_bytes())
    data[-100:-2] = bytes(98)
    stat = target.stat()
    target.write_bytes(bytes(data))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert main(args) == 0
    assert "2 already in the store, 0 read" in capsys.readouterr().err
    assert main([*args, "--verify-hash"]) == 0
    assert "1 already in the store, 1 read" in capsys.readouterr().err
    # another line's content: size and mtime change
    shutil.copy(LINES[2], target)
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "1 already in the store, 1 read" in err and "changed since" in err
    last = {Path(r["image"]).name: r for r in records(store)}
    assert len(records(store)) == 2
    assert last["other.jpg"] == first["other.jpg"]
    assert last["line.jpg"]["file"]["sha256"] != first["line.jpg"]["file"]["sha256"]
    assert last["line.jpg"]["text"] != first["line.jpg"]["text"]


def test_bad_input_is_a_clear_error_or_an_error_record(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "broken.jpg").write_bytes(b"not an image")
    shutil.copy(LINES[0], src / "line.jpg")
    listing = tmp_path / "list.txt"
    listing.write_text("src/line.jpg\n# a comment\nsrc/gone.png\n", encoding="utf-8")
    store = tmp_path / "out.store"
    base = ["--out", str(store), "--workers", "1", "--no-progress", "--greedy"]

    assert main(["batch", str(tmp_path / "nothing"), *base]) == 2
    assert "nothing: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["batch", str(tmp_path / "empty"), *base]) == 1  # as `read` of an empty folder
    assert f"no image files in {tmp_path / 'empty'}" in capsys.readouterr().err
    assert not store.exists()
    a_file = tmp_path / "a.jsonl"
    a_file.write_text("{}\n")
    assert main(["batch", str(src), "--out", str(a_file)]) == 2
    assert "a.jsonl: exists and is not a folder" in capsys.readouterr().err
    assert main(["batch", str(src), "--out", str(tmp_path)]) == 2
    assert "not an inkreader batch store" in capsys.readouterr().err

    assert main(["batch", str(src), str(listing), *base]) == 1
    err = capsys.readouterr().err
    assert "3 images: 0 already in the store, 3 read" in err and "2 of them errors" in err
    got = {Path(r["image"]).name: r for r in records(store)}
    assert got["line.jpg"]["status"] == "ok"
    assert got["broken.jpg"]["status"] == "error" and "broken.jpg" in got["broken.jpg"]["error"]
    assert "gone.png: no such file" in got["gone.png"]["error"]

    assert main(["batch", str(src), *base[:-1]]) == 2  # another decoding (the default): refused
    assert "holds results read with another decoding" in capsys.readouterr().err
    greedy = BatchSpec(ReaderSpec(decoding=GREEDY))
    with Store.open(store, greedy.reading()):  # another run holds it
        assert main(["batch", str(src), *base]) == 2
    assert "another inkreader batch run is writing" in capsys.readouterr().err


def test_layouts_are_read_and_written_back_as_pagexml_or_alto(tmp_path, capsys):
    from lxml import etree

    from inkreader.pages.schemas import validate

    src = tmp_path / "src"
    src.mkdir()
    page = HOOKER / "test_pages" / "JDH_2_16_72_007"
    for suffix in (".jpg", ".xml"):
        shutil.copy(page.with_suffix(suffix), src / f"letter{suffix}")
    (src / "broken.xml").write_text("<PcGts", encoding="utf-8")
    base = ["--workers", "1", "--no-progress", "--greedy", "--layouts"]
    out = tmp_path / "xml"
    assert main(["batch", str(src), "--out", str(tmp_path / "s1"), "--xml-out", str(out),
                 *base]) == 1  # broken.xml is an error record
    err = capsys.readouterr().err
    assert "2 images: 0 already in the store, 2 read" in err and "1 pages written" in err
    got = {Path(r["image"]).name: r for r in records(tmp_path / "s1")}
    assert "broken.xml: not readable XML" in got["broken.xml"]["error"]
    rec = got["letter.xml"]
    assert rec["kind"] == "layout" and rec["page_image"] == str(src / "letter.jpg")
    ids = [e.get("id") for e in etree.parse(str(src / "letter.xml")).iter("{*}TextLine")]
    assert [ln["id"] for ln in rec["lines"]] == ids
    filled = etree.parse(str(out / "letter.xml")).getroot()
    assert [e.find("{*}TextEquiv/{*}Unicode").text for e in filled.iter("{*}TextLine")] == [
        ln["text"] for ln in rec["lines"]]
    (src / "broken.xml").unlink()
    assert main(["batch", str(src), "--out", str(tmp_path / "s2"), "--xml-out", str(out),
                 "--xml-format", "alto", *base]) == 0
    data = (out / "letter.xml").read_bytes()
    assert validate(data, "alto") == []
    words = [s.get("CONTENT") for s in etree.fromstring(data).iter("{*}String")]
    assert " ".join(words).split() == " ".join(ln["text"] for ln in rec["lines"]).split()


def test_an_unreachable_cluster_fails_before_the_store_is_made(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    from inkreader.batch import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = tmp_path / "out.store"
    assert main(["batch", str(LINES[0]), "--out", str(store), "--greedy", "--no-progress",
                 "--cluster", f"tcp://127.0.0.1:{port}"]) == 2
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in \
        capsys.readouterr().err
    assert not store.exists()
