"""Is personalisation visible? The served ranker with its taste term off vs on, in one process,
on an ingested catalog (``shopassist ranker eval-taste``).

- ``prequential_rmse``: every rating of the named users from position 3 on, predicted from that
  user's EARLIER ratings only (the served path: ``UserContext`` with history + rated ids). The
  catalog aggregates behind b_i still include the rating (the same for both sides).
- visibility, per query the same hits for every user: mean Kendall tau between two users'
  predicted stars (1 = one ordering shifted by a constant), the share of user pairs whose top-4
  by predicted stars differ, and the queries where any pair's top-4 differ.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from ranker.scoring import UserContext

QUERIES = ("headphones", "coffee maker", "running shoes", "kettle", "backpack", "desk lamp", "yoga mat", "speaker")


def kendall_tau(a, b) -> float:
    """Kendall tau-b between two score vectors (scipy's), NaN when one is constant.

    >>> kendall_tau([1, 2, 3], [2, 4, 6]), kendall_tau([1, 2, 3], [3, 2, 1])
    (1.0, -1.0)
    """
    from scipy.stats import kendalltau  # scipy loads slowly; only this study needs it

    return float(kendalltau(a, b).statistic)


def prequential_rmse(rk, store, users: list[str], start: int = 3) -> tuple[float, int, dict]:
    errs, per_user = [], {}
    for u in users:
        revs = store.reviews_by_user(u)
        prods = {p.id: p for p in store.get_many(list(dict.fromkeys(r.product_id for r in revs)))}
        eu = []
        for k in range(start, len(revs)):
            if revs[k].product_id not in prods:
                continue
            earlier = [r for r in revs[:k] if r.product_id in prods]
            ctx = UserContext(u, [(prods[r.product_id].title, float(r.rating)) for r in earlier], [], [],
                              [(r.product_id, float(r.rating)) for r in earlier])
            eu.append(rk.score(ctx, [prods[revs[k].product_id]], explain=False)[0].stars - revs[k].rating)
        if eu:
            per_user[u] = round(float(np.sqrt(np.mean(np.square(eu)))), 4)
            errs += eu
    return (float(np.sqrt(np.mean(np.square(errs)))) if errs else float("nan")), len(errs), per_user


def visibility(rk, contexts: dict, hits: dict) -> dict:
    taus, differ, any_differ = [], [], 0
    for products in hits.values():
        st = {u: np.array([p.stars for p in rk.score(ctx, products, explain=False)]) for u, ctx in contexts.items()}
        top4 = {u: frozenset(np.argsort(-s, kind="stable")[:4].tolist()) for u, s in st.items()}
        pairs = list(itertools.combinations(contexts, 2))
        taus += [kendall_tau(st[a], st[b]) for a, b in pairs]
        d = [top4[a] != top4[b] for a, b in pairs]
        differ += d
        any_differ += any(d)
    return {"mean_kendall_tau_between_users": round(float(np.nanmean(taus)), 3) if taus else None,
            "share_user_pairs_top4_differ": round(float(np.mean(differ)), 3) if differ else None,
            "queries_where_top4_differ": any_differ, "queries": len(hits)}


def compare(rk, store, search, users: list[str], queries=QUERIES, k: int = 12) -> dict:
    """Taste term off (weight 0) vs as trained, side by side. ``search(query, k)`` -> products."""
    on = rk.taste
    hits = {q: search(q, k) for q in queries}
    contexts = {u: rk.user_context(store, u) for u in users}
    out = {"version": rk.version, "taste_params": on.to_dict(), "users": users, "k": k}
    try:
        for label, params in (("no_taste", dataclasses.replace(on, weight=0.0)), ("taste", on)):
            rk.taste, rk._taste_fits = params, {}
            rmse, n, per_user = prequential_rmse(rk, store, users)
            out[label] = {"prequential_rmse": round(rmse, 4), "n": n, "per_user": per_user, **visibility(rk, contexts, hits)}
    finally:
        rk.taste, rk._taste_fits = on, {}
    return out
