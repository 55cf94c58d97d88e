"""Next-item full ranking on a real subset of the Scientific split: the split's convention, the
peers' ranks recomputed by hand from the data, the random expectation, the blend chosen on validation."""

from collections import Counter

import numpy as np
import pytest

from ranker.metrics import random_ndcg, random_recall
from tests.conftest import dataset

SCI = "amazon_reviews_2018_scientific_seqrec_unisrec"


@pytest.fixture(scope="module")
def sci():
    from ranker.nextitem import read_seqrec

    return read_seqrec(dataset(SCI))


def test_split_follows_the_datasets_own_convention(sci):
    # PROVENANCE: test target = last item, valid = second-to-last, train = every earlier item
    assert len(sci.items) == 4385 and len(sci.sequences) == 8442
    assert len(sci.train_events()) == sum(len(s) - 2 for s in sci.sequences.values())
    u, seq = next(iter(sci.sequences.items()))
    assert sci.split("test")[0] == (u, seq[:-1], seq[-1]) and sci.split("val")[0] == (u, seq[:-2], seq[-2])


def test_bad_folder_is_a_clear_error(tmp_path):
    from ranker.nextitem import read_seqrec

    with pytest.raises(FileNotFoundError, match="not a sequential-recommendation folder"):
        read_seqrec(tmp_path)


def test_nextitem_table_on_a_real_subset(sci):
    from ranker.nextitem import evaluate_nextitem, full_ranks

    small = sci.subset_users(300)
    report = evaluate_nextitem(small, sasrec_epochs=1)
    n = len(small.items)
    t = report["test"]
    assert t["random"]["ndcg@10"] == pytest.approx(round(random_ndcg(n, 10), 5))
    assert t["random"]["recall@20"] == pytest.approx(round(random_recall(n, 20), 5))
    assert {"popularity", "item_knn", "transitions", "als", "sasrec", "text", "ours"} <= set(t["methods"])
    for m in t["methods"].values():
        lo, hi = m["ndcg@10_ci95"]
        assert 0 <= lo <= m["ndcg@10"] <= hi <= 1 and m["recall@10"] <= m["recall@20"]
    # popularity's recall@10 recomputed by hand: training counts, ties against the target
    counts = Counter(i for _, i, _ in small.train_events())
    pop = np.asarray([counts.get(i, 0) for i in small.items], float)
    col = {i: k for k, i in enumerate(small.items)}
    rows = small.split("test")
    ranks = full_ranks(np.tile(pop, (len(rows), 1)), np.asarray([col[x] for _, _, x in rows]))
    assert t["methods"]["popularity"]["recall@10"] == pytest.approx(float(np.mean(ranks <= 10)), abs=1e-4)
    # the blend is chosen on validation and its grid holds text alone (0/0): it cannot be worse there
    blend = report["notes"]["ours_blend"]
    assert max(blend["val_ndcg@10_by_item_knn/transitions_weight"].values()) >= \
        blend["val_ndcg@10_by_item_knn/transitions_weight"]["0/0"] == pytest.approx(report["val"]["methods"]["text"]["ndcg@10"], abs=1e-4)
    assert report["val"]["methods"]["ours"]["ndcg@10"] == pytest.approx(max(blend["val_ndcg@10_by_item_knn/transitions_weight"].values()),
                                                                        abs=1e-4)
    assert set(t["ours_minus_ndcg@10"]) == set(t["methods"]) - {"ours"}


def test_sasrec_batched_scores_are_cornacs_own(sci):
    from ranker.nextitem import SASRecScorer

    small = sci.subset_users(200)
    s = SASRecScorer(small, epochs=1)
    hist = [h for _, h, _ in small.split("test")[:6]]
    batched = s.scores(hist)
    imap = s.train.iid_map
    cols = np.asarray([imap.get(i, -1) for i in small.items])
    for r, h in enumerate(hist):
        own = np.asarray(s.model.score(0, [imap[i] for i in h if i in imap]))[: len(imap)]
        known = cols >= 0
        assert batched[r][known] == pytest.approx(own[cols[known]], abs=1e-4)
        assert np.all(np.isneginf(batched[r][~known]))  # an item outside training cannot be recommended by ids
