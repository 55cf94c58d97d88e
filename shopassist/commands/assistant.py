"""CLI commands of the assistant area: ``chat``, ``eval conversations|review-qa|product-qa``, ``bench assistant``."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path

DEFAULT_SUITES = ("tests/assistant/suites",)
BACKENDS = ("local", "transformers", "openai", "scripted")


def register(sub, groups) -> None:
    """Add this area's subcommands to the parser."""
    from shopassist.cli import group

    p = sub.add_parser("chat", help="Talk to the assistant in the terminal.", description="Talk to the assistant in the terminal.")
    p.add_argument("--user", default=None, help="Shopper id (e.g. a demo user) for personalised ranking.")
    p.add_argument("--llm", choices=BACKENDS, default=None, help="LLM backend (default: settings.llm_backend).")
    p.add_argument("-m", "--message", action="append", default=None, help="Say this and exit (repeatable).")
    p.set_defaults(func=cmd_chat)

    ev = group(sub, groups, "eval", "Evaluate an area against data (prints JSON).")
    p = ev.add_parser("conversations", help="Run conversation suites; report checks per gate and turn accuracy by check type.")
    p.add_argument("--suite", type=Path, action="append", required=True, help="Suite YAML/JSON file (repeatable).")
    p.add_argument("--llm", choices=BACKENDS, default="scripted", help="LLM backend (default: scripted).")
    p.add_argument("--json", action="store_true", help="Print only the one-line JSON summary on stdout.")
    p.set_defaults(func=cmd_eval_conversations)

    p = ev.add_parser("review-qa", help="Quote-or-abstain review Q&A on SubjQA (prints JSON).")
    p.add_argument("--split", type=Path, action="append", required=True, help="SubjQA CSV(.gz) split (repeatable).")
    p.add_argument("--limit", type=int, default=None, help="Rows per split (default: all).")
    p.add_argument("--sweep", action="store_true", help="Also report a sweep of the evidence threshold.")
    p.add_argument("--reader", action="store_true", help="Also score with assistant/reader.py (its threshold and a sweep).")
    p.set_defaults(func=cmd_eval_review_qa)

    p = ev.add_parser("product-qa", help="Evidence ranking on ePQA/semiPQA: BM25, MiniLM and our reader (prints JSON).")
    p.add_argument("--data", type=Path, default=None, help="The amazon_contextual_pqa folder (default: ../shared/datasets/...).")
    p.add_argument("--epqa-questions", type=int, default=200, help="ePQA dev questions drawn with seed 0 (0 = all 977).")
    p.add_argument("--train", action="store_true", help="First retrain the reader head on the training splits.")
    p.add_argument("--json", action="store_true", help="Progress on stderr, only the JSON on stdout.")
    p.set_defaults(func=cmd_eval_product_qa)

    p = ev.add_parser(
        "personalisation",
        help="How often different shoppers get different cards for the same query, per browse rating weight.",
    )
    p.add_argument("--user", action="append", default=None, help="Shopper id (repeatable; default: the demo users).")
    p.add_argument("--weights", default="0.02,0.1,0.25,0.5", help="Comma-separated values of rating_weight_browse.")
    p.set_defaults(func=cmd_eval_personalisation)

    be = group(sub, groups, "bench", "Benchmark an area (prints JSON).")
    p = be.add_parser("assistant", help="Turn latency (first card, whole turn, per stage) and peak RSS over the suites.")
    p.add_argument("--suite", type=Path, action="append", default=None, help="Suite file(s); default: every suite in tests/assistant/suites.")
    p.add_argument("--llm", choices=BACKENDS, default=None, help="LLM backend (default: settings.llm_backend, i.e. local).")
    p.set_defaults(func=cmd_bench_assistant)


def _with_llm(settings, llm: str | None):
    return settings if not llm else settings.model_copy(update={"llm_backend": llm})


def _print_event(ev, out=None) -> None:
    from assistant.answers import fmt_price
    from assistant.events import Answer, Cards, Handoff, Notice, TextDelta

    out = out or sys.stdout  # read at call time: a default bound at import keeps a stream that was swapped since

    if isinstance(ev, Cards):
        for i, c in enumerate(ev.cards):
            stars = f", predicted {c.stars_predicted:.1f}★" if c.stars_predicted is not None else ""
            why = f"  ({'; '.join(c.why[:2])})" if c.why else ""
            print(f"  [{i + 1}] {c.title} — {fmt_price(c.price, c.currency)}{stars}{why}", file=out)
    elif isinstance(ev, TextDelta):
        print(ev.text, end="", file=out, flush=True)
    elif isinstance(ev, Answer):
        print(file=out)
        if ev.table or not ev.text.strip():
            print(ev.text, file=out)
    elif isinstance(ev, Notice):
        print(f"  ({ev.text})", file=out)
    elif isinstance(ev, Handoff):
        print("  [handoff requested]", file=out)


def cmd_chat(args, settings) -> int:
    from assistant.chat import Assistant, Turn
    from assistant.events import Answer, TextDelta

    a = Assistant.from_settings(_with_llm(settings, args.llm))
    cid = a.start(args.user, surface="cli")
    messages = args.message
    interactive = messages is None
    if interactive:
        print("shopassist chat — ask for products; Ctrl-D to quit.")
    while True:
        if interactive:
            try:
                msg = input("you> ")
            except EOFError:
                print()
                return 0
        else:
            if not messages:
                return 0
            msg = messages.pop(0)
            print(f"you> {msg}")
        streamed = False
        for ev in a.respond(Turn(cid, args.user, msg)):
            if isinstance(ev, TextDelta):
                if not streamed:
                    print("bot> ", end="")
                streamed = True
            if isinstance(ev, Answer) and not streamed and not ev.table:
                print("bot> " + ev.text)
                continue
            _print_event(ev)


def _suite_files(paths) -> list[Path]:
    if paths:
        return list(paths)
    root = Path(__file__).resolve().parents[2]
    return sorted(p for d in DEFAULT_SUITES for p in (root / d).glob("*.y*ml"))


def run_suites(settings, files: list[Path], log=None) -> list[dict]:
    """Run each suite on its own scratch catalog; reports in file order."""
    from assistant.chat import Assistant
    from assistant.llm import load_llm
    from assistant.store import ConversationStore
    from assistant.suite import build_catalog, load_suite, run_suite
    from ranker.serve import load_ranker

    llm = load_llm(settings)
    llm.warm()
    reports = []
    for f in files:
        suite = load_suite(f)
        with tempfile.TemporaryDirectory(prefix="shopassist-suite-") as tmp:
            s = settings.model_copy(update={"data_dir": Path(tmp) / "data", "events_url": ""})
            s.data_dir.mkdir(parents=True)
            catalog = build_catalog(suite, s)
            a = Assistant(s, catalog, load_ranker(s, catalog.store), llm, ConversationStore(s.events_db_url))
            reports.append(run_suite(suite, a, progress=log))
    return reports


def merge(reports: list[dict]) -> dict:
    """The suites' reports as one: checks by gate, turns overall and by check type, and each
    suite's turns (a turn passes when all its checks pass)."""
    gates: dict[str, dict] = {}
    turns: dict = {"passed": 0, "total": 0, "by_check": {}}
    for r in reports:
        for g, v in r["gates"].items():
            acc = gates.setdefault(g, {"passed": 0, "total": 0})
            acc["passed"] += v["passed"]
            acc["total"] += v["total"]
        turns["passed"] += r["turns"]["passed"]
        turns["total"] += r["turns"]["total"]
        for c, v in r["turns"]["by_check"].items():
            acc = turns["by_check"].setdefault(c, {"passed": 0, "total": 0, "check_passed": 0})
            for k in acc:
                acc[k] += v[k]
    passed = sum(v["passed"] for v in gates.values())
    total = sum(v["total"] for v in gates.values())
    turns["accuracy"] = round(turns["passed"] / turns["total"], 4) if turns["total"] else 0.0
    return {
        "conversations": sum(r["conversations"] for r in reports),
        "gates": gates,
        "pass_rate": round(passed / total, 4) if total else 0.0,
        "turns": turns,
        "suites": {r["suite"]: {"conversations": r["conversations"], "turns": r["turns"]} for r in reports},
    }


def _quiet(args) -> None:
    # the per-turn timing lines are for serving logs; a suite run reports them in aggregate
    if not getattr(args, "verbose", False):
        logging.getLogger("assistant").setLevel(logging.WARNING)


def cmd_eval_conversations(args, settings) -> int:
    _quiet(args)
    settings = _with_llm(settings, args.llm)
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    reports = run_suites(settings, list(args.suite), log=log)
    if not args.json:
        for r in reports:
            print(f"\nsuite {r['suite']}: {r['conversations_passed']}/{r['conversations']} conversations fully passed")
            t = r["turns"]
            print(f"  turns passed {t['passed']}/{t['total']} ({t['accuracy']:.0%}); by check (turns passed / with it):")
            for c, v in sorted(t["by_check"].items()):
                print(f"    {c:22s} {v['passed']:3d}/{v['total']:<3d} (the check itself {v['check_passed']})")
            for g, v in r["gates"].items():
                print(f"  {g:22s} {v['passed']:3d}/{v['total']:<3d}")
            for f in r["failures"]:
                print(f"  FAIL [{f['check']}] {f['conversation']}: {f['say']!r}: {f['why']}")
    print(json.dumps(merge(reports)))
    return 0


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    i = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return round(xs[i], 4)


def cmd_bench_assistant(args, settings) -> int:
    import resource
    import time

    _quiet(args)
    settings = _with_llm(settings, args.llm)
    t0 = time.perf_counter()
    reports = run_suites(settings, _suite_files(args.suite), log=lambda m: print(m, file=sys.stderr))
    turns = [x for r in reports for x in r["turn_seconds"]]
    first = [x for r in reports for x in r["first_card_seconds"]]
    stages: dict[str, list[float]] = {}
    for r in reports:
        for k, v in r["stage_seconds"].items():
            stages.setdefault(k, []).extend(v)
    sources: dict[str, int] = {}
    for r in reports:
        for k, v in r.get("answer_sources", {}).items():
            sources[k] = sources.get(k, 0) + v
    out = {
        "llm_backend": settings.llm_backend,
        "llm_threads": settings.llm_threads,
        "suites": [r["suite"] for r in reports],
        "turns": len(turns),
        "first_card_p50_s": _pct(first, 0.5),
        "first_card_p95_s": _pct(first, 0.95),
        "turn_p50_s": _pct(turns, 0.5),
        "turn_p95_s": _pct(turns, 0.95),
        "stages_p50_s": {k: _pct(v, 0.5) for k, v in stages.items() if k not in ("total", "first_card")},
        "stages_p95_s": {k: _pct(v, 0.95) for k, v in stages.items() if k not in ("total", "first_card")},
        # where search answers came from: llm (validated), llm_truncated, llm_retry, template
        "answer_sources": sources,
        "llm_phrasing": settings.llm_phrasing,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "wall_s": round(time.perf_counter() - t0, 1),
        # the latency bench keeps its own "turns" (a count) and "suites" (names)
        **{k: v for k, v in merge(reports).items() if k in ("conversations", "gates", "pass_rate")},
    }
    print(json.dumps(out))
    return 0


def cmd_eval_personalisation(args, settings) -> int:
    from assistant.chat import Assistant
    from assistant.personalisation_eval import sweep

    settings = _with_llm(settings, "scripted")  # the cards do not depend on the LLM
    base = Assistant.from_settings(settings)
    users = args.user or [u["id"] for u in base.desk.demo_users()]
    if len(users) < 2:
        print("error: need at least two shoppers (--user A --user B, or a catalog with demo users)", file=sys.stderr)
        return 2
    weights = [float(w) for w in args.weights.split(",")]

    def make(w: float) -> Assistant:
        s = settings.model_copy(update={"rating_weight_browse": w})
        return Assistant(s, base.catalog, base.ranker, base.llm, base.store)

    report = {"users": users, "rating_weight": settings.rating_weight, "weights": sweep(make, users, weights)}
    print(json.dumps(report))
    return 0


def cmd_eval_review_qa(args, settings) -> int:
    import numpy as np

    from assistant.review_qa import evaluate, read_subjqa
    from retrieval.models import load_embedder

    model = load_embedder(settings.embedding_model, settings.device)
    cache: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        if todo:
            vecs = model.encode(todo, normalize_embeddings=True, batch_size=64, show_progress_bar=False)
            cache.update(zip(todo, vecs, strict=True))
        return np.stack([cache[t] for t in texts])

    rows = [r for path in args.split for r in read_subjqa(path, args.limit)]
    out = {"splits": [str(p) for p in args.split], **evaluate(rows, embed)}
    if args.sweep:
        out["sweep"] = [evaluate(rows, embed, t) for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)]
    if args.reader:
        from assistant.reader import READER_MIN, Head, Reader, select_evidence
        from assistant.review_qa import gated_reader_select

        rd = Reader(Head.load(), embed)
        out["reader"] = {**evaluate(rows, embed, select=select_evidence(rd)), "min_sim": READER_MIN}
        out["reader_gated"] = evaluate(rows, embed, select=gated_reader_select(rd, embed))
        out["reader_after_gate"] = evaluate(rows, embed, select=gated_reader_select(rd, embed, among_all=True))
        if args.sweep:
            out["reader_sweep"] = [{**evaluate(rows, embed, select=select_evidence(rd, t)), "min_sim": t} for t in (-2, -1, 0, 1, 2, 3)]
    print(json.dumps(out))
    return 0


def cmd_eval_product_qa(args, settings) -> int:
    from assistant import qa_data, qa_eval, reader, reader_train
    from retrieval.models import load_embedder

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # one line per question otherwise
    folder = args.data or qa_data.default_folder()
    if not (folder / "semiPQA").is_dir():  # before loading any model: the path is the user's to fix
        print(f"error: no product-QA data at {folder}: pass --data with the {qa_data.FOLDER} folder", file=sys.stderr)
        return 2
    embed = qa_data.CachedEmbed(load_embedder(settings.embedding_model, settings.device), settings.data_dir / "cache" / "pqa-minilm")
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    out = {"data": str(folder)}
    try:
        if args.train:
            out["train"] = reader_train.train(folder, embed, log=log)
        r = reader.Reader(reader.Head.load(reader.WEIGHTS), embed)
        out.update(qa_eval.evaluate_all(folder, embed, r, args.epqa_questions or None, log=log))
    except (qa_data.DatasetMissing, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        embed.save()
    print(json.dumps(out))
    return 0
