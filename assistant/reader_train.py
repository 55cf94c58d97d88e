"""Training the reader's head, as a numbered recipe (``shopassist eval product-qa --train``).

1. data: hetPQA answer-generation *train* (3,693 question / evidence pairs, Toys & Games); each
   question becomes a group: its evidence (and its written answer) as positives, and as
   negatives the evidence of *other* questions on the same product, random passages of other
   products and random attribute lines (semiPQA data-to-text *train*). No dev or test row is
   ever fitted on.
2. features: ``assistant.reader.features`` over frozen MiniLM vectors (cached on disk).
3. baseline first: the zero-shot cosine on the validation set (hetPQA evidence-ranking *dev*,
   a different split from every reported task; used only to choose the head's shape).
4. fit logistic regression and a one-hidden-layer MLP (scikit-learn, dev extra), keep the one
   with the better validation MAP, save it as ``assistant/data/reader.npz``.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from assistant import qa_data
from assistant.qa_data import Group
from assistant.reader import WEIGHTS, Head, Reader, attribute_name, features

SEED = 0
SAME_PRODUCT_NEG = 6  # other questions' evidence on the same product: the hard, realistic negatives
RANDOM_NEG = 3  # passages of other products: teach "off topic" cheaply
ATTRIBUTE_NEG = 5  # attribute lines: semiPQA-style sets are mostly attributes that don't answer
MLP_HIDDEN = 64  # 776 x 64 float32 = 200 kB; 128 measured no better on validation


def training_groups(folder: Path, seed: int = SEED) -> list[Group]:
    """Step 1: one group per (product, question) of hetPQA train, positives first."""
    rng = random.Random(seed)
    rows = qa_data.hetpqa_train(folder)
    pool = sorted({r["candidate"] for r in rows})
    attrs = sorted(set(qa_data.attribute_pool(folder)) | {r["candidate"] for r in rows if r["source"] == "attribute"})
    by_product: dict[str, list[dict]] = defaultdict(list)
    by_question: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        by_product[r["ASIN"]].append(r)
        by_question[(r["ASIN"], r["question"])].append(r)
    groups = []
    for (asin, question), pos in by_question.items():
        positives = list(dict.fromkeys([r["candidate"] for r in pos] + [r["answer"] for r in pos if r["answer"].strip()]))
        pos_names = {attribute_name(p) for p in positives} - {None}
        same = [r["candidate"] for r in by_product[asin] if r["question"] != question]
        negs = rng.sample(same, min(SAME_PRODUCT_NEG, len(same)))
        negs += rng.sample(pool, RANDOM_NEG)
        negs += [a for a in rng.sample(attrs, ATTRIBUTE_NEG + 2) if attribute_name(a) not in pos_names][:ATTRIBUTE_NEG]
        negs = [n for n in dict.fromkeys(negs) if n not in positives]
        groups.append(Group(question, positives + negs, [1] * len(positives) + [0] * len(negs), key=asin))
    return groups


def matrix(groups: list[Group], embed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 2: feature rows, labels (> 0 = answers) and the group of each row."""
    xs, ys, gs = [], [], []
    for i, g in enumerate(groups):
        v = embed([g.question, *g.passages])
        xs.append(features(g.question, g.passages, v[0], v[1:]))
        ys += [int(lab > 0) for lab in g.labels]
        gs += [i] * len(g.passages)
    return np.vstack(xs), np.array(ys), np.array(gs)


def fit_head(x: np.ndarray, y: np.ndarray, kind: str, seed: int = SEED) -> Head:
    """Step 4: logistic regression ('lr') or an MLP ('mlp') on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    if kind == "lr":
        m = LogisticRegression(C=0.05, max_iter=2000, class_weight="balanced").fit(z, y)
        layers = [(m.coef_.T.astype(np.float32), m.intercept_.astype(np.float32))]
    else:
        m = MLPClassifier((MLP_HIDDEN,), alpha=1e-2, early_stopping=True, max_iter=60, random_state=seed).fit(z, y)
        layers = [(w.astype(np.float32), b.astype(np.float32)) for w, b in zip(m.coefs_, m.intercepts_, strict=True)]
    return Head(mean.astype(np.float32), scale.astype(np.float32), layers, kind)


def validation_map(groups: list[Group], score) -> float:
    from assistant.qa_eval import average_precision

    aps = [average_precision(score(g), g.labels, i) for i, g in enumerate(groups) if max(g.labels) > 0]
    return round(float(np.mean(aps)), 4)


def train(folder: Path, embed, out: Path = WEIGHTS, log=print) -> dict:
    """The whole recipe; returns what it measured and where it saved the head."""
    t0 = time.perf_counter()
    groups = training_groups(folder)
    x, y, _ = matrix(groups, embed)
    log(f"train: {len(groups)} questions, {len(y)} rows ({int(y.sum())} positive), {time.perf_counter() - t0:.0f}s")
    val = qa_data.hetpqa_evidence_dev(folder)
    report = {"train_questions": len(groups), "train_rows": int(len(y)), "validation": "hetPQA evidence_ranking dev (MAP)"}

    def cosine(g):
        v = embed([g.question, *g.passages])
        return v[1:] @ v[0]

    report["val_map_minilm"] = validation_map(val, cosine)
    best = None
    for kind in ("lr", "mlp"):
        head = fit_head(x, y, kind)
        report[f"val_map_{kind}"] = validation_map(val, lambda g, h=head: Reader(h, embed).rank_evidence(g.question, g.passages))
        log(f"{kind}: validation MAP {report[f'val_map_{kind}']} ({time.perf_counter() - t0:.0f}s)")
        if best is None or report[f"val_map_{kind}"] > report[f"val_map_{best.kind}"]:
            best = head
    best.save(out)
    report.update(chosen=best.kind, weights=str(out), kb=round(out.stat().st_size / 1024, 1), seconds=round(time.perf_counter() - t0, 1))
    return report
