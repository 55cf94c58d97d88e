"""Do behavioural "as-of" features close the MI test gap? A gradient-boosted residual over an
as-of bias model, no text. Prints one line per setting: validation and test RMSE.

Each rating (u, i, t) gets features computed only from what existed before it: for the user, their
earlier ratings (count, mean, std, last, mean of last 3, share of 5 stars, minimum, days since the
previous and the first rating, mean review length); for the item, OTHER users' ratings with a
timestamp strictly below t, from any split (count, mean, std, share of 5 stars, minimum, age, mean
review length, mean of the last 3); the as-of global mean and shrunk biases (lambda 3 user, 5 item).
A HistGradientBoostingRegressor learns the residual over the as-of bias prediction on TRAIN targets
(all, or only those with >= 2 earlier user ratings), is read on validation and test.

Produced the "as-of behavioural features" row of BENCHMARKS.md, "Ranker benchmarks" > "11. The
RMSE goal on the test position". Command (from the repo root, ~1 min on 2 cores):

    .venv/bin/python benchmarks/studies/ranker_asof_features.py
"""
from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from _common import dataset, repo_on_path

MI = "amazon_reviews_2014_musical_instruments_5core"


def features(data, lam_u: float = 3.0, lam_i: float = 5.0) -> dict[int, list[float]]:
    R = data.ratings
    order = sorted(range(len(R)), key=lambda k: (R[k].ts, R[k].order))
    user_hist, item_hist, seen, pending, out = defaultdict(list), defaultdict(list), [], [], {}
    cur_ts = None
    nan = np.nan
    for k in order:
        r = R[k]
        if r.ts != cur_ts:  # others' same-day ratings are not "strictly before"
            for j in pending:
                item_hist[R[j].item].append((R[j].ts, R[j].stars, len(R[j].text), R[j].user))
                seen.append(R[j].stars)
            pending, cur_ts = [], r.ts
        mu = float(np.mean(seen)) if seen else 4.5
        uh = user_hist[r.user]
        ih = [x for x in item_hist[r.item] if x[3] != r.user]
        us, ist = np.array([x[1] for x in uh]), np.array([x[1] for x in ih])
        nu, ni = len(us), len(ist)
        bu = (us - mu).sum() / (nu + lam_u) if nu else 0.0
        bi = (ist - mu).sum() / (ni + lam_i) if ni else 0.0
        out[k] = [mu, nu, ni, bu, bi, mu + bu + bi,
                  us.mean() if nu else nan, us.std() if nu > 1 else nan, us[-1] if nu else nan, us[-3:].mean() if nu else nan,
                  (us == 5).mean() if nu else nan, us.min() if nu else nan,
                  (r.ts - uh[-1][0]) / 86400 if nu else nan, (r.ts - uh[0][0]) / 86400 if nu else nan,
                  np.mean([x[2] for x in uh]) if nu else nan,
                  ist.mean() if ni else nan, ist.std() if ni > 1 else nan, (ist == 5).mean() if ni else nan, ist.min() if ni else nan,
                  (r.ts - ih[0][0]) / 86400 if ni else nan, np.mean([x[2] for x in ih]) if ni else nan, ist[-3:].mean() if ni else nan]
        user_hist[r.user].append((r.ts, r.stars, len(r.text)))
        pending.append(k)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default=str(dataset(MI)))
    args = ap.parse_args()
    repo_on_path()
    from sklearn.ensemble import HistGradientBoostingRegressor

    from ranker.data import read_dataset

    data = read_dataset(args.dataset)
    F = features(data)

    def xy(idx):
        return np.array([F[k] for k in idx], float), np.array([data.ratings[k].stars for k in idx])

    def rmse(p, y):
        return float(np.sqrt(np.mean((np.clip(p, 1, 5) - y) ** 2)))

    (Xtr, ytr), (Xva, yva), (Xte, yte) = xy(data.train), xy(data.val), xy(data.test)
    print(f"as-of bias alone            val {rmse(Xva[:, 5], yva):.4f}  test {rmse(Xte[:, 5], yte):.4f}")
    for name, m in (("all train targets", np.ones(len(ytr), bool)), ("targets with >= 2 earlier", Xtr[:, 1] >= 2)):
        for lr, it, leaf in ((0.05, 200, 40), (0.03, 300, 80), (0.05, 100, 100)):
            g = HistGradientBoostingRegressor(learning_rate=lr, max_iter=it, min_samples_leaf=leaf, max_depth=3, random_state=0)
            g.fit(Xtr[m], ytr[m] - Xtr[m, 5])
            print(f"{name:26s} lr {lr} iters {it} leaf {leaf}: val {rmse(Xva[:, 5] + g.predict(Xva), yva):.4f}  "
                  f"test {rmse(Xte[:, 5] + g.predict(Xte), yte):.4f}")


if __name__ == "__main__":
    main()
