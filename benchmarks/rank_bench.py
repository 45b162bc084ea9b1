"""How fast is the relevance ranker at scale? Synthetic papers, one table with the targets.

    python benchmarks/rank_bench.py
    python benchmarks/rank_bench.py --library 500 --sample 2000 --digest 1000 --runs 20

Papers come from `store_bench.PaperFactory` (arXiv-shaped: ~12-word titles,
~170-word abstracts over a Zipf vocabulary, 5% with Chinese notes). Library
papers get a few words of one subject planted in their abstracts, as a real
library shares a subject; a third of the digest's candidates get them too.

Rows:
- retrain: `train` on the library and a store sample of `--sample` papers,
  with no paper cut into terms yet (the first retrain after a restart).
- rank a digest, warm: `RankModel.rank(candidates, limit=10)` when the
  candidates were already cut into terms (by another channel's model, or an
  earlier call): the work each further model does.
- rank a digest, cold: the same on papers never seen, so it includes cutting
  every candidate into terms, which happens once per paper and process.
- restore: `RankModel.from_bytes`, what loading a stored model costs.
- model size: bytes of `to_bytes()`; RSS per model: the resident memory a
  fresh process gains per restored model (10 libraries' models restored in a
  child process that does nothing else; VmRSS from /proc/self/status).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_bench import PaperFactory, percentile  # noqa: E402

from bot.models import Paper  # noqa: E402
from bot.rank import RankModel, RankSettings, train  # noqa: E402
from bot.rank import features  # noqa: E402

SUBJECT = "reward model preference alignment driving trajectory planner critic verifier".split()
RETRAIN_TARGET_S = 2.0
DIGEST_TARGET_MS = 50.0
MODELS_FOR_RSS = 10


def on_subject(paper: Paper, factory: PaperFactory) -> Paper:
    planted = " ".join(factory.rng.choice(SUBJECT) for _ in range(12))
    return Paper(**{**paper.__dict__, "abstract": f"{paper.abstract} {planted}."})


# Run in a child process, so the parent's papers and caches do not blur the figure.
RSS_CHILD = """
import sys
from pathlib import Path
from bot.rank import RankModel

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0

blobs = [path.read_bytes() for path in sorted(Path(sys.argv[1]).iterdir())]
RankModel.from_bytes(blobs[0])  # imports and first-use allocations are not the models' own
before = rss()
kept = [RankModel.from_bytes(blob) for blob in blobs]
print((rss() - before) / len(kept))
"""


def rss_per_model(blobs: list[bytes]) -> float | None:
    """Resident bytes per restored model in a fresh process; None where /proc is missing."""
    if not Path("/proc/self/status").exists():
        return None
    with tempfile.TemporaryDirectory() as folder:
        for i, blob in enumerate(blobs):
            (Path(folder) / f"{i:03d}.model").write_bytes(blob)
        root = Path(__file__).resolve().parents[1]
        done = subprocess.run(
            [sys.executable, "-c", RSS_CHILD, folder], capture_output=True, text=True, check=True, cwd=root
        )
    return float(done.stdout.strip())


def clear_term_caches() -> None:
    features.paper_terms.cache_clear()
    features.term_counts.cache_clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", type=int, default=500)
    parser.add_argument("--sample", type=int, default=2000, help="store papers drawn as negatives")
    parser.add_argument("--digest", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)

    print("generating papers ...", file=sys.stderr, flush=True)
    factory = PaperFactory()
    total = args.library * (MODELS_FOR_RSS + 1) + args.sample + args.digest * (args.runs + 1)
    papers = [factory.paper(i, total) for i in range(total)]
    libraries = [
        [on_subject(p, factory) for p in papers[i * args.library : (i + 1) * args.library]]
        for i in range(MODELS_FOR_RSS + 1)
    ]
    start = args.library * (MODELS_FOR_RSS + 1)
    store = papers[start : start + args.sample]
    digests = []
    for k in range(args.runs + 1):
        first = start + args.sample + k * args.digest
        chunk = papers[first : first + args.digest]
        digests.append([on_subject(p, factory) if i % 3 == 0 else p for i, p in enumerate(chunk)])
    settings = RankSettings(sample_size=args.sample)

    print("timing retrains ...", file=sys.stderr, flush=True)
    retrains = []
    for library in libraries[:3]:
        clear_term_caches()
        began = time.perf_counter()
        model = train(library, store, seed=1, settings=settings)
        retrains.append(time.perf_counter() - began)
    assert model.kind == "classifier"

    print("timing digests ...", file=sys.stderr, flush=True)
    cold, warm = [], []
    for digest in digests[1:]:
        began = time.perf_counter()
        model.rank(digest, limit=10)
        cold.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        model.rank(digest, limit=10)
        warm.append((time.perf_counter() - began) * 1000)
    on_top = sum(1 for r in model.rank(digests[0], limit=10) if any(w in r.paper.abstract for w in SUBJECT))

    data = model.to_bytes()
    restores = []
    for _ in range(5):
        began = time.perf_counter()
        RankModel.from_bytes(data)
        restores.append((time.perf_counter() - began) * 1000)

    print("measuring memory ...", file=sys.stderr, flush=True)
    blobs = [train(library, store, seed=1, settings=settings).to_bytes() for library in libraries[1:]]
    per_model = rss_per_model(blobs)
    rss_text = f"{per_model / 1024 / 1024:.1f} MiB" if per_model is not None else "n/a (no /proc)"

    rows = [
        (f"retrain a {args.library}-paper library (+{args.sample} sample), median",
         f"{statistics.median(retrains):.2f} s", f"<= {RETRAIN_TARGET_S:.0f} s"),
        (f"rank a {args.digest}-paper digest, warm, p50 / p95",
         f"{statistics.median(warm):.0f} / {percentile(warm, 0.95):.0f} ms", f"<= {DIGEST_TARGET_MS:.0f} ms"),
        (f"rank a {args.digest}-paper digest, cold (cuts every paper), p50 / p95",
         f"{statistics.median(cold):.0f} / {percentile(cold, 0.95):.0f} ms", f"<= {DIGEST_TARGET_MS:.0f} ms"),
        ("restore a model from bytes, median", f"{statistics.median(restores):.0f} ms", "-"),
        ("serialised model", f"{len(data) / 1024:.0f} KiB ({len(model.parts.terms):,} terms)", "reported"),
        (f"RSS per restored model (mean of {len(blobs)})", rss_text, "reported"),
    ]  # fmt: skip
    print(f"\n{len(papers):,} synthetic papers; subject papers in the top 10 of a digest: {on_top}/10\n")
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | {'paperbot':>28} | {'target':>9} |")
    print(f"|{'-' * (width + 2)}|{'-' * 30}|{'-' * 11}|")
    for name, figure, target in rows:
        print(f"| {name:<{width}} | {figure:>28} | {target:>9} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
