"""Find the text lines of a page image: classical steps around a tiny shipped net.

    lines = find_lines(gray)          # (H, W) uint8 page -> [DetectedLine] in reading order

The steps (all at a working scale where the page's long side is ``WORK_SIDE`` px):
1. ink: Sauvola local threshold AND darker than the page's Otsu level (the second test drops
   the faint bleed-through of archive letters); specks and page-sized blobs (scan borders,
   rulings) are removed.
2. skew: the angle in +-``MAX_SKEW`` degrees whose horizontal ink profile is sharpest; the ink
   is rotated level before the next steps and the outlines are rotated back at the end.
3. line spacing ``L``: the first peak of the autocorrelation of the row profile, measured in
   vertical strips (so two columns or a slope do not blur it).
4. line centres: by default the bands that a small learned net (``linenet``, about 12k
   weights) marks above each baseline of the levelled page, one ridge per band. Without its
   weights (or with ``METHOD = "classical"``): the ink blurred by an anisotropic Gaussian
   (wide along x, ~L/5 along y) has one ridge per text line; its per-column maxima are linked
   into ridges, short pieces of the same line are chained, and parallel pieces too close to
   be two lines are merged. The net keeps apart what the blur merges: words written between
   two lines, and a heading beside its date.
5. assignment: every ink pixel belongs to the nearest ridge in its column (ridges extend
   ``REACH`` L past their ends); a connected component that is mostly on one ridge goes to it
   whole, one that touches two lines (a descender meeting an ascender) is split pixel by pixel.
6. a line's ink with a blank at least ``GAP`` L wide in it becomes two lines (a heading and
   the date beside it, a signature apart from the last words).
7. outline: per x-bin of L/2, the top and bottom of the line's ink -> a polygon; the baseline
   is a straight fit through the bottoms of the line's core.
The lines come out top to bottom; ``inkreader.pages.reader`` puts them in reading order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from inkreader.pages import linenet

log = logging.getLogger(__name__)

# "net": line centres from the small learned line finder (``linenet``) when its weights are
# installed; "classical": from the blurred ink alone (also the fallback without weights).
METHOD = "net"

WORK_SIDE = 1200  # px: the long side the page is analysed at (never upscaled beyond 2x)
SAUVOLA_WINDOW = 25  # px at the working scale; k is Sauvola's usual 0.2
SAUVOLA_K = 0.2
MAX_SKEW = 8.0  # degrees searched for the page's skew
SKEW_STEP = 0.5
MIN_SPACING, MAX_SPACING = 8, 250  # px at the working scale: the range a line pitch may have
BLUR_X, BLUR_Y = 1.0, 0.2  # ridge blur sigmas, in line spacings
RIDGE_LEVEL = 0.25  # a ridge is at least this fraction of the page's strong ridge height
CHAIN_GAP = 2.0  # ridges of one line may be this many L apart along x
CHAIN_DY = 0.35  # ... and this many L apart in y at the gap
MERGE_DY = 0.45  # overlapping ridges closer than this many L are one line
REACH = 1.0  # how far (in L) a ridge claims ink beyond its ends and above/below its centre
SPLIT_SHARE = 0.25  # a component is split when a second line holds this share of its pixels
MIN_LINE_INK = 0.15  # a line has at least this many L^2 ink pixels (specks and dots are not)
GAP = 2.0  # a blank this many L wide cuts a line in two (tuned on Hooker train/val pages)
BIN = 0.5  # outline x-bin, in L
PAD = 0.1  # margin around a line's ink, in L
CORE = 0.2  # half-height of a line's centre band, in L


@dataclass
class DetectedLine:
    """One text line found on a page, in page pixels: ``polygon`` outlines its ink,
    ``baseline`` is a left-to-right polyline under its letters, ``core`` (x0, y0, x1, y1) is
    the box of its centre band (for reading order: cores of neighbouring lines do not
    overlap where their ink may), ``pitch`` the page's line spacing."""

    polygon: list[tuple[int, int]]
    baseline: list[tuple[int, int]]
    core: tuple[int, int, int, int]
    pitch: float

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the polygon, inclusive."""
        pts = np.asarray(self.polygon)
        return (int(pts[:, 0].min()), int(pts[:, 1].min()),
                int(pts[:, 0].max()), int(pts[:, 1].max()))


@dataclass(eq=False)
class _Ridge:
    x0: int  # first column (working scale)
    ys: np.ndarray  # (n,) float centre y for columns x0 .. x0 + n - 1
    strength: float

    @property
    def x1(self) -> int:
        return self.x0 + len(self.ys)


def find_lines(gray: np.ndarray) -> list[DetectedLine]:
    """Text lines of an (H, W) uint8 page (dark ink on light paper), top to bottom.
    A blank page gives []."""
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"expected a non-empty (H, W) gray page, got shape {gray.shape}")
    scale = min(2.0, WORK_SIDE / max(gray.shape))
    work = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
                      if scale < 1 else cv2.INTER_LINEAR) if scale != 1 else gray
    ink = ink_mask(work)
    angle = estimate_skew(ink)
    level, rotation = _rotate(ink, angle)
    spacing = estimate_spacing(level)
    if spacing is None:
        return []
    net = linenet.load() if METHOD == "net" else None
    if net is not None:
        ridges = linenet.find_net_ridges(net, level_gray(work, rotation, level.shape), level,
                                         spacing)
    else:
        ridges = find_ridges(level, spacing)
    owners = assign_ink(level, ridges, spacing)
    back = cv2.invertAffineTransform(rotation)
    found = []
    for k, ridge in enumerate(ridges):
        mask = owners == k + 1
        for x0, x1 in split_at_gaps(mask, spacing):
            piece = mask.copy()
            piece[:, :x0] = False
            piece[:, x1:] = False
            outline = _outline(piece, spacing)
            if outline is not None:
                core = _core(ridge, spacing, x0, x1)
                found.append(_to_page(*outline, core, back, scale, gray.shape,
                                      spacing / scale))
    log.debug("page %s: skew %.1f deg, spacing %.1f px, %d ridges, %d lines", gray.shape,
              angle, spacing / scale, len(ridges), len(found))
    return sorted(found, key=lambda ln: (ln.core[1] + ln.core[3], ln.core[0]))


def ink_mask(work: np.ndarray) -> np.ndarray:
    """(H, W) bool ink of a working-scale page, specks and page-sized blobs removed."""
    from skimage.filters import threshold_sauvola

    local = work < threshold_sauvola(work, window_size=SAUVOLA_WINDOW, k=SAUVOLA_K)
    level, _ = cv2.threshold(work, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    ink = (local & (work < level)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w = work.shape
    area = stats[:, cv2.CC_STAT_AREA]
    bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    keep = (area >= 4) & (bh < 0.5 * h) & (bw < 0.9 * w)
    # A scan border or a dark edge touches the image side and is long and thin or huge.
    edge = ((stats[:, cv2.CC_STAT_LEFT] == 0) | (stats[:, cv2.CC_STAT_TOP] == 0)
            | (stats[:, cv2.CC_STAT_LEFT] + bw >= w) | (stats[:, cv2.CC_STAT_TOP] + bh >= h))
    keep &= ~(edge & ((bh > 0.2 * h) | (bw > 0.5 * w)))
    keep[0] = False
    return keep[labels]


def estimate_skew(ink: np.ndarray) -> float:
    """The page's text angle in degrees (positive: lines rise to the right in image
    coordinates, i.e. y decreases with x): the rotation that makes the row profile sharpest."""
    small = cv2.resize(ink.astype(np.float32), None, fx=0.5, fy=0.5,
                       interpolation=cv2.INTER_AREA)
    if small.sum() < 50:
        return 0.0
    centre = (small.shape[1] / 2, small.shape[0] / 2)
    best, best_score = 0.0, -1.0
    for angle in np.arange(-MAX_SKEW, MAX_SKEW + 1e-6, SKEW_STEP):
        m = cv2.getRotationMatrix2D(centre, -angle, 1.0)
        profile = cv2.warpAffine(small, m, small.shape[::-1]).sum(axis=1)
        score = float(np.square(np.diff(profile)).sum())
        if score > best_score * (1 + 1e-6) or (abs(angle) < abs(best) and score >= best_score):
            best, best_score = float(angle), score
    return best


def _rotate(ink: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate the ink level (the canvas grows so nothing is cut); returns it and the matrix."""
    h, w = ink.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    if angle == 0.0:
        return ink, m
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 1), int(h * cos + w * sin + 1)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(ink.astype(np.uint8), m, (nw, nh), flags=cv2.INTER_NEAREST)
    return out.astype(bool), m


def level_gray(work: np.ndarray, rotation: np.ndarray, shape) -> np.ndarray:
    """The working-scale gray page rotated like its ink (``_rotate``), paper-white outside."""
    if rotation[0, 1] == 0.0 and shape == work.shape:
        return work
    return cv2.warpAffine(work, rotation, shape[::-1], flags=cv2.INTER_LINEAR,
                          borderValue=int(np.median(work)))


def estimate_spacing(ink: np.ndarray) -> float | None:
    """The line pitch in px: the first autocorrelation peak of the row profile, averaged over
    vertical strips. None when the page has (almost) no ink."""
    h, w = ink.shape
    if ink.sum() < 30:
        return None
    strips = max(1, min(6, w // 120))
    total = np.zeros(h)
    for strip in np.array_split(ink, strips, axis=1):
        p = strip.sum(axis=1).astype(np.float64)
        if p.sum() == 0:
            continue
        p -= p.mean()
        f = np.fft.rfft(p, 2 * h)
        ac = np.fft.irfft(f * np.conj(f))[:h]
        total += ac / max(ac[0], 1e-9)
    lo, hi = MIN_SPACING, min(MAX_SPACING, h // 2)
    if hi <= lo + 2:
        return _ink_height(ink)
    seg = total[lo:hi]
    peaks = np.flatnonzero((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:]) & (seg[1:-1] > 0.05))
    if len(peaks) == 0:
        return _ink_height(ink)
    best = peaks[np.argmax(seg[1:-1][peaks])]
    # The first peak that is nearly as strong as the best (a multiple of the pitch can win).
    first = next(p for p in peaks if seg[1:-1][p] >= 0.7 * seg[1:-1][best])
    return float(lo + 1 + first)


def _ink_height(ink: np.ndarray) -> float:
    """Pitch of a page with a single line (no periodicity): 1.5x the ink band's height."""
    rows = np.flatnonzero(ink.any(axis=1))
    return float(np.clip(1.5 * (rows[-1] - rows[0] + 1), MIN_SPACING, MAX_SPACING))


def find_ridges(ink: np.ndarray, spacing: float) -> list[_Ridge]:
    """The line centres: per-column maxima of the blurred ink, linked, chained and merged."""
    return _merge_close(_chain(_ridge_pieces(ink, spacing), spacing), spacing)


def _ridge_pieces(ink: np.ndarray, spacing: float) -> list[_Ridge]:
    d = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), sigmaX=BLUR_X * spacing,
                         sigmaY=max(1.0, BLUR_Y * spacing))
    strong = np.percentile(d[d > 0], 99) if (d > 0).any() else 0.0
    peak = np.zeros(d.shape, np.uint8)
    mid = d[1:-1]
    peak[1:-1] = (mid > d[:-2]) & (mid >= d[2:]) & (mid > RIDGE_LEVEL * strong)
    # Bridge the one-pixel steps of a sloping ridge before linking.
    linked = cv2.dilate(peak, np.ones((3, 3), np.uint8))
    _, labels = cv2.connectedComponents(linked, connectivity=8)
    ys_all, xs_all = np.nonzero(peak)
    lab = labels[ys_all, xs_all]
    order = np.argsort(lab, kind="stable")
    ys_all, xs_all, lab = ys_all[order], xs_all[order], lab[order]
    bounds = np.flatnonzero(np.diff(lab)) + 1
    ridges = []
    for ys, xs in zip(np.split(ys_all, bounds), np.split(xs_all, bounds), strict=True):
        if len(xs) == 0:
            continue
        x0, x1 = xs.min(), xs.max() + 1
        if x1 - x0 < 0.5 * spacing:
            continue
        centre = np.full(x1 - x0, np.nan)
        best = np.full(x1 - x0, -1.0)
        vals = d[ys, xs]
        for x, y, v in zip(xs - x0, ys, vals, strict=True):
            if v > best[x]:
                best[x], centre[x] = v, y
        centre = _fill_gaps(centre)
        ridges.append(_Ridge(int(x0), centre, float(vals.sum())))
    return ridges


def _fill_gaps(ys: np.ndarray) -> np.ndarray:
    good = ~np.isnan(ys)
    idx = np.arange(len(ys))
    return np.interp(idx, idx[good], ys[good])


def _chain(ridges: list[_Ridge], spacing: float) -> list[_Ridge]:
    """Join ridge pieces that continue each other across a word gap."""
    ridges = sorted(ridges, key=lambda r: r.x0)
    out: list[_Ridge] = []
    for r in ridges:
        best = None
        for i, o in enumerate(out):
            gap = r.x0 - o.x1
            if -0.5 * spacing <= gap <= CHAIN_GAP * spacing \
                    and abs(o.ys[-1] - r.ys[0]) <= CHAIN_DY * spacing \
                    and (best is None or abs(o.ys[-1] - r.ys[0]) < best[1]):
                best = (i, abs(o.ys[-1] - r.ys[0]))
        if best is None:
            out.append(r)
            continue
        o = out[best[0]]
        start = max(r.x0, o.x1)
        gap_ys = np.linspace(o.ys[-1], r.ys[0], max(0, start - o.x1) + 2)[1:-1]
        ys = np.concatenate([o.ys, gap_ys, r.ys[start - r.x0:]])
        out[best[0]] = _Ridge(o.x0, ys, o.strength + r.strength)
    return out


def _merge_close(ridges: list[_Ridge], spacing: float) -> list[_Ridge]:
    """Drop the weaker of two ridges that overlap in x and lie closer than a line pitch
    allows (a tall capital or a flourish makes a second, fainter maximum)."""
    ridges = sorted(ridges, key=lambda r: -r.strength)
    kept: list[_Ridge] = []
    for r in ridges:
        clash = False
        for k in kept:
            a, b = max(r.x0, k.x0), min(r.x1, k.x1)
            if b - a <= 0:
                continue
            dy = np.abs(r.ys[a - r.x0:b - r.x0] - k.ys[a - k.x0:b - k.x0]).mean()
            if dy < MERGE_DY * spacing and b - a >= 0.5 * (r.x1 - r.x0):
                clash = True
                break
        if not clash:
            kept.append(r)
    return sorted(kept, key=lambda r: float(r.ys.mean()))


def assign_ink(ink: np.ndarray, ridges: list[_Ridge], spacing: float) -> np.ndarray:
    """(H, W) int32: 0 for ink no line claims (and paper), k + 1 for ridge k's ink."""
    h, w = ink.shape
    owners = np.zeros((h, w), np.int32)
    if not ridges:
        return owners
    reach = int(REACH * spacing)
    # centres[k, x]: ridge k's centre y at column x, NaN where it does not reach.
    centres = np.full((len(ridges), w), np.nan, np.float32)
    for k, r in enumerate(ridges):
        a, b = max(0, r.x0 - reach), min(w, r.x1 + reach)
        xs = np.arange(a, b)
        centres[k, a:b] = np.interp(xs, np.arange(r.x0, r.x1), r.ys)
    ys, xs = np.nonzero(ink)
    dist = np.abs(centres[:, xs] - ys[None, :])  # (K, N)
    dist = np.where(np.isnan(dist), np.inf, dist)
    nearest = dist.argmin(axis=0)
    ok = dist[nearest, np.arange(len(xs))] <= REACH * spacing
    pixel_owner = np.where(ok, nearest + 1, 0).astype(np.int32)
    owners[ys, xs] = pixel_owner
    return _whole_components(ink, owners, len(ridges))


def _whole_components(ink: np.ndarray, owners: np.ndarray, count: int) -> np.ndarray:
    """Give each component to its main line unless a second line holds a real share of it."""
    n, labels = cv2.connectedComponents(ink.astype(np.uint8), connectivity=8)
    flat_lab, flat_own = labels.ravel(), owners.ravel()
    votes = np.zeros((n, count + 1), np.int64)
    np.add.at(votes, (flat_lab, flat_own), 1)
    votes[:, 0] = 0  # unclaimed pixels do not vote
    main = votes.argmax(axis=1)
    total = votes.sum(axis=1)
    second = np.sort(votes, axis=1)[:, -2] if count >= 1 else np.zeros(n)
    whole = (total > 0) & (second < SPLIT_SHARE * total)
    whole[0] = False
    out = owners.copy()
    take = whole[labels] & ink
    out[take] = main[labels][take]
    return out


def _outline(mask: np.ndarray, spacing: float):
    """A line's ink -> (polygon, baseline) at the working scale, or None if it is too small."""
    ys, xs = np.nonzero(mask)
    if len(xs) < MIN_LINE_INK * spacing * spacing:
        return None
    step = max(2, int(BIN * spacing))
    pad = max(1, round(PAD * spacing))
    x0 = xs.min()
    bins = (xs - x0) // step
    nb = bins.max() + 1
    top = np.full(nb, np.iinfo(np.int32).max)
    bottom = np.full(nb, -1)
    np.minimum.at(top, bins, ys)
    np.maximum.at(bottom, bins, ys)
    used = np.flatnonzero(bottom >= 0)
    upper, lower, base = [], [], []
    for b in used:
        left, right = x0 + b * step, min(x0 + (b + 1) * step, xs.max() + 1)
        upper += [(left - pad, top[b] - pad), (right + pad, top[b] - pad)]
        lower += [(left - pad, bottom[b] + pad), (right + pad, bottom[b] + pad)]
        in_bin = ys[bins == b]
        base.append(((left + right) / 2, np.percentile(in_bin, 80)))
    polygon = upper + lower[::-1]
    bx, by = np.array(base).T
    if len(bx) >= 2:
        slope, icept = np.polyfit(bx, by, 1)
    else:
        slope, icept = 0.0, float(by[0])
    left, right = xs.min(), xs.max()
    baseline = [(left, slope * left + icept), (right, slope * right + icept)]
    return polygon, baseline


def split_at_gaps(mask: np.ndarray, spacing: float) -> list[tuple[int, int]]:
    """The column ranges [x0, x1) of a line's ink cut at blank gaps of at least ``GAP`` L
    (a letter's date or address beside its heading, a signature apart from the last words);
    a piece with too little ink to stand alone stays with its neighbour."""
    cols = np.flatnonzero(mask.any(axis=0))
    if len(cols) == 0:
        return []
    jumps = np.flatnonzero(np.diff(cols) > GAP * spacing)
    starts = [int(cols[0])] + [int(cols[j + 1]) for j in jumps]
    ends = [int(cols[j]) + 1 for j in jumps] + [int(cols[-1]) + 1]
    ink = np.cumsum(mask.sum(axis=0))
    pieces = []
    for a, b in zip(starts, ends, strict=True):
        amount = ink[b - 1] - (ink[a - 1] if a else 0)
        if pieces and (amount < MIN_LINE_INK * spacing ** 2 or pieces[-1][2]):
            pieces[-1] = (pieces[-1][0], b, amount < MIN_LINE_INK * spacing ** 2)
        else:
            pieces.append((a, b, amount < MIN_LINE_INK * spacing ** 2))
    return [(a, b) for a, b, _ in pieces]


def _core(ridge: _Ridge, spacing: float, x0: int | None = None,
          x1: int | None = None) -> list[tuple[float, float]]:
    """The centre band of a ridge (+-CORE L around its centre) between columns x0 and x1
    (default: the whole ridge) as 4 corner points."""
    half = CORE * spacing
    x0 = ridge.x0 if x0 is None else x0
    x1 = ridge.x1 if x1 is None else x1
    a = int(np.clip(x0 - ridge.x0, 0, len(ridge.ys) - 1))
    b = int(np.clip(x1 - ridge.x0, a + 1, len(ridge.ys)))
    ys = ridge.ys[a:b]
    return [(x0, ys.min() - half), (x1, ys.min() - half),
            (x1, ys.max() + half), (x0, ys.max() + half)]


def _to_page(polygon, baseline, core, back: np.ndarray, scale: float, shape,
             pitch: float) -> DetectedLine:
    """Working-scale, levelled points -> page pixels, clipped to the page, simplified."""
    h, w = shape

    def convert(points) -> np.ndarray:
        pts = np.asarray(points, np.float64)
        pts = pts @ back[:, :2].T + back[:, 2]
        pts /= scale
        pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
        pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
        return np.round(pts).astype(np.int32)

    poly = convert(polygon)
    poly = cv2.approxPolyDP(poly.reshape(-1, 1, 2), 1.0, True).reshape(-1, 2)
    base = convert(baseline)
    c = convert(core)
    box = (int(c[:, 0].min()), int(c[:, 1].min()), int(c[:, 0].max()), int(c[:, 1].max()))
    return DetectedLine([tuple(map(int, p)) for p in poly], [tuple(map(int, p)) for p in base],
                        box, pitch)
