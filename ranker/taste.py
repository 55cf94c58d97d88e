"""The personal taste term: per-user kernel ridge on the user's own bias residuals.

The two-tower head sees the user as one pooled vector, and on small catalogs it learns
little more than the biases: every shopper gets the same ordering shifted by a constant.
The taste term fits, per user, what their OWN ratings say beyond the biases:

    y_j   = r_uj - mu - b_j                       rated item j's offset from the item prior
    b_u   = sum_j y_j / (n_u + reg)               the user's shrunk offset (as the bias model)
    e_j   = y_j - b_u                             what b_u does not explain
    x     = [item encoding, z(log1p price)]       the ranker's pooled item vector (+ price if known)
    a     = (K + alpha I)^-1 e,   K = X X^T       ridge in dual form: an n_u x n_u solve per user
    taste(x) = weight * sum_j a_j (x_j . x)       added to the model's predicted stars

In dual form the prediction is a sum over the user's rated items, so each term
``weight * a_j * (x_j - m) . (x - m)`` is a truthful attribution: "like the X you rated 5★" (similar to an
item the user rated above what b_u predicts), "unlike the Y you rated 2★" (dissimilar to one they
rated below it). ``alpha`` and ``weight`` are chosen on validation ratings only (``tune``).
No torch, no I/O here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

ALPHAS = (0.3, 1.0, 3.0, 10.0, 30.0)  # from "trust 3 close ratings" to "almost nothing"; the lead's prototype: 1.0
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)  # 0 = off (the model alone): chosen when the term does not help on validation


@dataclass(frozen=True)
class TasteParams:
    """What ``tune`` chose on validation; weight 0 switches the term off."""

    alpha: float = 1.0
    weight: float = 0.0
    price_mean: float = 0.0  # log1p price statistics over the training items (z-score)
    price_std: float = 1.0

    def to_dict(self) -> dict:
        return {"alpha": self.alpha, "weight": self.weight, "price_mean": self.price_mean, "price_std": self.price_std}

    @classmethod
    def from_dict(cls, d: dict | None) -> "TasteParams":
        return cls(**{k: float(v) for k, v in (d or {}).items() if k in cls.__dataclass_fields__})


def price_stats(prices) -> tuple[float, float]:
    """(mean, std) of log1p price over the known prices; (0, 1) when none.

    >>> [round(x, 4) for x in price_stats([None, 9.0, 99.0])]  # log(10), log(100): mean 3.4539, std 1.1513
    [3.4539, 1.1513]
    """
    xs = np.log1p([float(p) for p in prices if p is not None and p > 0])
    if len(xs) < 2 or xs.std() == 0:
        return 0.0, 1.0
    return float(xs.mean()), float(xs.std())


def design(P: np.ndarray, prices, params: TasteParams) -> np.ndarray:
    """Rows [item encoding, z(log1p price)] (z = 0 where the price is unknown).

    >>> design(np.zeros((2, 2)), [None, math.e - 1], TasteParams(price_mean=0.0, price_std=2.0)).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.5]]
    """
    z = [(math.log1p(p) - params.price_mean) / params.price_std if p is not None and p > 0 else 0.0 for p in prices]
    return np.column_stack([np.asarray(P, float), np.asarray(z, float)])


def user_residuals(stars, item_bias, mu: float, reg: float) -> np.ndarray:
    """e_j = r_j - mu - b_j - b_u with b_u = sum(r - mu - b) / (n + reg) (module docstring).

    >>> user_residuals([5.0, 3.0], [0.0, 0.0], 4.0, 2.0).tolist()
    [1.0, -1.0]
    """
    y = np.asarray(stars, float) - mu - np.asarray(item_bias, float)
    return y - y.sum() / (len(y) + reg)


@dataclass
class Taste:
    """One user's fitted term: their rated items' rows X, dual coefficients a, the weight."""

    X: np.ndarray  # the rated items' rows, centred on their mean ``center``
    a: np.ndarray
    weight: float
    labels: list = field(default_factory=list)  # per rated item, e.g. (title, stars), for explanations
    center: np.ndarray | None = None

    @classmethod
    def fit(cls, X: np.ndarray, resid: np.ndarray, alpha: float, weight: float, labels=None) -> "Taste":
        """Kernel ridge in dual form on rows centred on the user's mean rated item:
        a = (Xc Xc^T + alpha I)^-1 e,  Xc = X - mean(X).

        Centring removes what all item encodings share (MiniLM vectors of any two products have
        cosine ~0.3-0.6), which would otherwise make every rated item "similar" to every candidate
        and the term a second user bias (measured on the demo catalog, BENCHMARKS.md ranker section).

        >>> t = Taste.fit(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1.0, -1.0]), alpha=2.0, weight=1.0)
        >>> t.a.round(4).tolist(), t.predict(np.array([[1.0, 0.0]])).round(4).tolist()  # K = [[2, -2], [-2, 2]]
        ([0.25, -0.25], [0.5])
        """
        X = np.asarray(X, float)
        center = X.mean(0) if len(X) else np.zeros(X.shape[1])
        X = X - center
        a = np.linalg.solve(X @ X.T + alpha * np.eye(len(X)), np.asarray(resid, float)) if len(X) else np.zeros(0)
        return cls(X, a, float(weight), list(labels or []), center)

    def contributions(self, Xc: np.ndarray) -> np.ndarray:
        """[len(Xc), n_rated] stars each rated item adds: weight * a_j * k(x_j, x); rows sum to ``predict``.
        k is the centred similarity (x_j - m) . (x - m); its sign says "like" (> 0) or "unlike"."""
        if not len(self.a) or not self.weight:
            return np.zeros((len(Xc), len(self.a)))
        return self.weight * ((np.asarray(Xc, float) - self.center) @ self.X.T) * self.a[None, :]

    def predict(self, Xc: np.ndarray) -> np.ndarray:
        """Stars to add per candidate row."""
        return self.contributions(Xc).sum(1)


def tune(rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]], base_pred: np.ndarray, true: np.ndarray,
         alphas=ALPHAS, weights=WEIGHTS) -> tuple[float, float, dict]:
    """(alpha, weight, grid of RMSEs) with the lowest RMSE of clip(base + taste) on VALIDATION rows.

    ``rows[i]`` = (X of the user's ratings before validation rating i, their residuals e, x of
    the validation item [1, d]); ``base_pred`` the model's stars for those ratings.
    Ties keep the smaller weight (weight 0 = the model alone wins a tie).
    """
    base_pred, true = np.asarray(base_pred, float), np.asarray(true, float)
    grid, best = {}, (float("inf"), 1.0, 0.0)
    for alpha in alphas:
        t = np.asarray([Taste.fit(X, e, alpha, 1.0).predict(x)[0] if len(X) else 0.0 for X, e, x in rows])
        for w in weights:
            r = float(np.sqrt(np.mean((np.clip(base_pred + w * t, 1, 5) - true) ** 2)))
            grid[f"{alpha:g}/{w:g}"] = round(r, 4)
            if r < best[0] - 1e-9:
                best = (r, alpha, w)
    return best[1], best[2], grid
