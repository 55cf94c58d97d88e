"""The Amazon contextual product-QA sets (ePQA, hetPQA, semiPQA) as question groups.

A ``Group`` is one question with the candidate passages it was judged against (one product's
attributes, bullets, reviews, answers) and a graded label per passage. Attribute candidates
arrive as ``name:  { value:"little kid" }``; ``attribute_text`` reads them the way a spec line
of our catalog reads (``name: little kid``), for every scorer alike.

Example::

    >>> attribute_text('age_range_description:  { value:"little kid" }')
    'age range description: little kid'
    >>> attribute_text('num_batteries: { quantity:2, type:aa }')
    'num batteries: quantity 2, type aa'
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FOLDER = "amazon_contextual_pqa_epqa_hetpqa_semipqa"
SEMIPQA_SPLITS = ("dev", "testseen", "testunseen")

csv.field_size_limit(1 << 24)


class DatasetMissing(FileNotFoundError):
    """The product-QA folder is not where it was looked for: the caller's to point at it."""


@dataclass(slots=True)
class Group:
    question: str
    passages: list[str]
    labels: list[int]
    key: str = ""
    sources: list[str] = field(default_factory=list)


def attribute_text(raw: str) -> str:
    """``name:  { value:"x" }; { value:"y" }`` -> ``name: x; y``; nested units are flattened."""
    name, _, rest = raw.partition(":")
    if "{" not in rest:
        return raw.strip()
    rest = re.sub(r"normalized_value\s*:?\s*\{[^{}]*\}", " ", rest)  # the same number again in other units
    rest = re.sub(r"\bvalue\s*:", " ", rest)
    rest = re.sub(r"(\w+)\s*:", r"\1 ", rest)
    rest = re.sub(r'[{}\[\]"]', " ", rest)
    rest = re.sub(r"\s+([,;])", r"\1", re.sub(r"\s+", " ", rest))
    rest = re.sub(r"([,;])(\s*[,;])+", r"\1", rest).strip(" ,;")
    return f"{name.strip().replace('_', ' ')}: {rest}"


def default_folder() -> Path:
    """``../shared/datasets/<FOLDER>`` beside this checkout."""
    return Path(__file__).resolve().parents[2] / "shared" / "datasets" / FOLDER


def _rows(path: Path, sep: str) -> list[dict]:
    if not path.exists():
        raise DatasetMissing(f"{path} not found: pass --data with the {FOLDER} folder")
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=sep))


def _passage(text: str, source: str) -> str:
    text = (text or "").strip()
    return attribute_text(text) if source.lower() == "attribute" else text


def _groups(rows: list[dict], qkey: str, label, source=lambda r: r.get("source", "attribute")) -> list[Group]:
    out: dict[str, Group] = {}
    for r in rows:
        g = out.setdefault(r[qkey], Group(r["question"].strip(), [], [], key=r[qkey]))
        g.passages.append(_passage(r["candidate"], source(r)))
        g.labels.append(label(r))
        g.sources.append(source(r))
    return list(out.values())


def semipqa(folder: Path, split: str) -> list[Group]:
    """semiPQA attribute ranking: does the right attribute come first? (labels 0/1)."""
    rows = _rows(folder / "semiPQA" / "attribute_ranking" / f"{split}.csv.gz", "\t")
    return _groups(rows, "qid", lambda r: int(r["label"]), lambda r: "attribute")


def epqa_dev(folder: Path, questions: int | None = None, seed: int = 0) -> list[Group]:
    """ePQA dev evidence ranking (labels 0 irrelevant / 1 helpful / 2 fully answers);
    ``questions`` draws that many questions with a fixed seed (the run-time budget)."""
    rows = _rows(folder / "ePQA" / "dev.csv.gz", ",")
    groups = _groups(rows, "qid", lambda r: int(r["label"]))
    if questions and questions < len(groups):
        groups = sorted(random.Random(seed).sample(groups, questions), key=lambda g: g.key)
    return groups


def hetpqa_evidence_dev(folder: Path) -> list[Group]:
    """hetPQA evidence ranking dev (0/1): used only to choose the head's shape, never to fit it."""
    rows = _rows(folder / "hetPQA" / "evidence_ranking" / "dev.csv.gz", "\t")
    return _groups(rows, "qid", lambda r: int(r["label"]))


def hetpqa_train(folder: Path) -> list[dict]:
    """hetPQA answer-generation *train*: (ASIN, question, evidence candidate, written answer, source)."""
    rows = _rows(folder / "hetPQA" / "answer_generation" / "train.csv.gz", "\t")
    for r in rows:
        r["candidate"] = _passage(r["candidate"], r["source"])
    return rows


def attribute_pool(folder: Path) -> list[str]:
    """Attribute lines of the semiPQA data-to-text *train* split (negatives of other kinds)."""
    rows = _rows(folder / "semiPQA" / "data-to-text" / "train.csv.gz", "\t")
    return sorted({attribute_text(r["data"]) for r in rows if r["data"].count("{") == 1})


class CachedEmbed:
    """Normalised MiniLM vectors, computed once per text and kept in an ``.npy`` pair on disk,
    so a second evaluation run skips the encoder (the costly part on two cores)."""

    def __init__(self, model, path: Path | None = None):
        self.model, self.path = model, path
        self.vecs: dict[str, np.ndarray] = {}
        self.dirty = False
        if path and path.with_suffix(".keys.txt").exists():
            keys = path.with_suffix(".keys.txt").read_text().split("\n")
            arr = np.load(path.with_suffix(".npy"))
            self.vecs = dict(zip(keys, arr, strict=True))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def __call__(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vecs}
        if todo:
            enc = self.model.encode(list(todo.values()), normalize_embeddings=True, batch_size=64, show_progress_bar=False)
            self.vecs.update(zip(todo.keys(), np.asarray(enc, dtype=np.float32), strict=True))
            self.dirty = True
        return np.stack([self.vecs[k] for k in keys]) if keys else np.zeros((0, 384), dtype=np.float32)

    def save(self) -> None:
        if not (self.path and self.dirty):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vecs)
        np.save(self.path.with_suffix(".npy"), np.stack([self.vecs[k] for k in keys]))
        self.path.with_suffix(".keys.txt").write_text("\n".join(keys))
        self.dirty = False
