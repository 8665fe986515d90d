"""The result store of ``inkreader batch``: a folder of JSON Lines shards, one record an image.

    archive.store/
      store.json          what reads into this store: model (and its SHA-256), backend, kind,
                          decoding; a run that would read otherwise is refused
      part-000001.jsonl   one JSON object a line, one line an image
      part-000002.jsonl   ...

A shard is written whole to a hidden temporary file, flushed to disk and renamed into place
(rename is atomic on POSIX), so a run killed at any moment leaves every shard complete or
absent: never half a record. Only one run writes a store at a time (an advisory lock on
``.lock``, released by the kernel when the process dies). Records of files that changed since
they were read are dropped by rewriting their shards the same way, before the new reading
starts, so every image has at most one record.

Query it with anything that reads JSON Lines: ``cat archive.store/part-*.jsonl | jq``,
``pandas.concat(map(partial(pd.read_json, lines=True), glob(...)))``, or DuckDB's
``read_json('archive.store/part-*.jsonl')``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import InkreaderError

log = logging.getLogger(__name__)

FORMAT = "inkreader batch store"
VERSION = 1
META = "store.json"
LOCK = ".lock"
SHARD_PREFIX, SHARD_SUFFIX = "part-", ".jsonl"


class StoreError(InkreaderError):
    """A store path that cannot be used: a file, a foreign folder, another run's store."""


class Store:
    """An open, locked store; build it with ``Store.open`` and use it as a context manager."""

    def __init__(self, root: Path, lock_fd: int):
        self.root = root
        self._lock_fd = lock_fd
        self._next = 1 + max((_shard_number(p) for p in self.shards()), default=0)

    @classmethod
    def open(cls, root: str | Path, reading: dict) -> Store:
        """Open (or create) the store at ``root`` for results read as ``reading`` describes;
        a store made by another reading (model, decoding, ...) is refused."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root}: exists and is not a folder (the store is a folder of "
                             "JSON Lines shards; give a new path or an existing store)")
        meta = root / META
        if root.is_dir() and not meta.is_file() and any(root.iterdir()):
            raise StoreError(f"{root}: a folder that is not an inkreader batch store (no "
                             f"{META}); give a new path or an empty folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
            fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{root}: cannot create the store ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{root}: another inkreader batch run is writing this store"
                             ) from None
        store = cls(root, fd)
        try:
            store._check_reading(meta, reading)
            store._remove_leftovers()
        except BaseException:
            store.close()
            raise
        return store

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = -1

    # --- reading the store ------------------------------------------------------------------

    def shards(self) -> list[Path]:
        return sorted(self.root.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}"))

    def records(self) -> Iterator[dict]:
        """Every record, shard by shard."""
        for shard in self.shards():
            yield from _read_shard(shard)

    # --- writing ----------------------------------------------------------------------------

    def commit(self, records: list[dict]) -> Path | None:
        """Write ``records`` as one new shard, atomically; returns its path (None if empty)."""
        if not records:
            return None
        target = self.root / f"{SHARD_PREFIX}{self._next:06d}{SHARD_SUFFIX}"
        self._next += 1
        _write_atomic(target, records)
        return target

    def drop(self, images: set[str]) -> int:
        """Remove the records of ``images`` (rewriting each shard that holds one, atomically);
        returns how many were removed."""
        if not images:
            return 0
        removed = 0
        for shard in self.shards():
            rows = list(_read_shard(shard))
            keep = [r for r in rows if r.get("image") not in images]
            if len(keep) == len(rows):
                continue
            removed += len(rows) - len(keep)
            if keep:
                _write_atomic(shard, keep)
            else:
                shard.unlink()
                _sync_dir(self.root)
        return removed

    # --- internals --------------------------------------------------------------------------

    def _check_reading(self, meta: Path, reading: dict) -> None:
        if not meta.is_file():
            _write_atomic(meta, [{"format": FORMAT, "version": VERSION, "reading": reading}])
            return
        try:
            saved = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{meta}: unreadable store description ({exc})") from None
        if saved.get("format") != FORMAT or saved.get("version") != VERSION:
            raise StoreError(f"{meta}: not an {FORMAT} of version {VERSION}")
        if saved.get("reading") != reading:
            diff = sorted(k for k in set(reading) | set(saved.get("reading", {}))
                          if reading.get(k) != saved.get("reading", {}).get(k))
            raise StoreError(f"{self.root}: this store holds results read with another "
                             f"{', '.join(diff)} ({_describe(saved.get('reading', {}), diff)}); "
                             "read into a new --out, or repeat the store's options")

    def _remove_leftovers(self) -> None:
        """Temporary shards of a run that was killed before it renamed them."""
        for tmp in self.root.glob(f".{SHARD_PREFIX}*.tmp"):
            log.info("removing %s (left by a run that was stopped)", tmp)
            tmp.unlink(missing_ok=True)


def _describe(reading: dict, keys: list[str]) -> str:
    return ", ".join(f"{k}={reading.get(k)!r}" for k in keys)


def _shard_number(path: Path) -> int:
    try:
        return int(path.name[len(SHARD_PREFIX):-len(SHARD_SUFFIX)])
    except ValueError:
        return 0


def _read_shard(shard: Path) -> Iterator[dict]:
    with shard.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                yield json.loads(line)
            except ValueError as exc:  # only a hand-edited shard can get here
                raise StoreError(f"{shard}:{n}: not a JSON record ({exc})") from None


def _write_atomic(target: Path, records: list[dict]) -> None:
    """Write JSON lines to ``.<name>.tmp``, fsync, rename over ``target``, fsync the folder."""
    tmp = target.with_name(f".{target.stem}.tmp")
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        _sync_dir(target.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"{target}: cannot write ({exc.strerror or exc})") from None


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
