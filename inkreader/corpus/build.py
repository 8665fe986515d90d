"""Page ground truth in, a line dataset out: ``inkreader corpus``.

For each source (a pinned git commit or a folder): every PAGE-XML / ALTO page file, one file a
page image (a page stored twice, as ALTO and as PAGE, or with a normalised twin, is read
once), each TextLine's transcription through ``labels.normalise``, its pixels cut by
``crop.cut_line``; then a split by document and a TSV that every command reads:

``lines.tsv``   file, split, text, page, document, source, commit, licence, line
``counts.json`` pages and lines kept and dropped, by reason, per source
``lines/``      the line images (grayscale JPEG), ``<source>/<page>__<line>.jpg``

The split is by document (``Source.document``), deterministic: the documents of a source in
the order of a hash of their names go to val until it holds ``val_fraction`` of the source's
lines (never a document over twice that, never all documents, at least one). Repeated text
(the same line on two pages, or a line most of whose word trigrams stand in three documents
or more: a consent statement every volunteer copied) never goes to val.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2

from ..charset import Charset
from ..data.pagexml import NotPageXml, XmlLine, read_xml_lines
from ..errors import DatasetError, ImageError, InkreaderError
from ..preprocess import read_gray
from .crop import cut_line
from .gitsource import materialise
from .labels import normalise
from .sources import Source, find_git_dir, is_github

log = logging.getLogger(__name__)

VAL_FRACTION = 0.06
JPEG_QUALITY = 92
COLUMNS = ("file", "split", "text", "page", "document", "source", "commit", "licence", "line")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WORD = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"(\d+)")


@dataclass
class Line:
    source: str
    page: str            # the page file's path in its source, without suffix
    document: str
    layout: XmlLine
    image: Path
    text: str | None = None
    reason: str = ""
    split: str = ""
    file: str = ""


def _natural(path: str) -> list:
    """``PH 1858-2`` before ``PH 1858-10``."""
    return [int(t) if t.isdigit() else t for t in _NUMBER.split(path)]


def page_files(root: Path, source: Source) -> list[Path]:
    """The page files of a source, naturally sorted, ``include`` minus ``exclude``."""
    found = {p for pattern in source.include for p in root.glob(pattern) if p.is_file()}
    skip = {p for pattern in source.exclude for p in root.glob(pattern)}
    return sorted(found - skip, key=lambda p: _natural(p.relative_to(root).as_posix()))


def document_of(rel: str, source: Source) -> str:
    if source.document:
        m = re.search(source.document, rel)
        if m:
            return m.group(1) if m.groups() else m.group(0)
    parent = Path(rel).parent
    return (parent.parent if parent.name in ("alto", "page", "xml") else parent).as_posix()


def read_source(root: Path, source: Source, charset: set[str],
                counts: Counter) -> list[Line]:
    """Every line of every page of ``source`` (checked out at ``root``), labelled."""
    lines: list[Line] = []
    seen_images: set[Path] = set()
    pages_of: dict[str, list[str]] = defaultdict(list)
    for xml in page_files(root, source):
        rel = xml.relative_to(root).as_posix()
        try:
            image, layout = read_xml_lines(xml)
        except NotPageXml:
            continue
        except DatasetError as exc:
            log.warning("%s", exc)
            counts["pages unreadable"] += 1
            continue
        if image in seen_images:
            counts["pages read twice (skipped)"] += 1
            continue
        seen_images.add(image)
        counts["pages"] += 1
        present = image.is_file()
        if not present:
            counts["pages without image"] += 1
        doc = document_of(rel, source)
        page = rel.rsplit(".", 1)[0]
        pages_of[doc].append(page)
        for ln in layout:
            line = Line(source.name, page, doc, ln, image)
            _label(line, source, charset, present)
            counts["lines"] += 1
            lines.append(line)
    if source.pages_per_document:
        for line in lines:
            index = pages_of[line.document].index(line.page)
            line.document = f"{line.document}#{index // source.pages_per_document + 1}"
    return lines


def _label(line: Line, source: Source, charset: set[str], present: bool) -> None:
    ln = line.layout
    raw = " ".join(ln.text.split())
    if not raw:
        line.reason = "no transcription"
    elif not present:
        line.reason = "page image missing"
    elif ln.polygon is None or len(ln.polygon) < 3:
        line.reason = "no polygon"
    elif re.search(r"print|typ", ln.kind, re.IGNORECASE):
        line.reason = "printed or typed line"
    elif any(p.search(raw) for p in source.drop_patterns):
        line.reason = "not handwriting text (drop pattern)"
    else:
        label = normalise(raw, charset, source.glued_expansions)
        if label.text is not None and len(label.text) < source.min_chars:
            line.reason = f"shorter than {source.min_chars} characters"
        else:
            line.text, line.reason = label.text, label.reason


def _key(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def repeated_texts(lines: list[Line]) -> set[int]:
    """Indices of lines whose text is boilerplate: on two pages or more, or with half of its
    word trigrams (at least one) in three documents or more."""
    pages_with: dict[tuple, set[str]] = defaultdict(set)
    docs_with: dict[tuple, set[str]] = defaultdict(set)
    for line in lines:
        words = _key(line.text)
        pages_with[words].add(f"{line.source}/{line.page}")
        for i in range(len(words) - 2):
            docs_with[words[i:i + 3]].add(f"{line.source}/{line.document}")
    out = set()
    for n, line in enumerate(lines):
        words = _key(line.text)
        trigrams = [words[i:i + 3] for i in range(len(words) - 2)]
        common = sum(len(docs_with[t]) >= 3 for t in trigrams)
        if len(pages_with[words]) >= 2 or (trigrams and common * 2 >= len(trigrams)):
            out.add(n)
    return out


def _rank(name: str) -> bytes:
    return hashlib.sha256(name.encode("utf-8")).digest()


def choose_val(lines: list[Line], fraction: float) -> set[str]:
    """The val documents of one source's kept lines (see the module's docstring)."""
    size = Counter(line.document for line in lines)
    total = sum(size.values())
    if len(size) < 2 or fraction <= 0:
        return set()
    val, held = set(), 0
    for doc in sorted(size, key=lambda d: _rank(f"{lines[0].source}/{d}")):
        if held >= fraction * total or len(val) == len(size) - 1:
            break
        if held + size[doc] <= 2 * fraction * total:
            val.add(doc)
            held += size[doc]
    if not val:
        val.add(min(size, key=lambda d: (size[d], _rank(d))))
    return val


def assign_splits(lines: list[Line], fraction: float, counts: dict[str, Counter]) -> None:
    kept = [ln for ln in lines if ln.text is not None]
    boiler = repeated_texts(kept)
    by_source: dict[str, list[Line]] = defaultdict(list)
    for line in kept:
        by_source[line.source].append(line)
    val_docs = {name: choose_val(group, fraction) for name, group in by_source.items()}
    for n, line in enumerate(kept):
        if line.document not in val_docs[line.source]:
            line.split = "train"
        elif n in boiler:
            line.text, line.reason = None, "repeated text kept out of val"
        else:
            line.split = "val"
    for line in lines:
        key = line.split or line.reason.split(":")[0]
        counts[line.source][f"kept {line.split}" if line.split else f"dropped: {key}"] += 1


def _cut_page(image: str, jobs: list[tuple]) -> list[tuple[str, str]]:
    """Cut and write the lines of one page; returns (file, error) for lines that failed."""
    failed = []
    try:
        page = read_gray(Path(image))
    except ImageError as exc:
        return [(out, str(exc)) for out, *_ in jobs]
    for out, polygon, baseline in jobs:
        try:
            pixels = cut_line(page, polygon, baseline, name=f"{image} {out}")
        except ImageError as exc:
            failed.append((out, str(exc)))
            continue
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(out, pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            failed.append((out, f"{out}: could not be written"))
    return failed


def cut_lines(lines: list[Line], out: Path, workers: int) -> list[tuple[str, str]]:
    """Write every kept line's image under ``out/lines``; each page is decoded once."""
    by_page: dict[Path, list[tuple]] = defaultdict(list)
    for line in lines:
        if line.text is None:
            continue
        name = _SAFE.sub("_", f"{Path(line.page).name}__{line.layout.id}")
        line.file = f"lines/{line.source}/{name}.jpg"
        target = out / line.file
        if not target.is_file():
            by_page[line.image].append((str(target), line.layout.polygon, line.layout.baseline))
    failed: list[tuple[str, str]] = []
    if workers <= 1:
        for image, jobs in by_page.items():
            failed += _cut_page(str(image), jobs)
        return failed
    with ProcessPoolExecutor(workers) as pool:
        for result in pool.map(_cut_page, [str(i) for i in by_page], by_page.values(),
                               chunksize=4):
            failed += result
    return failed


def write_table(lines: list[Line], out: Path, commits: dict[str, str],
                licences: dict[str, str]) -> int:
    rows = [ln for ln in lines if ln.split]
    tmp = out / "lines.tsv.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for ln in rows:
            f.write("\t".join((ln.file, ln.split, ln.text, ln.page.replace("\t", " "),
                               ln.document, ln.source, commits[ln.source],
                               licences[ln.source], ln.layout.id)) + "\n")
    os.replace(tmp, out / "lines.tsv")
    return len(rows)


def build_corpus(checkouts: list[tuple[Source, Path, str]], out: Path,
                 val_fraction: float = VAL_FRACTION, workers: int = 2) -> dict[str, Counter]:
    """The whole corpus of ``(source, checked-out folder, commit)`` into ``out``; returns the
    counts per source (also written to ``out/counts.json``)."""
    charset = set(Charset.gnhk().symbols)
    counts: dict[str, Counter] = defaultdict(Counter)
    lines: list[Line] = []
    for source, root, _ in checkouts:
        found = read_source(root, source, charset, counts[source.name])
        if counts[source.name]["pages"] == 0:
            raise DatasetError(f"{root}: no PAGE-XML or ALTO pages found for {source.repo}")
        lines += found
    assign_splits(lines, val_fraction, counts)
    out.mkdir(parents=True, exist_ok=True)
    failed = dict(cut_lines(lines, out, workers))
    for line in lines:
        if line.split and str(out / line.file) in failed:
            log.warning("%s", failed[str(out / line.file)])
            counts[line.source][f"kept {line.split}"] -= 1
            counts[line.source]["dropped: image unreadable"] += 1
            line.split, line.text = "", None
    commits = {s.name: c for s, _, c in checkouts}
    licences = {s.name: s.licence for s, _, _ in checkouts}
    if write_table(lines, out, commits, licences) == 0:
        raise InkreaderError(f"{out}: no line was kept; see counts.json")
    (out / "counts.json").write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n")
    return counts


def checkout_source(source: Source, mirrors: list[Path], cache: Path) -> tuple[Path, str]:
    """The folder to read ``source`` from, and the commit it holds ("" for a plain folder)."""
    if not is_github(source.repo):
        return Path(source.repo), source.commit
    git_dir = find_git_dir(source, mirrors, cache)
    done = materialise(git_dir, source.commit, cache / "files" / source.name)
    if done.missing:
        log.info("%s: %d files absent from the repository's object store",
                 source.repo, len(done.missing))
    return done.root, source.commit
