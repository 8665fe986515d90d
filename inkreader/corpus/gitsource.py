"""A pinned commit of a git repository as a folder of files, for the corpus builder.

A source is read from a local git directory (a clone, or a bare mirror) at an exact commit, or
cloned from its URL into a cache first. Only the blobs present in the object store are written:
mirrors that leave out their largest files (or a partial clone) still give every page whose
files are there, and the missing paths are counted, never guessed.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError

log = logging.getLogger(__name__)


@dataclass
class Checkout:
    """What ``materialise`` wrote: the folder, and the files the object store lacked."""

    root: Path
    files: int
    missing: list[str]


def _git(git_dir: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=False,
                          capture_output=True, **kw)


def git_dir_of(path: Path) -> Path:
    """The git directory of a clone (``path/.git``) or of a bare repository (``path``)."""
    if (path / ".git").exists():
        return path / ".git"
    if (path / "objects").is_dir() and (path / "HEAD").is_file():
        return path
    raise DatasetError(f"{path}: not a git repository (no .git, not a bare repository)")


def has_commit(git_dir: Path, commit: str) -> bool:
    return _git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}").returncode == 0


def clone(url: str, dest: Path, commit: str) -> Path:
    """A bare clone of ``url`` into ``dest`` (kept as a cache) holding ``commit``."""
    if not (dest / "objects").is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        log.info("cloning %s", url)
        done = subprocess.run(["git", "clone", "--bare", "--quiet", url, str(dest)],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            shutil.rmtree(dest, ignore_errors=True)
            raise DatasetError(f"{url}: git clone failed: {done.stderr.strip()[-300:]}")
    if not has_commit(dest, commit):
        _git(dest, "fetch", "--quiet", "origin", commit)
    if not has_commit(dest, commit):
        raise DatasetError(f"{url}: commit {commit} not found after cloning")
    return dest


def materialise(git_dir: Path, commit: str, dest: Path) -> Checkout:
    """Write the files of ``commit`` into ``dest`` (emptied first if it was a previous
    checkout of this function; any other non-empty folder is refused)."""
    if not has_commit(git_dir, commit):
        raise DatasetError(f"{git_dir}: commit {commit} is not in this repository")
    stamp = dest / ".inkreader-checkout"
    if dest.exists() and any(dest.iterdir()):
        if not stamp.is_file():
            raise DatasetError(f"{dest}: exists and is not a checkout made by inkreader corpus; "
                               "refusing to overwrite it")
        if stamp.read_text().strip() == commit:
            return Checkout(dest, -1, [])
        shutil.rmtree(dest)
    listing = _git(git_dir, "ls-tree", "-r", "-z", commit)
    if listing.returncode:
        raise DatasetError(f"{git_dir}: git ls-tree {commit} failed: {listing.stderr!r}")
    entries = []
    for item in listing.stdout.split(b"\0"):
        if not item:
            continue
        meta, path = item.split(b"\t", 1)
        mode, kind, sha = meta.split()
        if kind == b"blob" and mode != b"120000":  # files, not symlinks or submodules
            entries.append((sha.decode(), path.decode("utf-8", "surrogateescape")))
    dest.mkdir(parents=True, exist_ok=True)
    missing = []
    with subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        # one request at a time: the answer's header says its size (or "missing")
        for sha, path in entries:
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) < 3 or header[1] == b"missing":
                missing.append(path)
                continue
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after each object
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        proc.stdin.close()
    stamp.write_text(commit + "\n")
    return Checkout(dest, len(entries) - len(missing), missing)
