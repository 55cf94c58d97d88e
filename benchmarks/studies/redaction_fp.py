"""How often the redaction rules change text that holds no personal data: real catalog titles,
descriptions, EANs and ids, and real shoppers' questions and dialogue turns, all of each source
(no sampling). Also counts what the rules find in community answers, which quote support lines
and e-mails (findings there are expected). Prints one JSON object: per source, texts and texts
changed, with up to three examples of each change.

Produced the "Privacy: redaction" section of BENCHMARKS.md (issue 16). Command (repo root):

    .venv/bin/python benchmarks/studies/redaction_fp.py
"""
from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

from _common import repo_on_path

repo_on_path()
from assistant.redaction import findings  # noqa: E402

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _rows(folder: str, file: str):
    with gzip.open(DATA / folder / file, "rt") as f:
        yield from (json.loads(line) for line in f)


def sources() -> dict[str, list[str]]:
    icecat = list(_rows("chorus_icecat_product_search_judgments_135q", "products.jsonl.gz"))
    qa = list(_rows("amazon_qa_2016_appliances", "qa_Appliances.jsonl.gz"))
    with gzip.open(DATA / "mg_shopdial" / "MGShopDial.json.gz", "rt") as f:
        dialogues = json.load(f)
    return {
        "icecat_titles": [r.get("title") or "" for r in icecat],
        "icecat_short_descriptions": [r.get("short_description") or "" for r in icecat],
        "icecat_eans": [e for r in icecat for e in (r.get("ean") or [])],
        "icecat_ids": [r["id"] for r in icecat],
        "amazon2023_titles": [r.get("title") or "" for r in _rows("amazon_reviews_2023_user_history_sample", "items.jsonl.gz")],
        "amazon2018_item_texts": [r["text"] for r in _rows("amazon_reviews_2018_scientific_seqrec_unisrec", "items.jsonl.gz")],
        "appliance_questions": [r["question"] for r in qa],
        "shopdial_utterances": [u["utterance"] for d in dialogues for u in d["utterances"]],
        "appliance_answers (contact details expected)": [r["answer"] for r in qa],
    }


def main() -> None:
    t0 = time.perf_counter()
    out = {}
    for name, texts in sources().items():
        hits = [(t, f) for t in texts for f in [findings(t)] if f]
        kinds: dict[str, int] = {}
        for _, found in hits:
            for kind, _ in found:
                kinds[kind] = kinds.get(kind, 0) + 1
        out[name] = {"texts": len(texts), "changed": len(hits), "rate": round(len(hits) / max(1, len(texts)), 5),
                     "findings_by_kind": kinds, "examples": [f for _, f in hits[:3]]}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
