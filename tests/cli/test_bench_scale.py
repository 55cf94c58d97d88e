"""`bench scale` on a tiny catalog scaled from real Icecat items: every product ingested, the
replicas' vectors near their originals as calibrated, search and chat timed without errors."""

from __future__ import annotations

import random

import numpy as np
import pytest

from shopassist.capacity import ReusedVectors, bench_scale, tag_title, untag
from shopassist.settings import Settings


def test_a_replica_title_untags_to_its_original():
    rng = random.Random(1)
    for title in ("Xerox 006R90321 toner cartridge", "HP [EU] adapter", "Intel card."):
        tagged = tag_title(title, 7, rng)
        assert tagged != title and untag(tagged) == title
        assert untag(f"{tagged}. Intel. Networking") == f"{title}. Intel. Networking"


def test_reused_vectors_are_the_originals_plus_the_noise_asked_for():
    rng = np.random.default_rng(0)
    base = {f"title {i}": (v := rng.normal(size=384)) / np.linalg.norm(v) for i in range(50)}
    sigma = 0.0125
    emb = ReusedVectors(model=None, vectors=base, sigma=sigma)
    originals = emb.encode(list(base))
    assert np.allclose(originals, np.stack(list(base.values())), atol=1e-6)  # an original is its own vector
    tagged = emb.encode([tag_title(t, 1, random.Random(i)) for i, t in enumerate(base)])
    cos = np.sum(originals * tagged, axis=1)
    expected = 1 / np.sqrt(1 + 384 * sigma**2)  # the expected cosine calibrate() inverts
    assert abs(cos.mean() - expected) < 0.01 and np.allclose(np.linalg.norm(tagged, axis=1), 1, atol=1e-5)
    again = emb.encode([tag_title(t, 1, random.Random(i)) for i, t in enumerate(base)])
    assert np.array_equal(tagged, again)  # seeded by the text: a rerun ingests the same vectors


@pytest.mark.slow
def test_bench_scale_on_a_tiny_catalog(tmp_path):
    s = Settings(data_dir=tmp_path / "data", llm_backend="scripted")
    r = bench_scale(s, 600, base=150, queries=5, turns=1, shoppers=(1, 2), workdir=tmp_path / "work", calibration_pairs=16)
    assert r["products"] == r["ingest"]["added"] == 600
    assert r["base"]["texts"] <= 150 and r["ingest"]["encoded_for_real"] < 600 // 10  # the replicas reused vectors
    assert 0.8 < r["calibration"]["mean_cosine_tagged_vs_original"] < 1.0 and r["calibration"]["sigma"] > 0
    assert r["filtered_search"]["queries"] == 5 and r["filtered_search"]["p95_ms"] >= r["filtered_search"]["p50_ms"] > 0
    for n in ("1", "2"):
        assert r["chat"][n]["turns"] == int(n) and r["chat"][n]["errors"] == 0 and r["chat"][n]["leaks"] == 0
    assert r["rss_mb"]["peak"] >= r["rss_mb"]["after_search"] > 0
