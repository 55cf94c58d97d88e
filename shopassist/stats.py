"""Interval and power math for the A/B report and the exposure report: pure, no I/O, stdlib only.

Two arms' proportions (card click-through, thumbs-up rate) get Wilson score intervals and
Newcombe's interval of their difference; per-conversation means (add-to-cart per conversation)
get normal intervals. ``n_two_proportions`` / ``n_two_means`` say how many units per arm a
two-sided test at ``ALPHA`` needs to see the observed difference with ``POWER``. ``gini`` is the
inequality of exposure over a catalog.
"""

from __future__ import annotations

import math
from statistics import NormalDist

ALPHA = 0.05  # two-sided: the 95 % intervals everywhere in the reports
POWER = 0.80  # the usual planning power: a real difference of the observed size is seen 4 times in 5
Z = NormalDist().inv_cdf(1 - ALPHA / 2)  # 1.959964...


def wilson(successes: int, n: int, z: float = Z) -> tuple[float, float]:
    """Wilson score interval of a proportion (Wilson 1927); (0, 1) when n is 0.

        centre = (p + z²/2n) / (1 + z²/n),  half = z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)

    Unlike p ± z·sqrt(p(1-p)/n) it stays inside [0, 1] and is not empty at 0 or n successes.

    >>> [round(x, 4) for x in wilson(8, 10)]
    [0.4902, 0.9433]
    >>> [round(x, 4) for x in wilson(0, 20)]
    [0.0, 0.1611]
    """
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe(s1: int, n1: int, s2: int, n2: int, z: float = Z) -> tuple[float, float]:
    """Interval of p2 - p1 from the two Wilson intervals (Newcombe 1998, method 10).

        d = p2 - p1;  lower = d - sqrt((p2 - l2)² + (u1 - p1)²);  upper = d + sqrt((u2 - p2)² + (p1 - l1)²)

    Newcombe's worked example 56/70 vs 48/80: p1 - p2 = 0.2, interval (0.0524, 0.3339); here the
    arms are the other way round:

    >>> [round(x, 4) for x in newcombe(56, 70, 48, 80)]
    [-0.3339, -0.0524]
    """
    if n1 <= 0 or n2 <= 0:
        return (-1.0, 1.0)
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson(s1, n1, z)
    l2, u2 = wilson(s2, n2, z)
    d = p2 - p1
    return (d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2))


def _z_beta(power: float) -> float:
    return NormalDist().inv_cdf(power)


def n_two_proportions(p1: float, p2: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Units per arm a two-sided two-proportion z-test needs to detect p1 vs p2 (Fleiss, no
    continuity correction); None when the difference is 0 (no sample size sees it).

        n = (z_(1-a/2)·sqrt(2·pbar·(1-pbar)) + z_(power)·sqrt(p1(1-p1) + p2(1-p2)))² / (p1 - p2)²

    >>> n_two_proportions(0.10, 0.15)
    686
    >>> n_two_proportions(0.3, 0.3) is None
    True
    """
    if p1 == p2:
        return None
    za, zb = NormalDist().inv_cdf(1 - alpha / 2), _z_beta(power)
    pbar = (p1 + p2) / 2
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(num * num / (p1 - p2) ** 2)


def mean_ci(values: list[float], z: float = Z) -> tuple[float, float, float]:
    """(mean, lower, upper): the normal interval mean ± z·s/sqrt(n) (s the sample sd, n - 1);
    by hand below: s² = 2/3, half = 1.96·sqrt(2/3 / 4) = 0.8002.

    >>> [round(x, 4) for x in mean_ci([0, 1, 2, 1])]
    [1.0, 0.1998, 1.8002]
    """
    n = len(values)
    if n == 0:
        return (0.0, 0.0, 0.0)
    m = sum(values) / n
    if n == 1:
        return (m, m, m)
    half = z * math.sqrt(_var(values, m) / n)
    return (m, m - half, m + half)


def _var(values: list[float], m: float) -> float:
    return sum((v - m) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0


def diff_means_ci(a: list[float], b: list[float], z: float = Z) -> tuple[float, float, float]:
    """(mean(b) - mean(a), lower, upper): Welch's normal interval sqrt(s_a²/n_a + s_b²/n_b).

    >>> [round(x, 4) for x in diff_means_ci([0, 1, 2, 1], [1, 2, 3, 2])]
    [1.0, -0.1316, 2.1316]
    """
    if not a or not b:
        return (0.0, 0.0, 0.0)
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    half = z * math.sqrt(_var(a, ma) / len(a) + _var(b, mb) / len(b))
    return (mb - ma, mb - ma - half, mb - ma + half)


def n_two_means(a: list[float], b: list[float], alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Units per arm a two-sided z-test of two means needs to detect the observed difference with the
    pooled observed variance: n = 2·(z_(1-a/2) + z_(power))²·s² / d²; None when d is 0.

    >>> n_two_means([0, 1, 2, 1], [1, 2, 3, 2])
    11
    """
    if len(a) < 2 or len(b) < 2:
        return None
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    if ma == mb:
        return None
    s2 = ((len(a) - 1) * _var(a, ma) + (len(b) - 1) * _var(b, mb)) / (len(a) + len(b) - 2)
    za, zb = NormalDist().inv_cdf(1 - alpha / 2), _z_beta(power)
    return math.ceil(2 * (za + zb) ** 2 * s2 / (mb - ma) ** 2)


def gini(counts: list[float]) -> float:
    """Gini coefficient of non-negative counts: 0 = every item equally exposed, (n-1)/n = one item
    has it all. Sorted ascending x_1..x_n:  G = sum_i (2i - n - 1)·x_i / (n·sum x).

    Items never shown count as zeros, so pass the whole catalog, not only what was shown.

    >>> gini([1, 1, 1, 1])
    0.0
    >>> gini([0, 0, 0, 4])
    0.75
    >>> round(gini([1, 2, 3]), 4)
    0.2222
    """
    xs = sorted(float(c) for c in counts)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    return sum((2 * i - n - 1) * x for i, x in enumerate(xs, 1)) / (n * total)
