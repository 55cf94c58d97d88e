"""The evidence reader and its evaluation: pure parts against independent references (bm25s,
scikit-learn), the shipped head with the real MiniLM on two small catalogs, the real datasets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant import qa_data, qa_eval
from assistant.reader import (
    WEIGHTS,
    Head,
    Reader,
    bm25_scores,
    content_words,
    features,
    minilm_embed,
)
from tests.conftest import dataset


def test_bm25_matches_bm25s_on_the_same_tokens():
    import bm25s

    docs = [["quiet", "blender", "glass", "jar"], ["loud", "blender"], ["kettle", "gooseneck", "kettle"], ["jar"]]
    query = ["blender", "jar", "kettle"]
    from retrieval.bm25 import BM25_B, BM25_K1

    ref = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    ref.index(docs, show_progress=False)
    assert np.allclose(bm25_scores(query, docs), ref.get_scores(query), atol=1e-5)


def test_metrics_match_scikit_learn():
    from sklearn.metrics import average_precision_score, ndcg_score

    rng = np.random.default_rng(1)
    for _ in range(20):
        scores = rng.random(10)  # no ties, so the tie-break never matters
        labels = rng.integers(0, 3, 10)
        if labels.max() == 0:
            continue
        assert qa_eval.average_precision(scores, labels) == pytest.approx(average_precision_score(labels > 0, scores))
        assert qa_eval.ndcg(scores, labels) == pytest.approx(ndcg_score([labels], [scores]))


def test_ties_are_not_broken_by_the_input_order():
    # a scorer that knows nothing must not look good because the right passage comes first
    firsts = [qa_eval.top_is(np.zeros(10), [1] + [0] * 9, 1, seed) for seed in range(200)]
    assert 0.03 < np.mean(firsts) < 0.2


def test_bootstrap_interval_brackets_the_mean_difference():
    a, b = np.array([1.0, 1, 0, 1, 1, 0, 1, 1]), np.array([0.0, 1, 0, 0, 1, 0, 1, 0])
    lo, hi = qa_eval.bootstrap_diff(a, b, n=500)
    assert lo <= (a - b).mean() <= hi and lo >= 0


def test_content_words_and_features_shape():
    assert content_words("Does this tent have 2 doors?") == ["tent", "2", "door"]
    v = np.eye(4, dtype=np.float32)
    x = features("is it quiet", ["noise: 40 dB", "it is very quiet"], v[0], v[1:3])
    assert x.shape == (2, 2 * 4 + 8)


def test_head_round_trips_through_its_file(tmp_path):
    rng = np.random.default_rng(0)
    head = Head(rng.random(5, dtype=np.float32), np.ones(5, dtype=np.float32),
                [(rng.random((5, 3), dtype=np.float32), np.zeros(3, dtype=np.float32)),
                 (rng.random((3, 1), dtype=np.float32), np.zeros(1, dtype=np.float32))])
    head.save(tmp_path / "h.npz")
    again = Head.load(tmp_path / "h.npz")
    x = rng.random((4, 5))
    assert np.allclose(head.logits(x), again.logits(x), atol=1e-6)
    with pytest.raises(FileNotFoundError, match="--train"):
        Head.load(tmp_path / "missing.npz")


def test_shipped_weights_are_small():
    assert WEIGHTS.exists() and WEIGHTS.stat().st_size < 1_000_000


def _passages(product: dict) -> list[str]:
    """A catalog product as the reader sees it: its specs, then its description and features."""
    return [f"{k}: {v}" for k, v in product["attributes"].items()] + [product["description"], *product["features"]]


@pytest.mark.parametrize(
    ("catalog", "question", "answer_key"),
    [
        ("retrieval/demo/products.jsonl", "how loud is it when blending?", "noise"),
        ("retrieval/demo/products.jsonl", "how much does it weigh?", "weight"),
        ("tests/assistant/data/products.jsonl", "how many watts is the motor?", "power"),
        ("tests/assistant/data/products.jsonl", "what colour is it?", "colour"),
    ],
)
def test_shipped_reader_puts_the_answering_spec_first_on_two_catalogs(embedder, catalog, question, answer_key):
    reader = Reader(Head.load(WEIGHTS), minilm_embed(embedder))
    with open(catalog, encoding="utf-8") as f:
        product = next(p for p in map(json.loads, f) if answer_key in p["attributes"])
    passages = _passages(product)
    scores = reader.rank_evidence(question, passages)
    assert len(scores) == len(passages) and all(np.isfinite(scores))
    assert passages[int(np.argmax(scores))].startswith(answer_key + ":")
    assert reader.rank_evidence(question, []) == []


def test_semipqa_and_epqa_read_as_question_groups():
    folder = dataset(qa_data.FOLDER)
    dev = qa_data.semipqa(folder, "dev")
    assert len(dev) == 954 and sum(len(g.passages) for g in dev) == 13242
    assert all(":" in p and "{" not in p for p in dev[0].passages)
    ep = qa_data.epqa_dev(folder, 50)
    assert len(ep) == 50 and ep == qa_data.epqa_dev(folder, 50)  # fixed seed
    assert {lab for g in ep for lab in g.labels} == {0, 1, 2}


def test_evaluate_task_reports_every_scorer_with_an_interval(embedder):
    folder = dataset(qa_data.FOLDER)
    groups = qa_data.semipqa(folder, "testunseen")[:25]
    embed = qa_data.CachedEmbed(embedder)
    reader = Reader(Head.load(WEIGHTS), embed)
    scorers = {"bm25": qa_eval.bm25_scorer(), "minilm": qa_eval.minilm_scorer(embed), "ours": qa_eval.reader_scorer(reader)}
    out = qa_eval.evaluate_task(groups, "semipqa", scorers, bootstrap=200)
    for m in ("p@1", "map"):
        assert set(out[m]) >= {"bm25", "minilm", "ours", "n", "ci95"}
        assert all(0 <= out[m][n] <= 1 for n in scorers)
        lo, hi = out[m]["ci95"]
        diff = next(v for k, v in out[m].items() if k.startswith("ours_minus_"))
        assert lo <= diff <= hi


def test_cli_names_the_missing_dataset(settings, tmp_path, capsys):
    from shopassist.cli import main

    rc = main(["--data-dir", str(tmp_path / "d"), "eval", "product-qa", "--data", str(tmp_path / "nowhere")])
    assert rc == 2 and "--data" in capsys.readouterr().err


def test_review_qa_takes_another_evidence_selection():
    from assistant.review_qa import evaluate

    rows = [
        {"question": "is it loud?", "review": "It is quiet. I like it.", "human_ans_spans": "It is quiet"},
        {"question": "does it float?", "review": "Nice colour. ANSWERNOTFOUND", "human_ans_spans": "ANSWERNOTFOUND"},
    ]
    first = evaluate(rows, embed=None, select=lambda q, sents: sents[:1])
    never = evaluate(rows, embed=None, select=lambda q, sents: [])
    assert (first["answerable_hit"], first["unanswerable_abstained"]) == (1.0, 0.0)
    assert (never["answerable_answered"], never["unanswerable_abstained"]) == (0.0, 1.0)


def test_gated_reader_abstains_exactly_when_the_assistant_gate_does(embedder):
    from assistant.review_qa import evaluate, gated_reader_select

    embed = minilm_embed(embedder)
    rows = [
        {"question": "is the battery life good?", "review": "The battery lasts two full days. The box was blue.",
         "human_ans_spans": "The battery lasts two full days"},
        {"question": "does it float in water?", "review": "Nice colour. Shipping was fast.", "human_ans_spans": "ANSWERNOTFOUND"},
        {"question": "how is the sound quality?", "review": "Delivery took a week. The sound is crisp and loud.",
         "human_ans_spans": "The sound is crisp and loud"},
    ]
    base = evaluate(rows, embed)
    gated = evaluate(rows, embed, select=gated_reader_select(Reader(Head.load(WEIGHTS), embed), embed))
    assert gated["answerable_answered"] == base["answerable_answered"]
    assert gated["unanswerable_abstained"] == base["unanswerable_abstained"]
    assert 0.0 <= gated["answerable_hit"] <= gated["answerable_answered"]
