"""Can the product-QA reader beat zero-shot MiniLM with more of the folder's training data? A
query-side linear adapter ``q' = q + qW`` (384 x 384, W starting at 0, L2 on W) over frozen
MiniLM vectors, trained with a listwise softmax loss (scale 20) on every non-evaluated labelled
group the folder has: hetPQA answer-generation train + dev + test (~5.6k questions; positives:
the question's evidence; negatives: 8 other questions' evidence on the same product, 3 random
passages, 4 attribute lines of semiPQA data-to-text train), hetPQA evidence-ranking dev (366
labelled questions) and the semiPQA-shaped attribute groups of ``reader_train``. 10 epochs,
Adam 1e-3, batch 32; the L2 weight is chosen on semiPQA dev P@1 (test splits are not for choosing).

Produced "A query adapter on more training data" in BENCHMARKS.md (stop 20): every L2 weight
tried lowers semiPQA dev P@1 (0.800 / 0.814 / 0.822 vs zero-shot 0.851), so nothing was shipped.
Command (from the repo root; the first run encodes ~25k texts into CACHE, ~3 min on 2 cores):

    .venv/bin/python benchmarks/studies/query_adapter.py --cache /tmp/pqa/cache/pqa-minilm

``--epochs 1 --groups 200`` is a smoke run.
"""
from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import repo_on_path

repo_on_path()

from assistant import qa_data, reader_train  # noqa: E402
from assistant.qa_data import Group  # noqa: E402
from assistant.qa_eval import prefetch, top_is  # noqa: E402
from assistant.reader import attribute_name  # noqa: E402

SCALE = 20.0  # cosine -> logit for the listwise softmax
L2 = (1e-4, 1e-3, 1e-2)


def hetpqa_groups(folder: Path, split: str, seed: int) -> list[Group]:
    """Every question of a hetPQA answer-generation split with its evidence and drawn negatives."""
    rng = random.Random(seed)
    rows = qa_data._rows(folder / "hetPQA" / "answer_generation" / f"{split}.csv.gz", "\t")
    for r in rows:
        r["candidate"] = qa_data._passage(r["candidate"], r["source"])
    by_q, by_p = defaultdict(list), defaultdict(list)
    for r in rows:
        by_q[(r["ASIN"], r["question"])].append(r)
        by_p[r["ASIN"]].append(r)
    pool, attrs = sorted({r["candidate"] for r in rows}), qa_data.attribute_pool(folder)
    out = []
    for (asin, q), rs in sorted(by_q.items()):
        pos = list(dict.fromkeys(r["candidate"] for r in rs))
        names = {attribute_name(p) for p in pos} - {None}
        same = list(dict.fromkeys(r["candidate"] for r in by_p[asin] if r["question"] != q))
        negs = rng.sample(same, min(8, len(same))) + rng.sample(pool, 3)
        negs += [a for a in rng.sample(attrs, 8) if attribute_name(a) not in names][:4]
        negs = [n for n in dict.fromkeys(negs) if n not in pos]
        out.append(Group(q, pos + negs, [1] * len(pos) + [0] * len(negs), key=asin))
    return out


def tensors(groups, embed):
    import torch

    out = []
    for g in groups:
        v = embed([g.question, *g.passages])
        out.append((torch.tensor(v[0]), torch.tensor(v[1:]), torch.tensor(g.labels, dtype=torch.float32)))
    return out


def p_at_1(groups, w) -> float:
    hits = []
    for i, (q, p, y) in enumerate(groups):
        if y.max() > 0:
            qq = q if w is None else q + q @ w
            hits.append(top_is((p @ qq).numpy(), y.numpy().astype(int), 1, i))
    return round(float(np.mean(hits)), 4)


def fit(train, l2: float, epochs: int, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    w = torch.zeros(384, 384, requires_grad=True)
    opt = torch.optim.Adam([w], lr=1e-3)
    idx = list(range(len(train)))
    for ep in range(epochs):
        random.Random(ep).shuffle(idx)
        for b in range(0, len(idx), 32):
            loss = 0
            for i in idx[b : b + 32]:
                q, p, y = train[i]
                qq = q + q @ w
                logp = torch.log_softmax(SCALE * (p @ qq) / qq.norm(), 0)
                loss = loss - (logp * y).sum() / y.sum()
            loss = loss / 32 + l2 * (w**2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return w.detach()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, required=True, help="CachedEmbed path for the MiniLM vectors")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--groups", type=int, default=0, help="train on this many groups (0 = all)")
    args = ap.parse_args()
    from retrieval.models import load_embedder

    folder = qa_data.default_folder()
    embed = qa_data.CachedEmbed(load_embedder(), args.cache)
    groups = [g for s, seed in (("train", 0), ("dev", 1), ("test", 2)) for g in hetpqa_groups(folder, s, seed)]
    groups += reader_train.attribute_groups(folder)
    groups += [g for g in qa_data.hetpqa_evidence_dev(folder) if max(g.labels) > 0 and min(g.labels) == 0]
    if args.groups:
        groups = random.Random(0).sample(groups, args.groups)
    dev = qa_data.semipqa(folder, "dev")
    prefetch(embed, groups)
    prefetch(embed, dev)
    train, dev_t = tensors(groups, embed), tensors(dev, embed)
    report = {"train_groups": len(groups), "epochs": args.epochs, "dev_p@1_zero_shot": p_at_1(dev_t, None)}
    for l2 in L2:
        report[f"dev_p@1_l2_{l2}"] = p_at_1(dev_t, fit(train, l2, args.epochs))
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
