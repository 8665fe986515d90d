"""The pinned sources of a line corpus: a TOML file of git repositories at exact commits, each
with its licence and what to skip (``configs/corpus-sources.toml``), or a plain folder.

Keys of a ``[[source]]`` table (all but ``repo`` and ``commit`` optional):

``repo``               ``owner/name`` on GitHub, or a local path to a folder or git repository
``commit``             the exact commit read (required for a repository)
``licence``            the licence of its transcriptions and images, copied into every line's row
``include``/``exclude`` globs of page files (relative to the repository root) to read / skip
``document``           a regex whose first group, searched in the page file's path, names the
                       document (letter, will, volume) a page belongs to; default: its folder
``pages_per_document`` cut each document into runs of this many consecutive pages (registers
                       of hundreds of pages by a few clerks: a run is the unit of the split)
``drop``               regexes: transcriptions that match are not lines of handwriting
                       (page ids, stamps); dropped
``glued_expansions``   the source stores abbreviations glued to their expansion
                       (``MrMonsieur``): cut the expansion (``inkreader.corpus.labels``)
``min_chars``          drop shorter lines (tabular cells of one or two digits)
``note``               free text: why the options above are set
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import DatasetError
from .gitsource import clone, git_dir_of, has_commit


@dataclass(frozen=True)
class Source:
    repo: str
    commit: str = ""
    licence: str = ""
    include: tuple[str, ...] = ("**/*.xml",)
    exclude: tuple[str, ...] = ()
    document: str = ""
    pages_per_document: int = 0
    drop: tuple[str, ...] = ()
    glued_expansions: bool = False
    min_chars: int = 1
    note: str = ""
    drop_patterns: tuple[re.Pattern, ...] = field(default=(), compare=False, repr=False)

    @property
    def name(self) -> str:
        """``owner+name`` for a GitHub repository, the folder's name for a local one."""
        return self.repo.replace("/", "+") if is_github(self.repo) else Path(self.repo).name


def is_github(repo: str) -> bool:
    return re.fullmatch(r"[\w.-]+/[\w.-]+", repo) is not None and not Path(repo).exists()


def _as_tuple(value, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: {key} must be a string or a list of strings")
    return tuple(value)


def _source(table: dict, where: str) -> Source:
    known = {f.name for f in fields(Source)} - {"drop_patterns"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise DatasetError(f"{where}: unknown key(s) {', '.join(unknown)} "
                           f"(known: {', '.join(sorted(known))})")
    if "repo" not in table:
        raise DatasetError(f"{where}: every [[source]] needs repo")
    if is_github(table["repo"]) and not re.fullmatch(r"[0-9a-f]{40}", table.get("commit", "")):
        raise DatasetError(f"{where}: {table['repo']} needs commit = the full 40-digit hash")
    values = dict(table)
    for key in ("include", "exclude", "drop"):
        if key in values:
            values[key] = _as_tuple(values[key], key, where)
    try:
        patterns = tuple(re.compile(p) for p in values.get("drop", ()))
        if values.get("document"):
            re.compile(values["document"])
    except re.error as exc:
        raise DatasetError(f"{where}: bad regex ({exc})") from None
    return Source(**values, drop_patterns=patterns)


def load_sources(path: Path) -> list[Source]:
    """A sources TOML -> its sources, checked (unknown keys, missing commits, bad regexes)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DatasetError(f"{path}: not a readable TOML file ({exc})") from None
    tables = data.get("source")
    if not isinstance(tables, list) or not tables:
        raise DatasetError(f"{path}: no [[source]] tables")
    extra = sorted(set(data) - {"source"})
    if extra:
        raise DatasetError(f"{path}: unknown top-level key(s) {', '.join(extra)}")
    return [_source(t, f"{path} [[source]] {n}") for n, t in enumerate(tables, start=1)]


def local_source(folder: Path) -> Source:
    """A folder (or git repository) given on the command line: every page file in it."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder")
    return Source(repo=str(folder))


def find_git_dir(source: Source, mirrors: list[Path], cache: Path) -> Path:
    """Where the repository of ``source`` holding its commit is: a mirror folder given by the
    user (``owner+name/repo``, ``owner+name``, ``owner/name`` or ``name`` under it, a clone or
    a bare repository), else a bare clone from GitHub into ``cache``."""
    owner, name = source.repo.split("/")
    for root in mirrors:
        for cand in (root / f"{owner}+{name}" / "repo", root / f"{owner}+{name}",
                     root / owner / name, root / name):
            if cand.is_dir():
                git_dir = git_dir_of(cand)
                if not has_commit(git_dir, source.commit):
                    raise DatasetError(f"{cand}: does not hold commit {source.commit} of "
                                       f"{source.repo}; fetch it or remove the folder")
                return git_dir
    return clone(f"https://github.com/{source.repo}.git", cache / "git" / source.name,
                 source.commit)
