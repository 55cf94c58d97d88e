"""CLI commands of the ranker area: ``ranker train|eval|eval-split|update|use|list|rollback``,
``ranker eval-dp``, ``learn``, ``simulate`` (the offline replay of the engagement loop), ``bench ranker``.
Each parses, calls one library function, and prints a summary
(``--json``: the last line is one JSON object)."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub, groups) -> None:
    """Add this area's subcommands to the parser."""
    from shopassist.cli import group

    rk = group(sub, groups, "ranker", "Train, evaluate, update and switch the rating model.")

    p = rk.add_parser("train", help="Train a new rating-model version and make it current.",
                      description="Fine-tune the rating model on a rating dataset (leave-last-out split) or on "
                      "the ingested catalog's reviews; saves a new version under data/models/ranker.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", type=Path, help="A rating dataset folder (MI 2014 5-core or Amazon 2023 sample).")
    src.add_argument("--catalog", action="store_true", help="Train on the reviews in the ingested catalog.")
    p.add_argument("--epochs", type=int, default=None, help="Head epochs (early stopping may end sooner).")
    p.add_argument("--max-examples", type=int, default=None, help="Cap on training examples (seeded sample).")
    p.add_argument("--base", default=None, help="HF encoder path to start from (default: bundled MiniLM).")
    p.add_argument("--train-layers", type=int, default=None,
                   help="Top encoder layers to fine-tune with the head (0 = frozen encoder; >0 wants a GPU).")
    p.add_argument("--dp-epsilon", type=float, default=None, help="Train with DP-SGD to this epsilon (head only).")
    p.add_argument("--text-only-examples", type=int, default=None, help="Size of the text-only baseline fine-tune (0 = skip).")
    p.add_argument("--sentiment-examples", type=int, default=None, help="Size of the review-sentiment fine-tune (0 = skip).")
    p.add_argument("--json", action="store_true", help="Print the version metadata as one JSON line.")
    p.set_defaults(func=cmd_train)

    p = rk.add_parser("eval", help="Current version vs all baselines on a dataset's test split (JSON last line).",
                      description="global mean, item mean, user+item bias, SVD, the text-only baseline and ours: "
                      "RMSE, MAE (stars), cold items, cold users, NDCG@10 over 99 sampled negatives.")
    p.add_argument("--dataset", type=Path, required=True, help="A rating dataset folder.")
    p.add_argument("--categories", default=None, help="Amazon 2023 only: comma-separated categories to keep.")
    p.add_argument("--finetune-examples", type=int, default=0,
                   help="Cross-domain: first fine-tune the current version's head on this many train examples of the dataset.")
    p.add_argument("--no-ndcg", action="store_true", help="Skip the NDCG@10 sampling (faster).")
    p.add_argument("--json", action="store_true", help="Print only the JSON line.")
    p.set_defaults(func=cmd_eval)

    p = rk.add_parser("eval-nextitem", help="Next-item recommendation on full ranking: popularity, item-KNN, transitions, "
                      "ALS, SASRec, the text model and ours (text + co-occurrence blend), side by side (JSON).",
                      description="A sequential split in UniSRec's form (items.jsonl.gz + sequences.jsonl.gz): the last item per "
                      "user is the test target, the one before validation; every method ranks all items; Recall/NDCG@10/20 "
                      "with bootstrap intervals, the random expectation, and ours minus each peer.")
    p.add_argument("--dataset", type=Path, required=True, help="e.g. ../shared/datasets/amazon_reviews_2018_scientific_seqrec_unisrec")
    p.add_argument("--users", type=int, default=0, help="Evaluate a seeded sample of this many users (0 = all; training uses all).")
    p.add_argument("--sasrec-epochs", type=int, default=0,
                   help="Train cornac's SASRec for this many epochs as the sequential peer (0 = skip: on 2 shared CPU "
                   "cores 20 epochs ran > 9 CPU-minutes without finishing; a GPU machine wants ~20).")
    p.add_argument("--json", action="store_true", help="Print only the JSON line.")
    p.set_defaults(func=cmd_eval_nextitem)

    p = rk.add_parser("eval-split", help="How hard each position of the leave-last-out split is, for classic "
                      "recommenders (no model of ours): validation vs test RMSE (JSON).",
                      description="Rating statistics by place from the end of each user's sequence (0 = test, 1 = validation) "
                      "and the validation and test RMSE of global mean, bias, SVD, SVD++, baseline-only and KNN-baseline, "
                      "all fitted on train: tells a missed test goal apart from a weak model.")
    p.add_argument("--dataset", type=Path, required=True, help="A rating dataset folder.")
    p.add_argument("--json", action="store_true", help="Print only the JSON line.")
    p.set_defaults(func=cmd_eval_split)

    p = rk.add_parser("eval-fusion", help="Measure the rating weight of the final rank on a judged relevance set (JSON).",
                      description="Runs the assistant's search (top --k hits) for every judged query, assigns ratings "
                      "(adversarial: 5 stars to irrelevant, 1 to relevant; random), re-ranks with fuse(relevance, stars, w) "
                      "for each weight and reports NDCG@10 and the rate at which an irrelevant product jumps a relevant one.")
    p.add_argument("--dataset", type=Path, required=True, help="A judged folder (products + judgments.jsonl.gz), e.g. Chorus/Icecat.")
    p.add_argument("--k", type=int, default=50, help="Hits re-ranked per query (the assistant retrieves 50).")
    p.add_argument("--weights", default=None, help="Comma-separated weights (default: 0 to 0.5).")
    p.add_argument("--draws", type=int, default=20, help="Random-rating draws averaged per weight.")
    p.add_argument("--json", action="store_true", help="Print only the JSON line.")
    p.set_defaults(func=cmd_eval_fusion)

    p = rk.add_parser("eval-taste", help="Personal taste term off vs on, on the ingested catalog: named users' RMSE and "
                      "how different their orderings of the same hits are (JSON).",
                      description="Serves the current version twice in one process (taste weight 0, then as trained): each "
                      "named user's ratings predicted from their earlier ratings only, and for each query the users' "
                      "predicted orderings of the same top-k hits compared (Kendall tau, top-4 overlap).")
    p.add_argument("--users", default="alice,bob,carmen,dev,emma,frank", help="Comma-separated user ids (default: the demo users).")
    p.add_argument("--queries", default=None, help="Comma-separated queries (default: 8 demo categories).")
    p.add_argument("--k", type=int, default=12, help="Hits per query.")
    p.set_defaults(func=cmd_eval_taste)

    p = rk.add_parser("update", help="Continue training the current version on new ratings/feedback with replay.",
                      description="Events: JSONL rows {user_id, product_id, rating | kind, timestamp, title?, text?}, or "
                      "--from-store for the shoppers' feedback logged by the app; "
                      "kind thumb_up/buy/add_to_cart count as 5 stars, thumb_down as 1. Old training data is replayed; "
                      "the old test RMSE is reported before and after.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--events", type=Path, help="JSONL file of new ratings or feedback events.")
    src.add_argument("--from-store", action="store_true",
                     help="Shoppers' feedback from this data dir's conversation store (thumbs, add to cart, buy) since the "
                     "current version was made; the rows used are kept under models/ranker/feedback/.")
    p.add_argument("--replay", type=float, default=1.0, help="Old examples replayed per new example (default 1).")
    p.add_argument("--epochs", type=int, default=None, help="Head epochs for the update.")
    p.add_argument("--json", action="store_true", help="Print the new version's metadata as one JSON line.")
    p.set_defaults(func=cmd_update)

    p = sub.add_parser("learn", help="Train a candidate on the shoppers' feedback since the current version and "
                       "promote it only if it is not worse (held-out test and recent feedback).",
                       description="The learning job (ranker.learn): collects the store's rating feedback since the "
                       "current version was made, trains a child with replay, evaluates both on the parent's test split "
                       "and on held-out recent feedback, and serves the child only if its RMSE is not worse on both. "
                       "Prints the numbers and the decision; the parent stays for `ranker rollback`. A second run "
                       "while one is training stops at once (file lock, across processes).")
    p.add_argument("--replay", type=float, default=1.0, help="Old examples replayed per new one (default 1).")
    p.add_argument("--epochs", type=int, default=None, help="Head epochs (default 3).")
    p.add_argument("--tolerance", type=float, default=None, help="RMSE a candidate may lose and still count as not worse (default 0).")
    p.add_argument("--json", action="store_true", help="Print only the JSON line.")
    p.set_defaults(func=cmd_learn)

    p = sub.add_parser("simulate", help="Replay real shoppers offline over several learning rounds: the learning arm "
                       "(the served blend learning from its cards and, by default, the store's new reviews; one exploration slot) "
                       "against the frozen blend, the frozen blend with the exploration slot, popularity (its own clicks, or "
                       "every new review: popularity_live) and the stars alone; per-round click-through and "
                       "thumbs-up with intervals (JSON).",
                       description="ranker.replay: a seeded subsample of a rating dataset split at a time cutoff; each round a "
                       "fresh batch of shoppers is shown each arm's top k among the items they really rated later plus "
                       "sampled ones; a shown later-rated item is a click, >= 4 stars a thumbs-up. The learning arm adds its "
                       "clicks to its co-ratings and popularity, takes ignored cards off popularity, and runs "
                       "the real learning job on its thumbs after every round; with --learn-from cards+reviews (the default) it also "
                       "learns every later rating of the round's shoppers as the store's new reviews (never a shopper's own "
                       "before their session), and popularity_live counts those reviews too; per round, the cards only one of learning and "
                       "frozen showed and how many were clicked (swaps). Click-through and thumbs-up are measured per session "
                       "(any card) and per card (clicked / shown cards, as `report ab`). --cutoff 0.3 --horizon 0.5 is the validation "
                       "replay the learning arm's knobs are chosen on. Versions are trained in --workdir "
                       "(never this data dir's models); the encoding cache of this data dir is copied there first.")
    p.add_argument("--dataset", type=Path, required=True, help="A rating dataset folder (MI 2014 5-core or Amazon 2023 sample).")
    p.add_argument("--rounds", type=int, default=5, help="Learning rounds (default 5).")
    p.add_argument("--users", type=int, default=None, help="Users subsampled with the seed (default 500).")
    p.add_argument("--k", type=int, default=None, help="Cards shown per session (default 5).")
    p.add_argument("--negatives", type=int, default=None, help="Never-rated items per session besides the later ones (default 30).")
    p.add_argument("--cutoff", type=float, default=None, help="Quantile of rating times that ends the history (default 0.5).")
    p.add_argument("--epochs", type=int, default=None, help="Head epochs, first training and each round (default 2).")
    p.add_argument("--first-n", type=int, default=None, help="Cold-start exposure over an item's first n slots (default 10).")
    p.add_argument("--horizon", type=float, default=None,
                   help="Quantile of rating times after which nothing is used (default 1 = all): with a --cutoff below it, "
                   "a validation replay that never sees the test period (knobs are chosen there).")
    p.add_argument("--click-weight", type=float, default=None,
                   help="A learned click in the learning arm's popularity, in history ratings (default ranker.replay.CLICK_WEIGHT).")
    p.add_argument("--learn-from", choices=("cards+reviews", "cards"), default=None,
                   help="What the learning arm learns from after each round: its own cards' clicks and ignored cards "
                   "only (cards), or those plus every real later rating of the round's shoppers as the store's new "
                   "reviews (cards+reviews, the default: a shop's learning job reads its reviews).")
    p.add_argument("--deal", choices=("random", "time"), default=None,
                   help="How shoppers are dealt into rounds: seeded random batches (random, the default; rounds are not "
                   "time slices) or by the time of each shopper's first later rating (time).")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path, default=None,
                   help="Where the replay's versions go (default: DATA_DIR/simulate/<time>).")
    p.add_argument("--out", type=Path, default=None, help="Curve PNG path; the JSON report is written beside it (.json).")
    p.add_argument("--json", action="store_true", help="Print only the JSON line.")
    p.set_defaults(func=cmd_simulate)

    p = rk.add_parser("eval-dp", help="DP-SGD's cost end to end: the same training plain and private in one run, "
                      "epsilon and delta spent, test RMSE and NDCG@10 of both with paired intervals (JSON).",
                      description="ranker.dp_eval: trains twice with the same seed (plain, then --epsilon with opacus on "
                      "the head), saves both in --workdir without serving them, and scores both on the test split.")
    p.add_argument("--dataset", type=Path, required=True, help="A rating dataset folder.")
    p.add_argument("--epsilon", type=float, default=1.0, help="DP-SGD target epsilon (default 1).")
    p.add_argument("--epochs", type=int, default=4, help="Head epochs of both trainings (default 4).")
    p.add_argument("--max-examples", type=int, default=None, help="Cap on training examples (seeded), both runs.")
    p.add_argument("--workdir", type=Path, default=None, help="Where the two versions go (default: DATA_DIR/eval-dp/<time>).")
    p.add_argument("--json", action="store_true", help="Print only the JSON line.")
    p.set_defaults(func=cmd_eval_dp)

    p = rk.add_parser("use", help="Serve a given version (switch or roll back).")
    p.add_argument("version", help="A version name, e.g. v0002 (see `ranker list`).")
    p.set_defaults(func=cmd_use)

    p = rk.add_parser("rollback", help="Serve the current version's parent.")
    p.set_defaults(func=cmd_rollback)

    p = rk.add_parser("list", help="Saved versions with data, metrics and parent.")
    p.add_argument("--json", action="store_true", help="Print as JSON.")
    p.set_defaults(func=cmd_list)

    be = group(sub, groups, "bench", "Benchmark an area (prints JSON).")
    p = be.add_parser("ranker", help="Scoring latency for 100 candidates (p50/p95) per speed-up, with its accuracy cost.",
                      description="Times Ranker.score for one user and 100 candidates: cold cache, warm cache, "
                      "with explanations the old way (head on materialised rows), without explanations, and with an int8-quantised encoder; "
                      "accuracy cost measured on a dataset's validation split.")
    p.add_argument("--dataset", type=Path, default=None, help="Dataset for the accuracy cost (default: MI 2014 beside the repo).")
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--cold-repeats", type=int, default=3, help="Runs of the cold-cache row (0 = skip it: ~20 s each).")
    p.add_argument("--no-int8", action="store_true", help="Skip the int8-encoder row and its validation RMSE.")
    p.add_argument("--profiles", type=int, default=10, help="Users whose first profile is timed (0 = skip).")
    p.add_argument("--catalog", action="store_true",
                   help="Serve from the data dir's ingested catalog (SQLite, its most active reviewer's profile) instead of --dataset.")
    p.set_defaults(func=cmd_bench)


def _user_error(e: Exception):
    from shopassist.errors import UserError

    return UserError(str(e))


def cmd_train(args, settings) -> int:
    from ranker import data as D
    from ranker.train import TrainConfig, train

    cfg = TrainConfig()
    for name in ("epochs", "max_examples", "base", "train_layers", "dp_epsilon", "text_only_examples", "sentiment_examples"):
        v = getattr(args, name)
        if v is not None:
            setattr(cfg, name, v)
    if args.catalog:
        from retrieval.store import CatalogStore

        if not settings.catalog_db.exists():
            raise _user_error(FileNotFoundError(f"no catalog at {settings.catalog_db}: run `shopassist ingest SOURCE` first"))
        data, source = D.read_catalog(CatalogStore(settings.catalog_db)), "catalog"
    else:
        try:
            data, source = D.read_dataset(args.dataset), str(args.dataset)
        except FileNotFoundError as e:
            raise _user_error(e) from e
    if len(data.val) < 2:
        raise _user_error(ValueError(f"{data.name}: too few users with 3+ ratings to validate on ({len(data.val)})"))
    try:
        res = train(data, settings, cfg, source=source)
    except (ImportError, ValueError) as e:  # a missing extra or an impossible option combination
        raise _user_error(e) from e
    if res.version is None:  # another rank of `torchrun ... ranker train`: rank 0 saves and reports
        return 0
    m = res.metadata["metrics"]
    if not args.json:
        print(f"saved {res.version} (current). val RMSE {m['val_rmse']:.4f} (untrained/bias {m['val_rmse_untrained']:.4f}), "
              f"test RMSE {m['test_rmse']:.4f} (bias {m['test_rmse_bias']:.4f})")
        if res.metadata.get("dp"):
            dp = res.metadata["dp"]
            print(f"DP-SGD: epsilon {dp['epsilon_spent']:.2f} (target {dp['target_epsilon']}), delta {dp['delta']:.2e}, {dp['scope']}")
    print(json.dumps(res.metadata, default=str))
    return 0


def cmd_eval(args, settings) -> int:
    from ranker import data as D
    from ranker.evaluate import evaluate

    try:
        if args.categories:
            data = D.read_amazon2023(args.dataset, categories=args.categories.split(","))
        else:
            data = D.read_dataset(args.dataset)
    except FileNotFoundError as e:
        raise _user_error(e) from e
    report = evaluate(data, settings, ndcg=not args.no_ndcg, finetune_examples=args.finetune_examples)
    if not args.json:
        for name, m in report["methods"].items():
            print(f"{name:12s} " + "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()))
    print(json.dumps(report))
    return 0


def cmd_eval_nextitem(args, settings) -> int:
    from ranker.nextitem import evaluate_nextitem, read_seqrec

    try:
        data = read_seqrec(args.dataset)
    except FileNotFoundError as e:
        raise _user_error(e) from e
    report = evaluate_nextitem(data, users=args.users, sasrec_epochs=args.sasrec_epochs)
    if not args.json:
        print(f"random  {report['test']['random']}")
        for name, m in report["test"]["methods"].items():
            print(f"{name:12s} " + "  ".join(f"{k}={v:.4f}" for k, v in m.items() if isinstance(v, float)))
    print(json.dumps(report))
    return 0


def cmd_eval_split(args, settings) -> int:
    from ranker import data as D
    from ranker.ceiling import split_report

    try:
        data = D.read_dataset(args.dataset)
    except FileNotFoundError as e:
        raise _user_error(e) from e
    report = split_report(data)
    if not args.json:
        for pos, st in report["positions"].items():
            print(f"position {pos:>2} from the end  " + "  ".join(f"{k}={v}" for k, v in st.items()))
        for name, m in report["methods"].items():
            print(f"{name:14s} " + "  ".join(f"{k}={v:.4f}" for k, v in m.items()))
    print(json.dumps(report))
    return 0


def cmd_eval_fusion(args, settings) -> int:
    from ranker.fusion_eval import WEIGHTS, QueryRun, sweep
    from retrieval.evaluate import ensure_ingested, load_judgments
    from retrieval.search import open_catalog

    try:
        queries, judgments = load_judgments(args.dataset)
        ensure_ingested(settings, args.dataset, progress=not args.json)
    except FileNotFoundError as e:
        raise _user_error(e) from e
    catalog = open_catalog(settings)
    runs = []
    for q in (q for q in queries if q in judgments):
        hits = catalog.search(q, k=args.k)  # exactly the assistant's call (collapsed variants)
        runs.append(QueryRun([h.product.id for h in hits], [h.score for h in hits], judgments[q]))
    weights = [float(w) for w in args.weights.split(",")] if args.weights else list(WEIGHTS)
    report = {"dataset": args.dataset.name, "k": args.k, "current_weight": settings.rating_weight,
              **sweep(runs, weights, draws=args.draws)}
    if not args.json:
        print(f"relevance only: {report['relevance_only']}")
        for w, row in report["weights"].items():
            print(f"w={w:5s} " + "  ".join(f"{kind}: ndcg {m['ndcg@10']:.4f} flips {m['flip_rate']:.4f} top10 {m['top10_flip_rate']:.4f}"
                                         for kind, m in row.items()))
    print(json.dumps(report))
    return 0


def cmd_eval_taste(args, settings) -> int:
    from ranker.serve import load_ranker
    from ranker.taste_eval import QUERIES, compare
    from ranker.versions import VersionNotFound
    from retrieval.search import open_catalog

    if not settings.catalog_db.exists():
        raise _user_error(FileNotFoundError(f"no catalog at {settings.catalog_db}: run `shopassist ingest SOURCE` first"))
    catalog = open_catalog(settings)
    rk = load_ranker(settings, catalog.store, blend=False)  # the taste study reads the stars alone
    if rk.version is None:  # the catalog prior has no taste term to switch off and on
        raise VersionNotFound("no trained ranker version: run `shopassist ranker train --catalog` first")
    queries = args.queries.split(",") if args.queries else list(QUERIES)
    report = compare(rk, catalog.store, lambda q, k: [h.product for h in catalog.search(q, k=k)], args.users.split(","), queries, args.k)
    print(json.dumps(report))
    return 0


def feedback_events(settings) -> Path:
    """The conversation store's rating feedback since the current version was made, written as an
    events file for ``ranker update`` (kept beside the versions: what each update learned from)."""
    from datetime import UTC, datetime

    from assistant.store import ConversationStore
    from ranker import versions
    from ranker.scoring import KIND_STARS

    cur = versions.current_version(settings)
    if cur is None:
        raise versions.VersionNotFound("no current ranker version to update: run `shopassist ranker train` first")
    since = datetime.fromisoformat(versions.read_metadata(cur)["created"])
    rows = ConversationStore(settings.events_db_url).feedback_rows(tuple(KIND_STARS), since=since)
    if not rows:
        raise ValueError(f"no shopper feedback ({', '.join(KIND_STARS)}) in the conversation store since {cur.name} "
                         f"was made ({since.isoformat()})")
    out = versions.root(settings) / "feedback" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-since-{cur.name}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out


def cmd_update(args, settings) -> int:
    from ranker.update import update

    try:
        events = feedback_events(settings) if args.from_store else args.events
        meta = update(settings, events, replay=args.replay, epochs=args.epochs)
    except (FileNotFoundError, LookupError, ValueError) as e:
        raise _user_error(e) from e
    if not args.json:
        c = meta["continual"]
        print(f"saved {meta['version']} (parent {meta['parent']}): old-test RMSE {c['old_test_rmse_before']:.4f} -> "
              f"{c['old_test_rmse_after']:.4f}; new-data RMSE {c['new_rmse_before']:.4f} -> {c['new_rmse_after']:.4f}")
    print(json.dumps(meta, default=str))
    return 0


def cmd_learn(args, settings) -> int:
    from ranker.learn import TOLERANCE, learn

    try:
        events = feedback_events(settings)
    except ValueError as e:  # nothing new: a scheduled job has nothing to do, which is not an error
        print(json.dumps({"promoted": False, "skipped": str(e)}))
        return 0
    try:
        report = learn(settings, events, replay=args.replay, epochs=args.epochs,
                       tolerance=TOLERANCE if args.tolerance is None else args.tolerance)
    except (FileNotFoundError, LookupError, ValueError) as e:
        raise _user_error(e) from e
    if not args.json:
        d = report["decision"]
        print(f"candidate {report['candidate']} (parent {report['parent']}): held-out test RMSE "
              f"{d['heldout_test_rmse']['current']} -> {d['heldout_test_rmse']['candidate']}, recent feedback RMSE "
              f"{d['recent_feedback_rmse']['current']} -> {d['recent_feedback_rmse']['candidate']}: "
              + ("promoted" if report["promoted"] else f"not promoted (worse on {', '.join(d['worse_on'])})")
              + f"; serving {report['serving']}")
    print(json.dumps(report, default=str))
    return 0


def cmd_simulate(args, settings) -> int:
    from ranker import data as D
    from ranker.replay import SimConfig, plot, simulate

    if args.rounds < 1:
        raise _user_error(ValueError(f"--rounds must be at least 1 (got {args.rounds})"))
    cfg = SimConfig(rounds=args.rounds, seed=args.seed)
    for name in ("users", "k", "negatives", "cutoff", "horizon", "epochs", "first_n", "click_weight", "learn_from", "deal"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    if not 0 < cfg.cutoff < 1:
        raise _user_error(ValueError(f"--cutoff is a quantile of rating times, strictly between 0 and 1 (got {cfg.cutoff})"))
    if not cfg.cutoff < cfg.horizon <= 1:
        raise _user_error(ValueError(f"--horizon is a quantile of rating times after --cutoff, at most 1 (got {cfg.horizon})"))
    if not cfg.click_weight > 0:
        raise _user_error(ValueError(f"--click-weight must be positive (got {cfg.click_weight})"))
    try:
        data = D.read_dataset(args.dataset)
    except FileNotFoundError as e:
        raise _user_error(e) from e
    work, sim = _workdir(settings, args.workdir, "simulate")

    def progress(r):
        if not args.json:
            a = r["arms"]
            print(f"round {r['round']} ({r['shoppers']} shoppers): CTR " + ", ".join(
                f"{arm} {a[arm]['ctr']['value']:.3f}" for arm in a) + "; thumbs-up " + ", ".join(
                f"{arm} {a[arm]['thumbs_up_rate']['value']:.3f}" for arm in a)
                + f"; learning - frozen CTR {r['learning_minus_frozen']['ctr']['value']:+.3f} {r['learning_minus_frozen']['ctr']['ci95']}"
                + f", card CTR {r['learning_minus_frozen']['card_ctr']['value']:+.3f} {r['learning_minus_frozen']['card_ctr']['ci95']}"
                + f"; learning - popularity_live CTR {r['learning_minus_popularity_live']['ctr']['value']:+.3f}",
                flush=True)

    try:
        report = simulate(data, sim, cfg, progress=progress)
    except ValueError as e:
        raise _user_error(e) from e
    report["workdir"] = str(work)
    if args.out:
        report["png"] = str(args.out)
        plot(report, args.out)
        args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
    return 0


def _workdir(settings, given, name: str):
    """Settings whose data dir is a scratch folder (the data dir's encoding cache copied in), so a
    study never adds versions to, or switches, the ranker the shop serves."""
    import shutil
    from datetime import UTC, datetime

    from ranker import versions

    work = given or settings.data_dir / name / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    scratch = settings.model_copy(update={"data_dir": work})
    if versions.list_versions(scratch):
        raise _user_error(ValueError(f"{work} already holds ranker versions: give a fresh --workdir"))
    cache = versions.root(settings) / "cache"
    if cache.is_dir() and cache.resolve() != (versions.root(scratch) / "cache").resolve():  # same base model: reusable
        shutil.copytree(cache, versions.root(scratch) / "cache", dirs_exist_ok=True)
    return work, scratch


def cmd_eval_dp(args, settings) -> int:
    from ranker import data as D
    from ranker.dp_eval import dp_cost

    if args.epsilon <= 0:
        raise _user_error(ValueError(f"--epsilon must be positive (got {args.epsilon})"))
    try:
        data = D.read_dataset(args.dataset)
    except FileNotFoundError as e:
        raise _user_error(e) from e
    work, scratch = _workdir(settings, args.workdir, "eval-dp")
    try:
        report = dp_cost(data, scratch, args.epsilon, epochs=args.epochs, max_examples=args.max_examples)
    except (ImportError, ValueError) as e:  # opacus missing: the [dp] extra
        raise _user_error(e) from e
    report["workdir"] = str(work)
    if not args.json:
        p, q, c = report["non_private"], report["dp_sgd"], report["cost"]
        print(f"epsilon {report['privacy']['epsilon_spent']} (target {args.epsilon}), delta {report['privacy']['delta']:.2e}: "
              f"test RMSE {p['test_rmse']} -> {q['test_rmse']} ({c['rmse_dp_minus_plain']['diff']:+} {c['rmse_dp_minus_plain']['ci95']}), "
              f"NDCG@10 {p['ndcg@10']} -> {q['ndcg@10']} ({c['ndcg_dp_minus_plain']['value']:+} {c['ndcg_dp_minus_plain']['ci95']})")
    print(json.dumps(report))
    return 0


def cmd_use(args, settings) -> int:
    from ranker.versions import use_version

    meta = use_version(settings, args.version)  # VersionNotFound is a UserError: one line, exit code 2
    print(f"serving {meta['version']} (trained on {meta.get('data', {}).get('dataset')}, parent {meta.get('parent')})")
    return 0


def cmd_rollback(args, settings) -> int:
    from ranker.versions import rollback

    meta = rollback(settings)
    print(f"rolled back: serving {meta['version']}")
    return 0


def cmd_list(args, settings) -> int:
    from ranker.versions import list_versions

    vs = list_versions(settings)
    if args.json:
        print(json.dumps(vs, default=str))
        return 0
    if not vs:
        print("no ranker versions yet: `shopassist ranker train --dataset DIR` or `--catalog`")
    for m in vs:
        met = m.get("metrics", {})
        print(f"{'*' if m['current'] else ' '} {m['version']}  {m.get('created')}  data={m.get('data', {}).get('dataset')}  "
              f"parent={m.get('parent')}  val_rmse={met.get('val_rmse', float('nan')):.4f}  test_rmse={met.get('test_rmse', float('nan')):.4f}")
    return 0


def cmd_bench(args, settings) -> int:
    from ranker.bench import bench_scoring

    print(json.dumps(bench_scoring(settings, dataset=args.dataset, candidates=args.candidates, repeats=args.repeats,
                                   cold_repeats=args.cold_repeats, int8=not args.no_int8, profiles=args.profiles,
                                   catalog=args.catalog)))
    return 0
