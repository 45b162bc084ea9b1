"""Does the ranker find what a group would have picked? An offline test from paper lists.

    .venv/bin/python benchmarks/relevance_eval.py ../shared/realdata/survey-agent/*.md
    .venv/bin/python benchmarks/relevance_eval.py LISTS... --extra snapshot.jsonl   # add distractors
    .venv/bin/python benchmarks/relevance_eval.py LISTS... --dev                    # the seed used to choose settings

Each paper-list file (parsed by `bot.ingest.paperlist`) is a set of papers
someone chose together. For every list of at least `--min-list` papers (lists
with the same papers counted once), split it in two: the first half is the
library, and the other half (the targets) should rank above the rest of the
pool, which is every other paper of every file plus the `--extra` snapshot
papers. Random half splits are drawn `--splits` times per seed; a time split
takes the older half (by arXiv id, which grows with submission time) as the
library and the newer half as targets. Each method ranks the pool without the
library; nDCG@10 and recall@10 are averaged over lists and splits.

Methods:
- newest first: today's digest order (published, then arXiv id, descending).
- zotero-arxiv-daily: mean similarity to the library with its time-decay
  weights (newer library papers weigh more), over abstracts. It uses a
  sentence embedding (GIST-small) that cannot be downloaded here, so this row
  uses TF-IDF cosine instead; with `wordllama` installed (weights ship inside
  its wheel) a second row uses that dense embedding.
- arxiv-sanity-lite: its TF-IDF settings (word 1-2 grams, sublinear tf, min_df
  5, max_df 0.5, title + abstract + authors) and LinearSVC(C=0.01, balanced),
  library positive, everything else negative.
- paperbot: `bot.rank.train` on the library with the whole pool as the store;
  a second row hides every paper's notes (the anchors never read notes).

Settings were chosen on seed 0 (`--dev`); the table reports other seeds.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from bot.errors import IngestError  # noqa: E402
from bot.ingest.paperlist import parse_paperlist, topic_slug  # noqa: E402
from bot.ingest.snapshot import SnapshotReader, open_snapshot  # noqa: E402
from bot.models import Paper  # noqa: E402
from bot.rank import DEFAULT_SETTINGS, RankSettings, train  # noqa: E402

K = 10
DEV_SEED = 0


@dataclass(frozen=True)
class Case:
    """One test: a library, the targets that should rank on top, and the candidates."""

    list_name: str
    library: list[Paper]
    targets: set[str]
    candidates: list[Paper]


Method = Callable[[Case, list[Paper], int], list[str]]


# --- the data -------------------------------------------------------------------------


def read_lists(files: Sequence[Path]) -> tuple[dict[str, list[str]], dict[str, Paper]]:
    """Each file's paper ids, and every paper by id (the copy with the most text wins)."""
    lists: dict[str, list[str]] = {}
    papers: dict[str, Paper] = {}
    for path in files:
        try:
            parsed = parse_paperlist(path.read_bytes(), path.name, topic=topic_slug(path.stem))
        except (IngestError, OSError) as error:
            print(f"skipped {path.name}: {error}", file=sys.stderr)
            continue
        lists[path.name] = [p.arxiv_id for p in parsed.papers]
        for paper in parsed.papers:
            known = papers.get(paper.arxiv_id)
            if known is None or _text_size(paper) > _text_size(known):
                papers[paper.arxiv_id] = paper
    return lists, papers


def _text_size(paper: Paper) -> int:
    return len(paper.abstract) + sum(len(str(n.as_dict())) for n in paper.notes)


def read_extra(path: Path) -> list[Paper]:
    with open_snapshot(path) as source:
        return list(SnapshotReader(source, str(path), ()))


def distinct_lists(lists: dict[str, list[str]], min_size: int) -> dict[str, list[str]]:
    """Lists of at least `min_size` papers, each set of papers once (the first file that has it)."""
    chosen: dict[str, list[str]] = {}
    seen: set[frozenset[str]] = set()
    for name, ids in lists.items():
        key = frozenset(ids)
        if len(key) >= min_size and key not in seen:
            seen.add(key)
            chosen[name] = list(dict.fromkeys(ids))
    return chosen


def time_order(paper: Paper) -> tuple[str, str]:
    return (paper.published, paper.arxiv_id)


def make_cases(
    lists: dict[str, list[str]], papers: dict[str, Paper], pool: list[Paper], seed: int, splits: int, timed: bool
) -> list[Case]:
    cases = []
    for index, (name, ids) in enumerate(lists.items()):
        if timed:
            ordered = sorted(ids, key=lambda i: (papers[i].published[:7], i))
            halves = [ordered]
        else:
            rng = random.Random(f"{seed}:{index}")
            halves = []
            for _ in range(splits):
                shuffled = list(ids)
                rng.shuffle(shuffled)
                halves.append(shuffled)
        for order in halves:
            half = len(order) // 2
            library_ids = set(order[:half])
            cases.append(
                Case(
                    name,
                    [papers[i] for i in order[:half]],
                    set(order[half:]),
                    [p for p in pool if p.arxiv_id not in library_ids],
                )
            )
    return cases


# --- metrics --------------------------------------------------------------------------


def ndcg_at_k(ranked: Sequence[str], targets: set[str], k: int = K) -> float:
    gains = sum(1 / math.log2(i + 2) for i, pid in enumerate(ranked[:k]) if pid in targets)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(targets))))
    return gains / ideal if ideal else 0.0


def recall_at_k(ranked: Sequence[str], targets: set[str], k: int = K) -> float:
    return len(set(ranked[:k]) & targets) / len(targets) if targets else 0.0


# --- the methods ----------------------------------------------------------------------


def newest_first(case: Case, store: list[Paper], seed: int) -> list[str]:
    return [p.arxiv_id for p in sorted(case.candidates, key=time_order, reverse=True)]


def _time_decay(library: list[Paper]) -> tuple[list[Paper], np.ndarray]:
    """zotero-arxiv-daily's weights: library newest first, 1 / (1 + log10(rank)), summing to 1."""
    ordered = sorted(library, key=time_order, reverse=True)
    weights = 1 / (1 + np.log10(np.arange(len(ordered)) + 1))
    return ordered, weights / weights.sum()


def zotero_tfidf(case: Case, store: list[Paper], seed: int) -> list[str]:
    library, weights = _time_decay(case.library)
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    vectorizer.fit([p.abstract for p in store])
    similarity = vectorizer.transform([p.abstract for p in case.candidates]) @ vectorizer.transform(
        [p.abstract for p in library]
    ).T
    scores = similarity.toarray() @ weights
    return [case.candidates[i].arxiv_id for i in np.argsort(-scores, kind="stable")]


def zotero_wordllama(model) -> Method:
    def rank(case: Case, store: list[Paper], seed: int) -> list[str]:
        library, weights = _time_decay(case.library)
        lib = model.embed([p.abstract for p in library], norm=True)
        cand = model.embed([p.abstract for p in case.candidates], norm=True)
        scores = (cand @ lib.T) @ weights
        return [case.candidates[i].arxiv_id for i in np.argsort(-scores, kind="stable")]

    return rank


def arxiv_sanity(case: Case, store: list[Paper], seed: int) -> list[str]:
    vectorizer = TfidfVectorizer(
        strip_accents="unicode", lowercase=True, analyzer="word", stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2), max_features=10000,
        norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True, max_df=0.5, min_df=5,
    )  # fmt: skip
    texts = [" ".join([p.title, p.abstract, " ".join(p.authors)]) for p in store]
    matrix = vectorizer.fit_transform(texts)
    library_ids = {p.arxiv_id for p in case.library}
    labels = np.array([1 if p.arxiv_id in library_ids else 0 for p in store])
    svm = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01)
    svm.fit(matrix, labels)
    scores = svm.decision_function(matrix)
    order = [store[i].arxiv_id for i in np.argsort(-scores, kind="stable")]
    return [pid for pid in order if pid not in library_ids]


def paperbot(settings: RankSettings) -> Method:
    def rank(case: Case, store: list[Paper], seed: int) -> list[str]:
        model = train(case.library, store, store_size=len(store), seed=seed, settings=settings)
        return [r.paper.arxiv_id for r in model.rank(case.candidates)]

    return rank


def without_notes(method: Method) -> Method:
    """`method` on papers stripped of their notes: what the ranker makes of title and abstract alone."""

    def rank(case: Case, store: list[Paper], seed: int) -> list[str]:
        bare = {p.arxiv_id: replace(p, notes=()) for p in store}
        stripped = Case(case.list_name, [bare[p.arxiv_id] for p in case.library], case.targets,
                        [bare[p.arxiv_id] for p in case.candidates])  # fmt: skip
        return method(stripped, list(bare.values()), seed)

    return rank


# --- the table ------------------------------------------------------------------------


def evaluate(method: Method, cases: list[Case], store: list[Paper], seed: int) -> tuple[float, float, float]:
    ndcg, recall = [], []
    started = time.perf_counter()
    for case in cases:
        ranked = method(case, store, seed)
        ndcg.append(ndcg_at_k(ranked, case.targets))
        recall.append(recall_at_k(ranked, case.targets))
    per_case = (time.perf_counter() - started) / max(len(cases), 1)
    return statistics.fmean(ndcg), statistics.fmean(recall), per_case


def parse_settings(pairs: list[str]) -> RankSettings:
    """`--set NAME=VALUE` overrides; ValueError naming the fields for a bad one."""
    settings = DEFAULT_SETTINGS
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in RankSettings.__dataclass_fields__:
            raise ValueError(f"--set {pair}: no setting {name!r}; settings: {', '.join(RankSettings.__dataclass_fields__)}")
        current = getattr(settings, name)
        settings = replace(settings, **{name: type(current)(value)})
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--extra", type=Path, help="an arXiv snapshot (JSON lines): distractor papers for the pool")
    parser.add_argument("--min-list", type=int, default=10)
    parser.add_argument("--splits", type=int, default=5, help="random half splits per list and seed")
    parser.add_argument("--seeds", default="1,2,3", help="seeds to report on (seed 0 is the dev seed)")
    parser.add_argument("--dev", action="store_true", help="report on the dev seed 0 only")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a RankSettings field")
    parser.add_argument("--no-dense", action="store_true", help="skip the wordllama row even if it is installed")
    args = parser.parse_args(argv)
    try:
        settings = parse_settings(args.set)
    except ValueError as error:
        parser.error(str(error))

    lists, papers = read_lists(args.files)
    extra = read_extra(args.extra) if args.extra else []
    chosen = distinct_lists(lists, args.min_list)
    store = list(papers.values()) + [p for p in extra if p.arxiv_id not in papers]
    if not chosen:
        print(f"no list of at least {args.min_list} papers among {len(lists)} readable files", file=sys.stderr)
        return 2
    methods: dict[str, Method] = {
        "newest first (today's digest)": newest_first,
        "zotero-arxiv-daily (TF-IDF cosine)": zotero_tfidf,
    }
    if not args.no_dense:
        try:
            import wordllama

            # Its weights and tokenizer ship inside the wheel; pointing the cache there keeps
            # it from trying to download the tokenizer it already has.
            package = Path(wordllama.__file__).parent
            model = wordllama.WordLlama.load(cache_dir=package, disable_download=True)
            methods["zotero-arxiv-daily (wordllama)"] = zotero_wordllama(model)
        except ImportError:
            pass
    methods["arxiv-sanity-lite (TF-IDF + SVM)"] = arxiv_sanity
    methods["paperbot ranker"] = paperbot(settings)
    methods["paperbot ranker, notes left out"] = without_notes(paperbot(settings))

    seeds = [DEV_SEED] if args.dev else [int(s) for s in args.seeds.split(",")]
    random_cases = [(s, c) for s in seeds for c in make_cases(chosen, papers, store, s, args.splits, timed=False)]
    time_cases = make_cases(chosen, papers, store, 0, 1, timed=True)
    print(
        f"{len(lists)} readable files, {len(chosen)} distinct lists of >= {args.min_list} papers, "
        f"pool of {len(store)} papers ({len(extra)} extra); seeds {seeds}, {args.splits} random splits each "
        f"({len(random_cases)} cases), {len(time_cases)} time splits"
    )
    if settings != DEFAULT_SETTINGS:
        print(f"settings: {settings}")
    header = f"| {'method':<36} | random nDCG@10 | random recall@10 | time nDCG@10 | time recall@10 | ms/case |"
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for name, method in methods.items():
        by_seed = [evaluate(method, [c for s2, c in random_cases if s2 == s], store, s) for s in seeds]
        r_ndcg = statistics.fmean(r[0] for r in by_seed)
        r_recall = statistics.fmean(r[1] for r in by_seed)
        t_ndcg, t_recall, t_time = evaluate(method, time_cases, store, DEV_SEED)
        ms = 1000 * statistics.fmean([r[2] for r in by_seed] + [t_time])
        print(f"| {name:<36} | {r_ndcg:14.3f} | {r_recall:16.3f} | {t_ndcg:12.3f} | {t_recall:14.3f} | {ms:7.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
