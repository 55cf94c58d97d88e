"""The rating model's inputs, shared by training and serving: pooled user/item towers and the
six bias features, as arrays.

A user is the signed mean of their history units' encodings (liked +, disliked -,
``user_weight``); an item the plain mean of its units (metadata, then review snippets). The bias
features are ``ranker.model.bias_features`` per row; ``make_cold`` turns a side of a row into a
cold user/item (bias and count 0, cold flag 1), as cold-start dropout trains and serving does for a
user without history. Serving (``ranker.serve``) imports this module, never ``ranker.train``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ranker.baselines import BiasModel
from ranker.data import Example
from ranker.model import RatingModel, bias_features, to_unit


def user_weight(stars: float) -> float:
    """Signed weight of a history item in the user vector: liked +, disliked -.

    >>> user_weight(5.0), user_weight(3.0), user_weight(1.0)
    (1.0, 0.0, -1.0)
    """
    return (float(stars) - 3.0) / 2.0


def pool_user(emb: dict, units: list[tuple[str, float]], dim: int) -> np.ndarray:
    if not units:
        return np.zeros(dim, np.float32)
    return (sum(user_weight(s) * emb[t] for t, s in units) / len(units)).astype(np.float32)


def pool_item(emb: dict, units: list[str], dim: int) -> np.ndarray:
    if not units:
        return np.zeros(dim, np.float32)
    return (sum(emb[t] for t in units) / len(units)).astype(np.float32)


@dataclass
class Features:
    """Arrays for a list of examples: pooled towers, bias features, base, target."""

    U: np.ndarray
    P: np.ndarray
    feats: np.ndarray
    y: np.ndarray  # target in [0, 1]


def bias_rows(bias: BiasModel, examples: list[Example], cold_user: bool = False) -> np.ndarray:
    rows = []
    for e in examples:
        bu = 0.0 if cold_user else bias.user_bias(e.user)
        nu = 0 if cold_user else bias.n_user.get(e.user, 0)
        rows.append(bias_features(bu, bias.item_bias(e.item), nu, bias.n_item.get(e.item, 0)))
    return np.asarray(rows, np.float32)


def featurize(model: RatingModel, bias: BiasModel, examples: list[Example], cold_user: bool = False, progress: bool = False,
              feat_rows: np.ndarray | None = None) -> Features:
    """Encode every distinct unit once (cached in the model) and pool per example."""
    texts = list(dict.fromkeys([t for e in examples for t, _ in e.user_units] + [t for e in examples for t in e.item_units]))
    vecs = model.embed(texts, progress=progress)
    emb = dict(zip(texts, vecs))
    dim = model.encoder.dim
    U = np.stack([np.zeros(dim, np.float32) if cold_user else pool_user(emb, e.user_units, dim) for e in examples])
    P = np.stack([pool_item(emb, e.item_units, dim) for e in examples])
    feats = bias_rows(bias, examples, cold_user) if feat_rows is None else feat_rows
    return Features(U, P, feats, np.asarray([to_unit(e.stars) for e in examples], np.float32))


def predict_features(model: RatingModel, f: Features) -> np.ndarray:
    return model.combine(f.feats, model.residual(f.U, f.P, f.feats))


USER_COLS, ITEM_COLS = (0, 2, 4), (1, 3, 5)  # (bias, log count, cold flag) of each side in ``bias_features``


def make_cold(feats: np.ndarray, rows, cols: tuple[int, int, int]) -> None:
    b, n, flag = cols
    feats[rows, b], feats[rows, n], feats[rows, flag] = 0.0, 0.0, 1.0


def drop_cold(f: Features, rng, user_p: float, item_p: float) -> Features:
    """Copy with random rows turned into cold users (no text, no bias) / cold items (no item bias)."""
    U, feats = f.U.copy(), f.feats.copy()
    du = rng.random(len(U)) < user_p
    di = rng.random(len(U)) < item_p
    U[du] = 0.0
    make_cold(feats, du, USER_COLS)
    make_cold(feats, di, ITEM_COLS)
    return Features(U, f.P, feats, f.y)


def as_cold_items(f: Features) -> Features:
    """Copy with every row's item made cold: its bias and rating count removed, its text kept."""
    feats = f.feats.copy()
    make_cold(feats, slice(None), ITEM_COLS)
    return Features(f.U, f.P, feats, f.y)
