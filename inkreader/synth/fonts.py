"""Find the handwriting fonts to render synthetic lines with, and check their coverage.

Where fonts are looked for (``default_font_dirs``), in this order:
1. the folders in ``$INKREADER_FONTS_DIR`` (``os.pathsep``-separated);
2. the project's ``.fonts`` folder (``scripts/install_fonts.sh`` installs the npm
   ``@fontsource/*`` handwriting families there);
3. the folders of the Debian handwriting font packages under the system font directories (only
   those: the other system fonts are print fonts).

A font is kept when it has a visible glyph for all but at most ``MAX_MISSING`` symbols of the
charset; the symbols it lacks are recorded and avoided in the texts rendered with it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from ..charset import Charset
from ..errors import InkreaderError
from .render import FontFace, load_font, measure_x_height

log = logging.getLogger(__name__)

PROJECT_FONTS = Path(__file__).resolve().parents[2] / ".fonts"
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts",
                    "~/.fonts")
# Folder names used by the Debian packages of scripts/install_fonts.sh (fonts-dkg-handwriting
# installs into "fifthhorseman").
SYSTEM_HANDWRITING = ("breip", "comic-neue", "dancingscript", "fifthhorseman", "kaushanscript",
                      "kristi", "sjfonts", "ecolier-court", "havana", "rufscript")
FONT_SUFFIXES = (".ttf", ".otf", ".woff", ".woff2")
MAX_MISSING = 2


def default_font_dirs() -> list[Path]:
    """The folders searched when no ``--fonts-dir`` is given (see the module docstring)."""
    dirs = [Path(p) for p in os.environ.get("INKREADER_FONTS_DIR", "").split(os.pathsep) if p]
    dirs.append(PROJECT_FONTS)
    for root in SYSTEM_FONT_DIRS:
        root_path = Path(root).expanduser()
        if root_path.is_dir():
            for name in SYSTEM_HANDWRITING:
                dirs.extend(sorted(root_path.glob(f"*/{name}")))
    return dirs


_STYLE_WORDS = {"thin", "extralight", "light", "regular", "medium", "semibold", "bold",
                "extrabold", "black", "italic", "oblique"}


def _family(name: str) -> str:
    """"Caveat SemiBold" -> "Caveat": some files name the weight in the family."""
    words = name.split()
    while len(words) > 1 and words[-1].lower() in _STYLE_WORDS:
        words.pop()
    return " ".join(words)


def _font_files(dirs: Iterable[Path]) -> list[Path]:
    """Font files under ``dirs``, sorted; a .woff2 is skipped when the .woff beside it exists
    (Pillow reads woff2 only with a brotli-enabled FreeType)."""
    found: dict[str, Path] = {}
    for d in dirs:
        if not Path(d).is_dir():
            continue
        for p in sorted(Path(d).rglob("*")):
            if p.suffix.lower() not in FONT_SUFFIXES or not p.is_file():
                continue
            if p.suffix.lower() == ".woff2" and p.with_suffix(".woff").is_file():
                continue
            found.setdefault(p.name, p)  # the same file in two folders is one font
    return [found[k] for k in sorted(found)]


def check_font(path: Path, charset: Charset) -> FontFace | None:
    """A FontFace if Pillow can render ``path`` and it covers the charset (up to MAX_MISSING
    symbols); None otherwise (logged)."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        raise InkreaderError("synth needs fontTools: pip install 'inkreader[synth]'") from None
    try:
        tt = TTFont(str(path), lazy=True, fontNumber=0)
        cmap = tt.getBestCmap() or {}
        names = tt["name"]
        family = _family(names.getDebugName(16) or names.getDebugName(1) or path.stem)
        full = (names.getDebugName(4) or path.stem).strip()
    except Exception as exc:  # a broken or unsupported font file is skipped, not fatal
        log.warning("%s: cannot read font (%s)", path, exc)
        return None
    missing = {s for s in charset.symbols if s != " " and ord(s) not in cmap}
    if len(missing) > MAX_MISSING:  # most subset files (cyrillic, latin-ext, ...) stop here
        log.debug("%s: lacks %d charset symbols, skipped", path.name, len(missing))
        return None
    try:
        font = load_font(str(path), 40)
    except OSError as exc:
        log.warning("%s: Pillow cannot load this font (%s)", path, exc)
        return None
    for s in charset.symbols:
        box = font.getbbox(s) if s != " " and s not in missing else (0, 0, 1, 1)
        if box[2] <= box[0] or box[3] <= box[1]:
            missing.add(s)  # mapped to an empty glyph
    if len(missing) > MAX_MISSING:
        log.debug("%s: lacks %d charset symbols, skipped", path.name, len(missing))
        return None
    return FontFace(str(path), family, measure_x_height(str(path)), frozenset(missing), full)


def find_fonts(dirs: Iterable[str | Path] | None = None,
               charset: Charset | None = None) -> list[FontFace]:
    """Every usable handwriting font under ``dirs`` (default: ``default_font_dirs()``), sorted
    by file name; an InkreaderError naming the folders when there is none."""
    dirs = [Path(d) for d in (default_font_dirs() if dirs is None else dirs)]
    charset = charset or Charset.gnhk()
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # harmless table warnings
    best: dict[str, FontFace] = {}
    for p in _font_files(dirs):
        face = check_font(p, charset)
        # one font shipped as several subset files (latin, korean, math, ...) counts once
        if face is not None and (face.full_name not in best
                                 or len(face.missing) < len(best[face.full_name].missing)):
            best[face.full_name] = face
    faces = sorted(best.values(), key=lambda f: f.name)
    if not faces:
        searched = ", ".join(str(d) for d in dirs) or "(none)"
        raise InkreaderError(
            f"no handwriting font covering the charset found in: {searched}; install them with "
            "scripts/install_fonts.sh or pass --fonts-dir FOLDER")
    log.info("%d handwriting fonts (%d families)", len(faces), len(group_families(faces)))
    return faces


def group_families(fonts: list[FontFace]) -> list[list[FontFace]]:
    """Fonts grouped by family, families sorted by name: a line picks a family first, so a
    family with eight weights is not eight times as likely as one with one."""
    groups: dict[str, list[FontFace]] = {}
    for f in fonts:
        groups.setdefault(f.family, []).append(f)
    return [groups[k] for k in sorted(groups)]
