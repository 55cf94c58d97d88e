"""The learning arm's knobs on the VALIDATION replay only (issue 16; BENCHMARKS.md, "Choosing the
learning arm's knobs without the test period"): a fast proxy of the learning arm's blend.

Validation replay: MI 2014, all users, history before the 0.3 quantile of rating times, reactions up
to the 0.5 quantile (the standard cutoff), never after it. The proxy keeps the stars of one version
trained on that history fixed (no refitted biases, no learning job: both barely move the order, as
the full runs' records show) and replays what the learning arm does to its co-ratings and popularity
from its own cards, so that a grid of variants costs seconds instead of a full run each:

    (w, c, slot): a learned click adds w to the item's popularity (an ignored card costs 0.2 w) and
    makes the shopper one of its raters (w > 0); c x z(per-item click-through, clicks + 5 p0 over
    shows + 5) joins the blend; slot: the new-item exploration slot of ``explore_top_k``.

Metric: CTR over rounds 2-5 (the rounds after the first learning step), per validation seed and the
mean, next to the frozen blend (0, 0, False). Run from the repo root after a validation run left its
v0001 (``shopassist simulate ... --cutoff 0.3 --horizon 0.5 --seed 0 --workdir WORK``)::

    python benchmarks/results/replay_validation_proxy.py WORK
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from ranker import data as D
from ranker.blend import DISLIKED, CoRatings, zscore
from ranker.replay import EXPLORE_SHOWS, IMPRESSION_WEIGHT, ItemText, SimConfig, _load, build_replay, explore_top_k, model_scores, outcome, top_k
from shopassist.settings import Settings

MI = "../shared/datasets/amazon_reviews_2014_musical_instruments_5core"
VARIANTS = [(0, 0, False), (0, 0, True), (1, 0, True), (3, 0, True), (1, 1, True), (1, 2, True), (3, 2, True), (1, 2, False)]


def replay_variant(rep, stars, w: float, c: float, slot: bool) -> list[int]:
    """Clicks per session of rounds 2.. for one variant (module docstring)."""
    hist = list(rep.history.ratings)
    known = {r.item for r in hist}
    co = CoRatings.from_pairs((r.user, r.item) for r in hist)
    counts = Counter({k: float(x) for k, x in Counter(r.item for r in hist).items()})
    shows, clicks, out = Counter(), Counter(), []
    for rnd, (batch, sts) in enumerate(zip(rep.batches, stars)):
        cards, p0 = [], (sum(clicks.values()) + 1) / (sum(shows.values()) + 10)
        for s, sv in zip(batch, sts):
            own = [rep.history.ratings[k].item for k in rep.history.user_sequence(s.shopper) if rep.history.ratings[k].stars > DISLIKED]
            knn, _ = co.scores(own, s.candidates, exclude_user=s.shopper)
            score = zscore(sv) + 4 * zscore(knn) + 2 * zscore([counts.get(i, 0) for i in s.candidates])
            if c:
                score = score + c * zscore([(clicks[i] + 5 * p0) / (shows[i] + 5) for i in s.candidates])
            if slot:
                unexplored = [i not in known and not clicks[i] and shows[i] < EXPLORE_SHOWS for i in s.candidates]
                pos = explore_top_k(score, s.tiebreak, 5, unexplored, sv)
            else:
                pos = top_k(score, s.tiebreak, 5)
            shown = [s.candidates[p] for p in pos]
            if rnd >= 1:
                out.append(outcome(shown, s.later)["click"])
            cards += [(s.shopper, i, i in s.later) for i in shown]
        for user, item, hit in cards:
            shows[item] += 1
            clicks[item] += hit
            if w and hit:
                co.add(user, item)
                counts[item] += w
            elif w:
                counts[item] -= IMPRESSION_WEIGHT * w
    return out


def ceiling(rep) -> dict:
    """What knowing the period's trend would be worth: CTR of every session (top 5) ordered by the
    history's rating counts alone, and by those plus every other shopper's ratings in the replayed
    period (the shopper's own left out): far more than a learning arm sees through its cards."""
    hist = Counter(r.item for r in rep.history.ratings)
    sessions = [s for b in rep.batches for s in b]
    period = Counter(i for s in sessions for i in s.later)

    def ctr(score) -> float:
        return round(float(np.mean([outcome([s.candidates[p] for p in top_k([score(s, i) for i in s.candidates], s.tiebreak, 5)],
                                            s.later)["click"] for s in sessions])), 4)

    return {"history_counts": ctr(lambda s, i: hist[i]),
            "history_plus_period_others": ctr(lambda s, i: hist[i] + period[i] - (i in s.later)),
            "learning_arm_sees": "only the clicks on the cards it shows"}


def main(work: Path) -> dict:
    data = D.read_dataset(Path(MI))
    settings = Settings().model_copy(update={"data_dir": work})
    model = _load(work / "models" / "ranker" / "v0001", settings)
    res: dict = {str(v): [] for v in VARIANTS}
    ceilings = []
    for seed in (0, 1, 2):
        rep = build_replay(data, SimConfig(users=len(data.users()), cutoff=0.3, horizon=0.5, seed=seed))
        ceilings.append(ceiling(rep))
        text = ItemText(rep.history, rep.cutoff)
        stars = [model_scores(model, list(rep.history.ratings), text, b) for b in rep.batches]
        for v in VARIANTS:
            res[str(v)].append(round(float(np.mean(replay_variant(rep, stars, *v))), 4))
    base = np.mean(res[str(VARIANTS[0])])
    return {"variants": "(click weight w, per-item CTR weight c, new-item slot)", "ctr_rounds_2_5_per_seed": res,
            "mean_minus_frozen": {k: round(float(np.mean(v) - base), 4) for k, v in res.items()},
            "popularity_ceiling_per_seed": ceilings}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
