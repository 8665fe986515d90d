"""``inkreader corpus SOURCE... --out DIR``: page ground truth (PAGE-XML / ALTO with page
images) -> a line dataset (``DIR/lines.tsv`` + line images) that ``train`` and ``evaluate``
read. SOURCE is a sources TOML of pinned git repositories (``configs/corpus-sources.toml``),
or a folder / git checkout of pages."""

from __future__ import annotations

from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("sources", nargs="+", type=Path, metavar="SOURCE",
                   help="a sources .toml (repositories at pinned commits) or a folder of pages")
    p.add_argument("--out", required=True, type=Path,
                   help="the corpus folder: lines.tsv, counts.json, lines/ (made if missing; "
                   "line images already there are kept)")
    p.add_argument("--mirror", type=Path, action="append", default=[], metavar="DIR",
                   help="look for the repositories here first (OWNER+NAME/repo, OWNER+NAME, "
                   "OWNER/NAME or NAME: a clone or a bare repository); else they are cloned "
                   "from GitHub. Repeatable")
    p.add_argument("--cache", type=Path,
                   help="where the clones and the checked-out pages go (default: DIR/sources)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="only the sources whose repo contains NAME (repeatable)")
    p.add_argument("--val-fraction", type=float, default=None,
                   help="share of each source's lines held out as val, whole documents "
                   "(default 0.06)")
    p.add_argument("--workers", type=int, default=2,
                   help="processes cutting lines (default 2)")


def run(args) -> int:
    from ..corpus.build import VAL_FRACTION, build_corpus, checkout_source
    from ..corpus.sources import load_sources, local_source
    from ..errors import DatasetError

    fraction = VAL_FRACTION if args.val_fraction is None else args.val_fraction
    if not 0 <= fraction < 0.5:
        raise DatasetError(f"--val-fraction must be in [0, 0.5), got {fraction}")
    if args.workers < 1:
        raise DatasetError(f"--workers must be at least 1, got {args.workers}")
    sources = []
    for spec in args.sources:
        if spec.suffix == ".toml":
            sources += load_sources(spec)
        else:
            sources.append(local_source(spec))
    if args.only:
        sources = [s for s in sources if any(n in s.repo for n in args.only)]
        if not sources:
            raise DatasetError(f"--only {' '.join(args.only)}: matches no source")
    cache = args.cache or args.out / "sources"
    checkouts = [(s, *checkout_source(s, args.mirror, cache)) for s in sources]
    counts = build_corpus(checkouts, args.out, fraction, args.workers)
    print(format_counts(counts))
    print(f"-> {args.out / 'lines.tsv'}")
    return 0


def format_counts(counts) -> str:
    """One block a source: kept train / val, then each reason of drop, largest first."""
    rows = []
    for name in sorted(counts):
        c = counts[name]
        rows.append(f"{name}: {c['pages']} pages ({c['pages without image']} without image), "
                    f"{c['lines']} lines: train {c['kept train']}, val {c['kept val']}")
        drops = sorted(((k, v) for k, v in c.items() if k.startswith("dropped") and v),
                       key=lambda kv: -kv[1])
        rows += [f"    {k}: {v}" for k, v in drops]
    return "\n".join(rows)
