"""The engagement loop proved offline: real shoppers replayed over several learning rounds.

Recipe (``simulate``), top to bottom:

1. replay   a seeded subsample of a rating dataset's users; one time cutoff (a quantile of their
            rating times) splits every history: ratings before it are what the shop knows when the
            replay starts, a shopper's ratings after it are their real reactions to what is shown
            (``build_replay``). Shoppers with a rating on each side are dealt into ``rounds``
            disjoint batches: each shopper has one session, so no reaction is used twice. ``deal``
            "random" (the standard design): seeded random batches, so rounds are *not* time slices
            (a round-1 shopper's later ratings may postdate a round-5 shopper's); "time": dealt by
            the time of each shopper's first later rating, earliest round first.
            ``horizon`` < 1 makes a validation replay: nothing at or after that quantile exists (no
            reaction, catalog item or negative comes from it), so knobs are chosen with
            ``cutoff=0.3, horizon=0.5`` and the standard replay (cutoff 0.5, horizon 1) is the test.
2. session  candidates = every item the shopper really rated after the cutoff + ``negatives`` items
            they never rated (seeded per shopper; the same set for every arm); an arm shows its
            top ``k``. click = a shown item the shopper really rated later; thumbs-up = a shown item
            they rated >= 4 stars (``outcome``).
3. arms     frozen: what ``load_ranker`` serves (``ranker.blend``: the version's stars + co-ratings +
            popularity, z-scored per session, the served weights) over the history, never updated;
            learning: the same at the start, then it learns after every round (``learn_from``).
            "cards": only from what it shows:
            clicks are positives (the shopper joins the item's raters in its co-ratings,
            ``click_weight`` = ``CLICK_WEIGHT`` history ratings to its popularity), impressions shown
            and not clicked weak negatives (``IMPRESSION_WEIGHT`` x that off its popularity), the thumbs go to the real learning job (``ranker.learn.learn``:
            update with replay, promoted only if not worse; written as the store would write them:
            >= 4 stars thumb_up, <= 2 thumb_down, 3 a click only) and into its user+item biases;
            and the last of its k slots explores (``explore_top_k``): the best candidate by
            predicted stars among those it has no click or rating for and has shown fewer than
            ``EXPLORE_SHOWS`` times, when none is in its top k - 1 already.
            "cards+reviews" (the main design: a shop's learning job and served blend read the store's
            reviews, not only its card clicks): the same, plus every real later rating of the round's
            shoppers as the store's new reviews, whether or not a card showed the item (a shop's new
            reviews and purchases): the reviewer joins the item's raters, the item gains one rating
            of popularity and is no longer unexplored (a rating already learned as a click on its card
            is not counted twice), and the learning job gets them all as review events with their real
            stars (instead of the card thumbs), which also enter its biases. Leakage: only earlier
            rounds' shoppers are learned from, and each shopper has one session, so a shopper's own
            later ratings are never known before their session (``own_later_known``, reported per
            round, is 0). The reviews' texts do not enter the items' text units (those stay as of the
            cutoff for every arm).
            popularity: items ordered by their rating count in the history plus the clicks it
            collected itself; popularity_live: the history's counts plus every new review of earlier
            rounds (the same reviews as cards+reviews; in either mode): a learning popularity peer, so
            learning - popularity_live is what the learned blend adds to counting new reviews;
            stars: the version's predicted stars alone, frozen (the served order
            before ``ranker.blend``: the previous record's frozen arm); frozen_explore: the frozen
            arm with the learning arm's exploration slot (its own impressions and clicks decide
            what is unexplored), so learning - frozen_explore is what learning adds beyond exploring. The model arms' stars come
            with user+item biases refitted on everything the arm knows (history + its own
            feedback), as ``ranker eval`` does; the per-user taste term is left out (validation
            turns it off on MI: BENCHMARKS.md, ranker section 10).
4. report   per round and arm: click-through and thumbs-up rate per session (any card) and per card
            (clicked / liked cards over shown cards, ``METRICS``) with 95 % bootstrap intervals over the
            round's shoppers, learning - frozen / popularity / popularity_live (and the others) with
            paired bootstrap intervals; what was known at the round's start (``known_at_start``); cold-start exposure (``cold_start``): how often items with
            no rating before the cutoff are shown in their first ``first_n`` candidate slots,
            next to established items in slots of the same relevance. Where learning gains and loses
            (``swaps``): per round, the cards only the learning arm or only the frozen arm showed and
            how many were clicked, the learning arm's by cause (a new item: exploration; an item it saw
            clicked: its learned clicks; an item it learned reviews of; else re-ordered), and the items its clicks promote most.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ranker import versions
from ranker.baselines import BiasModel
from ranker.blend import DISLIKED, WEIGHTS, CoRatings, contributions
from ranker.data import USER_HISTORY, Example, Rating, RatingData, item_units, review_unit
from ranker.features import featurize, predict_features
from ranker.model import RatingModel
from ranker.scoring import KIND_STARS
from shopassist.settings import Settings

log = logging.getLogger(__name__)

THUMBS_UP_STARS = 4.0  # a later real rating of 4-5 stars = the shopper liked what was shown
THUMBS_DOWN_STARS = 2.0  # 1-2 stars = thumb_down; 3 stars = a click without an opinion
ARMS = ("learning", "frozen", "popularity", "stars", "frozen_explore", "popularity_live")
# what the learning arm learns from after each round (``--learn-from``): "cards" = the clicks and
# ignored cards of its own sessions only; "cards+reviews" (the main design) = those plus every real
# later rating of the round's shoppers, as the store's new reviews (module docstring, step 3)
LEARN_FROM = ("cards+reviews", "cards")
# how shoppers are dealt into rounds (``--deal``): "random" = seeded random batches (rounds are not
# time slices); "time" = by the time of each shopper's first later rating, earliest round first
DEALS = ("random", "time")
# popularity a shown-and-not-clicked card costs the learning arm, in ratings: a click adds 1, so five
# ignored impressions cancel one click (k = 5 cards: one click in a session pays for the four others)
IMPRESSION_WEIGHT = 0.2
EXPLORE_SHOWS = 3  # impressions without a click after which an item no longer gets the exploration slot (not tuned)
# what one of the learning arm's own clicks counts in its popularity, in history ratings (an ignored
# card costs IMPRESSION_WEIGHT x this): fresh feedback above old history, chosen on the validation
# replay (history before the 0.3 quantile of rating times, reactions up to the 0.5 one; BENCHMARKS.md)
CLICK_WEIGHT = 1.0


@dataclass
class SimConfig:
    users: int = 500  # users subsampled (seeded): one run stays under ~10 CPU-minutes on 2 shared cores
    rounds: int = 5  # learning rounds; each has its own batch of shoppers
    cutoff: float = 0.5  # quantile of the subsample's rating times: the history the models start from
    horizon: float = 1.0  # quantile after which nothing is used (< 1: a validation replay that never sees the test period)
    negatives: int = 30  # never-rated items per session besides the shopper's later ones
    k: int = 5  # cards shown per session (the assistant shows 4-6)
    epochs: int = 2  # head epochs of the initial training and of each learning round
    max_examples: int | None = None  # cap on the initial training examples
    first_n: int = 10  # cold-start exposure: an item's first n candidate slots in the replay
    boot: int = 2000  # bootstrap resamples for every interval
    seed: int = 0
    click_weight: float = CLICK_WEIGHT  # a learned click in the learning arm's popularity, in history ratings
    learn_from: str = LEARN_FROM[0]  # "cards+reviews" or "cards" (LEARN_FROM)
    deal: str = DEALS[0]  # "random" or "time" (DEALS)


@dataclass
class Session:
    shopper: str
    candidates: list[str]  # later items first, then the sampled never-rated ones
    later: dict[str, float]  # item -> the shopper's real later rating (their reaction)
    tiebreak: np.ndarray  # the same random tie order for every arm


@dataclass
class Replay:
    history: RatingData  # ratings before the cutoff (leave-last-out split inside, for training)
    cutoff: int
    batches: list[list[Session]]
    items: list[str]  # the catalog: every item of the subsample
    new_items: set[str] = field(default_factory=set)  # no rating before the cutoff

    @property
    def shoppers(self) -> int:
        return sum(len(b) for b in self.batches)


def first_later_times(ratings: list[Rating], cutoff: int) -> dict[str, int]:
    """Each shopper's first rating time at or after the cutoff (what ``deal="time"`` orders rounds by).

    >>> first_later_times([Rating("u", "a", 5.0, 9, 0), Rating("u", "b", 4.0, 7, 1), Rating("v", "a", 3.0, 2, 2)], 5)
    {'u': 7}
    """
    out: dict[str, int] = {}
    for r in ratings:
        if r.ts >= cutoff and (r.user not in out or r.ts < out[r.user]):
            out[r.user] = r.ts
    return out


def build_replay(data: RatingData, cfg: SimConfig) -> Replay:
    """Steps 1-2 of the recipe: the subsample, the time split, the sessions of each round."""
    if cfg.learn_from not in LEARN_FROM:
        raise ValueError(f"learn_from must be one of {LEARN_FROM} (got {cfg.learn_from!r})")
    rng = np.random.default_rng(cfg.seed)
    users = data.users()
    keep = set(rng.choice(users, size=min(cfg.users, len(users)), replace=False).tolist())
    rs = [r for r in data.ratings if r.user in keep]
    if not rs:
        raise ValueError(f"{data.name}: no ratings to replay")
    times = [r.ts for r in rs]
    cutoff = int(np.quantile(times, cfg.cutoff))
    if cfg.horizon < 1:  # a validation replay: the shop as it was at the horizon; later ratings do not exist
        end = int(np.quantile(times, cfg.horizon))
        rs = [r for r in rs if r.ts < end]
    before = [Rating(r.user, r.item, r.stars, r.ts, k, r.title, r.text) for k, r in enumerate(x for x in rs if x.ts < cutoff)]
    history = RatingData(f"{data.name}[replay history: {len(keep)} users before {cutoff}]", before, dict(data.items))
    later: dict[str, dict[str, float]] = {}
    for r in rs:
        if r.ts >= cutoff:
            later.setdefault(r.user, {})[r.item] = r.stars
    rated: dict[str, set[str]] = {}
    for r in rs:
        rated.setdefault(r.user, set()).add(r.item)
    items = sorted({r.item for r in rs})
    eligible = sorted(u for u in later if history.user_sequence(u))
    if len(eligible) < cfg.rounds:
        raise ValueError(f"{data.name}: {len(eligible)} shoppers have ratings on both sides of the cutoff; "
                         f"{cfg.rounds} rounds need at least that many (raise --users or move the cutoff)")
    order = rng.permutation(len(eligible))
    if cfg.deal == "time":  # earliest first later rating first; the random order breaks ties
        first_later = first_later_times(rs, cutoff)
        order = sorted(order, key=lambda j: first_later[eligible[j]])
    elif cfg.deal != "random":
        raise ValueError(f"deal must be one of {DEALS} (got {cfg.deal!r})")
    pool = np.asarray(items)
    sessions = []
    for j in order:
        u = eligible[j]
        srng = np.random.default_rng([cfg.seed, int(j)])
        others = pool[~np.isin(pool, list(rated.get(u, ())))]
        neg = srng.choice(others, size=min(cfg.negatives, len(others)), replace=False).tolist()
        cands = sorted(later[u]) + neg
        sessions.append(Session(u, cands, later[u], srng.random(len(cands))))
    batches = [b.tolist() for b in np.array_split(np.asarray(sessions, dtype=object), cfg.rounds)]
    known = {r.item for r in before}
    return Replay(history, cutoff, batches, items, {i for i in items if i not in known})


# -- the pure parts: what an arm shows, and what the shopper does ----------------------------------


def top_k(scores, tiebreak, k: int) -> list[int]:
    """Positions of the k highest scores; ties in the given random order (never input order).

    >>> top_k([1.0, 3.0, 3.0, 2.0], [0.9, 0.8, 0.1, 0.5], 2)
    [2, 1]
    """
    return np.lexsort((np.asarray(tiebreak), -np.asarray(scores, float)))[:k].tolist()


def explore_top_k(scores, tiebreak, k: int, unexplored, prior) -> list[int]:
    """``top_k``, except that the last slot goes to the unexplored candidate with the best ``prior``
    (ties in the random order) when none is among the first k - 1 (and k > 1).

    >>> explore_top_k([5.0, 4.0, 3.0, 0.0, 0.1], [0.1] * 5, 3, [False, False, False, True, True], [1, 1, 1, 2.0, 3.0])
    [0, 1, 4]
    >>> explore_top_k([5.0, 4.0, 3.0, 0.0], [0.1] * 4, 3, [False, True, False, True], [1, 1, 1, 9.0])
    [0, 1, 2]
    """
    top = top_k(scores, tiebreak, k)
    if k < 2 or len(top) < k:
        return top
    head = top[: k - 1]
    unexplored = np.asarray(unexplored, bool)
    if unexplored[head].any() or not unexplored.any():
        return top
    cand = np.flatnonzero(unexplored)
    best = cand[top_k(np.asarray(prior, float)[cand], np.asarray(tiebreak)[cand], 1)[0]]
    return head + [int(best)]


def outcome(shown: list[str], later: dict[str, float]) -> dict:
    """One session's reaction: clicks on shown items the shopper really rated later, and whether
    one of them got >= 4 stars (a thumbs-up); per card as well (clicked or liked cards / cards shown:
    the shop's card click-through of ``shopassist report ab``, one session's share of it).

    >>> outcome(["a", "b", "c", "d"], {"b": 5.0, "c": 2.0, "z": 4.0})
    {'click': 1, 'thumbs_up': 1, 'clicks': 2, 'card_ctr': 0.5, 'card_thumbs_up': 0.25}
    >>> outcome(["a"], {"z": 5.0})
    {'click': 0, 'thumbs_up': 0, 'clicks': 0, 'card_ctr': 0.0, 'card_thumbs_up': 0.0}
    """
    hits = [i for i in shown if i in later]
    liked = sum(later[i] >= THUMBS_UP_STARS for i in hits)
    return {"click": int(bool(hits)), "thumbs_up": int(liked > 0), "clicks": len(hits),
            "card_ctr": len(hits) / len(shown) if shown else 0.0, "card_thumbs_up": liked / len(shown) if shown else 0.0}


# the engagement metrics compared between arms: (report name, ``outcome`` key). Per session: did the
# shopper click (rate >= 4) any card; per card: the share of shown cards clicked (rated >= 4)
METRICS = (("ctr", "click"), ("thumbs_up_rate", "thumbs_up"), ("card_ctr", "card_ctr"), ("card_thumbs_up", "card_thumbs_up"))


def feedback_kind(stars: float) -> str:
    """The event a real reaction becomes in the store: what ``ranker.scoring.KIND_STARS`` reads.

    >>> [feedback_kind(s) for s in (5, 4, 3, 2, 1)]
    ['thumb_up', 'thumb_up', 'click', 'thumb_down', 'thumb_down']
    """
    return "thumb_up" if stars >= THUMBS_UP_STARS else "thumb_down" if stars <= THUMBS_DOWN_STARS else "click"


def bootstrap_ci(values, n: int = 2000, seed: int = 0) -> dict:
    """Mean with a 95 % percentile bootstrap interval (rows resampled with replacement ``n`` times).

    >>> bootstrap_ci([1, 1, 1, 1])
    {'value': 1.0, 'ci95': [1.0, 1.0], 'n': 4}
    >>> r = bootstrap_ci([0, 1] * 50, n=500)
    >>> r["value"], r["ci95"][0] < 0.5 < r["ci95"][1]
    (0.5, True)
    """
    v = np.asarray(values, float)
    if v.size == 0:
        return {"value": None, "ci95": None, "n": 0}
    idx = np.random.default_rng(seed).integers(0, v.size, size=(n, v.size))
    lo, hi = np.percentile(v[idx].mean(1), [2.5, 97.5])
    return {"value": round(float(v.mean()), 4), "ci95": [round(float(lo), 4), round(float(hi), 4)], "n": int(v.size)}


def paired_diff_ci(a, b, n: int = 2000, seed: int = 0) -> dict:
    """mean(a) - mean(b) over the same units, 95 % paired bootstrap interval; ``p_a_better`` = share of
    resamples where a is ahead.

    >>> r = paired_diff_ci([1, 1, 0, 1], [0, 1, 0, 0], n=200)
    >>> r["value"], r["ci95"][0] >= 0
    (0.5, True)
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    if d.size == 0:
        return {"value": None, "ci95": None, "p_a_better": None, "n": 0}
    idx = np.random.default_rng(seed).integers(0, d.size, size=(n, d.size))
    means = d[idx].mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"value": round(float(d.mean()), 4), "ci95": [round(float(lo), 4), round(float(hi), 4)],
            "p_a_better": round(float(np.mean(means > 0)), 3), "n": int(d.size)}


# -- the arms ---------------------------------------------------------------------------------------


class ItemText:
    """Each item's units as of the cutoff (metadata + the earliest other users' reviews), built once."""

    def __init__(self, history: RatingData, cutoff: int):
        self.history, self.cutoff, self._units = history, cutoff, {}

    def item(self, item: str) -> list[str]:
        if item not in self._units:
            self._units[item] = item_units(self.history, item, self.cutoff)
        return self._units[item]

    def user(self, user: str) -> list[tuple[str, float]]:
        seq = self.history.user_sequence(user)[-USER_HISTORY:]
        return [(review_unit(self.history.ratings[h], self.history), self.history.ratings[h].stars) for h in seq]


def model_scores(model: RatingModel, known: list[Rating], text: ItemText, sessions: list[Session]) -> list[np.ndarray]:
    """Predicted stars of every session's candidates: the version's head over the towers, with
    user+item biases refitted (at the version's regularisation) on the ratings the arm knows."""
    bias = BiasModel(*model.info.get("reg", (5.0, 5.0))).fit((r.user, r.item, r.stars) for r in known)
    model.mu = bias.mu
    ex = [Example(-1, s.shopper, i, 0.0, text.user(s.shopper), text.item(i), []) for s in sessions for i in s.candidates]
    pred = predict_features(model, featurize(model, bias, ex)) if ex else np.zeros(0)
    out, pos = [], 0
    for s in sessions:
        out.append(pred[pos : pos + len(s.candidates)])
        pos += len(s.candidates)
    return out


def popularity_scores(counts: Counter, sessions: list[Session]) -> list[np.ndarray]:
    return [np.asarray([counts.get(i, 0) for i in s.candidates], float) for s in sessions]


def blend_scores(stars: list[np.ndarray], co: CoRatings, counts: Counter, history: RatingData,
                 sessions: list[Session]) -> list[np.ndarray]:
    """What ``ranker.blend.BlendedRanker`` orders by, per session: z(stars) + the served weights x
    (co-ratings from the shopper's history items rated above ``DISLIKED``; popularity ``counts``)."""
    out = []
    for s, st in zip(sessions, stars):
        hist = [history.ratings[h].item for h in history.user_sequence(s.shopper) if history.ratings[h].stars > DISLIKED]
        knn, _ = co.scores(hist, s.candidates, exclude_user=s.shopper)
        out.append(sum(contributions(st, knn, [counts.get(i, 0) for i in s.candidates], WEIGHTS).values()))
    return out


def _load(version_dir: Path, settings: Settings) -> RatingModel:
    m = RatingModel.load(version_dir / "model", settings.device)
    m.attach_cache(versions.root(settings) / "cache")
    return m


# -- the recipe -------------------------------------------------------------------------------------


def simulate(data: RatingData, settings: Settings, cfg: SimConfig | None = None, progress=None) -> dict:
    """Replay ``data`` over ``cfg.rounds`` learning rounds (module docstring); returns the report.

    ``settings.models_dir`` receives the versions the replay trains (use a scratch data dir)."""
    from ranker.learn import learn
    from ranker.train import TrainConfig, train

    cfg = cfg or SimConfig()
    t0 = time.time()
    rep = build_replay(data, cfg)
    log.info("replay: %d shoppers in %d rounds, %d history ratings, %d items (%d new after the cutoff)",
             rep.shoppers, cfg.rounds, len(rep.history.ratings), len(rep.items), len(rep.new_items))
    # the version both model arms start from: trained on the history only
    first = train(rep.history, settings, TrainConfig(epochs=cfg.epochs, max_examples=cfg.max_examples, text_only_examples=0,
                                                     sentiment_examples=0, seed=cfg.seed), source="replay history")
    frozen = _load(first.version, settings)
    learning, learning_version = frozen, first.version.name
    text = ItemText(rep.history, rep.cutoff)
    history = list(rep.history.ratings)
    feedback: list[Rating] = []  # the learning arm's collected ratings (thumbs), in round order
    pop_counts = Counter(r.item for r in history)
    # the served blend's counts: frozen keeps the history's; learning adds what it learns from its cards
    frozen_co = CoRatings.from_pairs((r.user, r.item) for r in history)
    learn_co, learn_counts, frozen_counts = CoRatings.from_pairs((r.user, r.item) for r in history), Counter(pop_counts), Counter(pop_counts)
    known = set(pop_counts)  # items with a rating in the history: never "unexplored"
    live_counts = Counter(pop_counts)  # popularity_live: the history's counts + every new review so far
    hist_pairs = {(r.user, r.item) for r in history}
    reviewed: set[tuple[str, str]] = set()  # (shopper, item) of every new review the store has received so far
    learned_reviews: Counter = Counter()  # the learning arm's reviews per item so far (cards+reviews; swaps)
    card_clicks = 0
    # per exploring arm: impressions per item and the items it saw clicked (what is still unexplored)
    seen = {arm: (Counter(), set()) for arm in ("learning", "frozen_explore")}
    learned_clicks: Counter = Counter()  # the learning arm's clicks per item so far (the swaps diagnostic)
    rounds, slots, outcomes = [], [], []  # slots: (round, arm, item, new?, relevance, shown) for the cold-start measure
    events_dir = versions.root(settings) / "replay-feedback"
    events_dir.mkdir(parents=True, exist_ok=True)
    for rnd, sessions in enumerate(rep.batches, 1):
        # what is known when the round starts: earlier rounds' reviews and clicks, never this round's own
        known_at_start = {"reviews": len(reviewed), "card_clicks": card_clicks,
                          "own_later_ratings_known": own_later_known(sessions, hist_pairs, reviewed, learn_co, feedback)}
        frozen_stars = model_scores(frozen, history, text, sessions)
        learn_stars = model_scores(learning, history + feedback, text, sessions)
        scores = {"learning": blend_scores(learn_stars, learn_co, learn_counts, rep.history, sessions),
                  "frozen": blend_scores(frozen_stars, frozen_co, frozen_counts, rep.history, sessions),
                  "popularity": popularity_scores(pop_counts, sessions),
                  "stars": frozen_stars,
                  "popularity_live": popularity_scores(live_counts, sessions)}
        scores["frozen_explore"] = scores["frozen"]
        prior = {"learning": learn_stars, "frozen_explore": frozen_stars}
        per_arm, shown_by = {}, {}
        rows, pop_clicks, learned, explored = [], [], [], []
        for arm in ARMS:
            outs, shown_by[arm] = [], []
            for j, (s, sc) in enumerate(zip(sessions, scores[arm])):
                if arm in seen:
                    shows, clicked = seen[arm]
                    unexplored = [i not in known and i not in clicked and shows[i] < EXPLORE_SHOWS for i in s.candidates]
                    shown_pos = set(explore_top_k(sc, s.tiebreak, cfg.k, unexplored, prior[arm][j]))
                else:
                    shown_pos = set(top_k(sc, s.tiebreak, cfg.k))
                shown = [s.candidates[p] for p in sorted(shown_pos)]
                shown_by[arm].append(shown)
                outs.append(outcome(shown, s.later))
                for p, item in enumerate(s.candidates):
                    slots.append((rnd, arm, item, item in rep.new_items, _relevance(s.later.get(item)), p in shown_pos))
                hits = [i for i in shown if i in s.later]
                if arm == "learning":
                    rows += [{"user_id": s.shopper, "product_id": i, "kind": feedback_kind(s.later[i]),
                              "timestamp": rep.cutoff + rnd} for i in hits]
                    learned += [(s.shopper, i, i in s.later) for i in shown]
                elif arm == "popularity":
                    pop_clicks += hits
                elif arm == "frozen_explore":  # its exploration state, updated after the round as the learning arm's
                    explored += [(s.shopper, i, i in s.later) for i in shown]
            per_arm[arm] = outs
        outcomes.append(per_arm)
        pop_counts.update(pop_clicks)
        diag = swaps(sessions, shown_by["learning"], shown_by["frozen"], learned_clicks, rep.new_items, learned_reviews)
        learned_clicks.update(i for _u, i, click in learned if click)
        card_clicks += sum(click for _u, _i, click in learned)
        learn_from_cards(learned, learn_co, learn_counts, *seen["learning"], weight=cfg.click_weight)
        # the store's new reviews: every later rating of this round's shoppers, whether or not a card showed it
        reviews = store_reviews(sessions)
        live_counts.update(i for _u, i, _st in reviews)
        reviewed.update((u, i) for u, i, _st in reviews)
        if cfg.learn_from == "cards+reviews":
            clicked_pairs = {(u, i) for u, i, click in learned if click}
            learned_reviews.update(learn_from_reviews(reviews, learn_co, learn_counts, seen["learning"][1], skip=clicked_pairs))
            rows = [{"user_id": u, "product_id": i, "kind": "review", "rating": st, "timestamp": rep.cutoff + rnd}
                    for u, i, st in reviews]
        learn_from_cards(explored, CoRatings(), Counter(), *seen["frozen_explore"])  # only its impressions and clicks count
        report = _round_report(rnd, per_arm, cfg)
        report["known_at_start"] = known_at_start
        report["swaps"] = {**diag, "promoted_after": promoted(learned_clicks, frozen_counts)}
        # the learning job on this round's feedback (the last round's reactions train nothing measured)
        if rnd < cfg.rounds:
            learning, learning_version, report["learn"] = _learn_round(
                settings, learn, rep.history, history, feedback, rows, events_dir / f"round{rnd}.jsonl", learning, learning_version)
        report["learning_version"] = learning_version
        rounds.append(report)
        if progress:
            progress(report)
    out = {
        "dataset": data.name,
        "config": asdict(cfg),
        "design": {"cutoff_ts": rep.cutoff, "history_ratings": len(rep.history.ratings), "items": len(rep.items),
                   "new_items": len(rep.new_items), "shoppers": rep.shoppers, "shoppers_per_round": [len(b) for b in rep.batches],
                   "start_version": first.version.name, "start_metrics": {k: first.metadata["metrics"][k] for k in ("val_rmse", "test_rmse")}},
        "rounds": rounds,
        "final": _final(rounds),
        "pooled_after_first_learning": pooled(outcomes, min(2, cfg.rounds), cfg.boot, cfg.seed),
        "cold_start": cold_start(slots, cfg.first_n, cfg.boot, cfg.seed),
        "seconds": round(time.time() - t0, 1),
    }
    return out


def learn_from_cards(learned: list[tuple[str, str, bool]], co: CoRatings, counts: Counter, shows: Counter, clicked: set,
                     weight: float = 1.0) -> None:
    """The learning arm's counts after a round of cards: (shopper, item, clicked?) per impression.
    A click makes the shopper one of the item's raters and adds ``weight`` to its popularity (in
    history ratings); an impression without a click takes ``IMPRESSION_WEIGHT`` x ``weight`` off it.

    >>> co, counts, shows, clicked = CoRatings(), Counter({"a": 3}), Counter(), set()
    >>> learn_from_cards([("u", "a", True), ("u", "b", False), ("v", "b", False)], co, counts, shows, clicked)
    >>> dict(counts), dict(shows), sorted(clicked), sorted(co.raters["a"])
    ({'a': 4.0, 'b': -0.4}, {'a': 1, 'b': 2}, ['a'], ['u'])
    >>> counts = Counter({"a": 3})
    >>> learn_from_cards([("v", "a", True), ("w", "a", False)], co, counts, shows, clicked, weight=5)
    >>> dict(counts)                        # fresh feedback above old history: 3 + 5 - 0.2 x 5
    {'a': 7.0}
    """
    for user, item, click in learned:
        shows[item] += 1
        if click:
            co.add(user, item)
            counts[item] += weight
            clicked.add(item)
        else:
            counts[item] -= IMPRESSION_WEIGHT * weight


def store_reviews(sessions: list[Session]) -> list[tuple[str, str, float]]:
    """The store's new reviews after a round: every real later rating of its shoppers, (shopper, item,
    stars), whether or not a card showed the item.

    >>> store_reviews([Session("u", ["a", "b", "x"], {"b": 2.0, "a": 5.0}, np.zeros(3)), Session("v", ["c"], {"c": 4.0}, np.zeros(1))])
    [('u', 'a', 5.0), ('u', 'b', 2.0), ('v', 'c', 4.0)]
    """
    return [(s.shopper, i, s.later[i]) for s in sessions for i in sorted(s.later)]


def learn_from_reviews(reviews: list[tuple[str, str, float]], co: CoRatings, counts: Counter, clicked: set,
                       skip: set = frozenset()) -> Counter:
    """The learning arm's counts after the store's new reviews (cards+reviews): the reviewer joins the
    item's raters, the item gains one history rating of popularity and is no longer unexplored. A
    review in ``skip`` (a (shopper, item) the arm already learned as a click on its card) adds no
    second count. Returns the reviews learned per item.

    >>> co, counts, clicked = CoRatings(), Counter({"a": 3}), set()
    >>> learn_from_reviews([("u", "a", 5.0), ("u", "b", 1.0), ("v", "a", 4.0)], co, counts, clicked, skip={("v", "a")})
    Counter({'a': 1, 'b': 1})
    >>> dict(counts), sorted(clicked), sorted(co.raters["a"])
    ({'a': 4, 'b': 1}, ['a', 'b'], ['u'])
    """
    learned: Counter = Counter()
    for user, item, _stars in reviews:
        if (user, item) in skip:
            continue
        co.add(user, item)
        counts[item] += 1
        clicked.add(item)
        learned[item] += 1
    return learned


def own_later_known(sessions: list[Session], hist_pairs: set, reviewed: set, co: CoRatings, feedback: list[Rating]) -> int:
    """The leakage check: how many of a round's shoppers' own later ratings (or any feedback of theirs
    beyond the history) the shop already knows when their sessions are shown. 0 by construction.

    >>> s = [Session("u", ["a", "b"], {"a": 5.0}, np.zeros(2))]
    >>> own_later_known(s, set(), set(), CoRatings(), []), own_later_known(s, set(), {("u", "a")}, CoRatings(), [])
    (0, 1)
    """
    users = {s.shopper for s in sessions}
    own = sum(1 for s in sessions for i in s.later if (s.shopper, i) not in hist_pairs
              and ((s.shopper, i) in reviewed or s.shopper in co.raters.get(i, ())))
    return own + sum(r.user in users for r in feedback)


def swaps(sessions: list[Session], learning: list[list[str]], frozen: list[list[str]], learned_clicks: Counter,
          new_items: set[str], learned_reviews: Counter | None = None) -> dict:
    """Where the learning arm gains and loses against the frozen one in a round: the cards only one
    of them showed, how many of those were clicked, by why the learning arm's card differs (a new
    item: exploration; an item it saw clicked before: its learned clicks; an item it learned reviews
    of (``learned_reviews``, cards+reviews): its learned reviews; else: re-ordering through refitted
    biases, co-ratings or sunk impressions).

    >>> s = [Session("u", ["a", "b", "c"], {"a": 5.0, "c": 4.0}, np.zeros(3))]
    >>> r = swaps(s, [["a", "c"]], [["a", "b"]], Counter({"a": 2}), {"c"})
    >>> r["learning_only"], r["frozen_only"]
    ({'cards': 1, 'clicked': 1, 'by': {'new item': [1, 1]}}, {'cards': 1, 'clicked': 0})
    """
    lo, fo, by = [0, 0], [0, 0], {}
    for s, a, b in zip(sessions, learning, frozen):
        for item in set(a) - set(b):
            hit = int(item in s.later)
            lo[0] += 1
            lo[1] += hit
            why = ("new item" if item in new_items else "learned clicks" if learned_clicks[item]
                   else "learned reviews" if learned_reviews and learned_reviews[item] else "re-ordered")
            by.setdefault(why, [0, 0])
            by[why][0] += 1
            by[why][1] += hit
        for item in set(b) - set(a):
            fo[0] += 1
            fo[1] += int(item in s.later)
    return {"learning_only": {"cards": lo[0], "clicked": lo[1], "by": dict(sorted(by.items()))},
            "frozen_only": {"cards": fo[0], "clicked": fo[1]}}


def promoted(learned_clicks: Counter, history_counts: Counter, n: int = 5) -> list[dict]:
    """The items the learning arm's own clicks promote most, with what the history said of them.

    >>> promoted(Counter({"a": 3, "b": 1}), Counter({"b": 40}), n=1)
    [{'item': 'a', 'clicks': 3, 'history_ratings': 0}]
    """
    return [{"item": i, "clicks": c, "history_ratings": history_counts.get(i, 0)} for i, c in learned_clicks.most_common(n)]


def _relevance(stars: float | None) -> str:
    return "not rated" if stars is None else "liked" if stars >= THUMBS_UP_STARS else "rated < 4"


def _learn_round(settings, learn, hist: RatingData, history: list[Rating], feedback: list[Rating], rows: list[dict], path: Path,
                 model: RatingModel, version: str):
    """Write the round's feedback as the store's events, run the learning job on it, and add its
    ratings to what the learning arm knows. Returns (model served next, its version, the job's report)."""
    n0 = len(history) + len(feedback)
    new = [Rating(r["user_id"], r["product_id"], float(r.get("rating") or KIND_STARS[r["kind"]]), r["timestamp"], n0 + j)
           for j, r in enumerate(x for x in rows if "rating" in x or x["kind"] in KIND_STARS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    info = {"events": len(rows), "rating_events": len(new)}
    if not new:
        return model, version, {**info, "skipped": "no thumbs this round"}
    old = RatingData(hist.name + "+feedback", history + feedback, hist.items, train=list(hist.train) + list(range(len(history), n0)),
                     val=list(hist.val), test=list(hist.test))
    res = learn(settings, path, old_data=old, epochs=None)
    feedback.extend(new)
    info.update(promoted=res["promoted"], candidate=res["candidate"], decision=res["decision"])
    if res["promoted"]:
        return _load(versions.root(settings) / res["serving"], settings), res["serving"], info
    return model, version, info


def _round_report(rnd: int, per_arm: dict, cfg: SimConfig) -> dict:
    arms = {}
    for arm, outs in per_arm.items():
        arms[arm] = {"ctr": bootstrap_ci([o["click"] for o in outs], cfg.boot, cfg.seed),
                     "thumbs_up_rate": bootstrap_ci([o["thumbs_up"] for o in outs], cfg.boot, cfg.seed),
                     "clicks_per_session": bootstrap_ci([o["clicks"] for o in outs], cfg.boot, cfg.seed),
                     "card_ctr": bootstrap_ci([o["card_ctr"] for o in outs], cfg.boot, cfg.seed),
                     "card_thumbs_up": bootstrap_ci([o["card_thumbs_up"] for o in outs], cfg.boot, cfg.seed)}
    diffs = {}
    for other in ("frozen", "popularity", "stars", "frozen_explore", "popularity_live"):
        diffs[f"learning_minus_{other}"] = {
            m: paired_diff_ci([o[key] for o in per_arm["learning"]], [o[key] for o in per_arm[other]], cfg.boot, cfg.seed)
            for m, key in METRICS}
    return {"round": rnd, "shoppers": len(per_arm["learning"]), "arms": arms, **diffs}


def _final(rounds: list[dict]) -> dict:
    """The bar: the final round's learning - frozen click-through and thumbs-up, per session and per
    card, interval above zero?"""
    last = rounds[-1]["learning_minus_frozen"]
    won = {m: bool(d["ci95"] and d["ci95"][0] > 0) for m, d in last.items()}
    return {"round": rounds[-1]["round"], "learning_minus_frozen": last, "learning_beats_frozen": won,
            "learning_minus_popularity": rounds[-1]["learning_minus_popularity"],
            "learning_minus_popularity_live": rounds[-1].get("learning_minus_popularity_live"),
            "learning_minus_frozen_explore": rounds[-1].get("learning_minus_frozen_explore")}


def pooled(outcomes: list[dict], first: int, boot: int = 2000, seed: int = 0) -> dict:
    """Paired differences over every shopper of rounds ``first``.. (rounds after the first learning
    step): more shoppers than one round, the same pairing. ``outcomes``: per round, arm -> outcomes.

    >>> o = [{"learning": [outcome(["a", "b"], {"a": 3.0})], "frozen": [outcome(["b", "c"], {"a": 3.0})]}] * 2
    >>> r = pooled(o, 2, boot=50)["learning_minus_frozen"]
    >>> r["ctr"]["value"], r["card_ctr"]["value"], r["card_thumbs_up"]["value"]
    (1.0, 0.5, 0.0)
    """
    rows = outcomes[first - 1 :]
    out = {"rounds": f"{first}-{len(outcomes)}"}
    for a, b in (("learning", "frozen"), ("learning", "frozen_explore"), ("learning", "popularity"), ("frozen", "stars"),
                 ("learning", "popularity_live"), ("popularity_live", "popularity"), ("popularity_live", "frozen")):
        if rows and a in rows[0] and b in rows[0]:
            out[f"{a}_minus_{b}"] = {m: paired_diff_ci([o[key] for r in rows for o in r[a]], [o[key] for r in rows for o in r[b]], boot, seed)
                                     for m, key in METRICS}
    return out


def cold_start(slots: list[tuple], first_n: int = 10, boot: int = 2000, seed: int = 0) -> dict:
    """How often an item is shown in its first ``first_n`` candidate slots of the replay, new items
    (no rating before the cutoff) vs established ones, per arm and relevance of the slot ("liked":
    the shopper rated it >= 4 later; "not rated": a sampled never-rated item). Candidate sets are the
    same for every arm, so every arm sees the same slots. Bootstrap over items.

    >>> s = [(1, "a", "n1", True, "liked", False), (1, "a", "e1", False, "liked", True), (2, "a", "n1", True, "liked", True)]
    >>> r = cold_start(s, first_n=2)
    >>> r["arms"]["a"]["liked"]["new"]["value"], r["arms"]["a"]["liked"]["established"]["value"]
    (0.5, 1.0)
    """
    seen: Counter = Counter()
    per: dict = {}
    for _round, arm, item, new, rel, shown in slots:
        seen[(arm, item)] += 1
        if seen[(arm, item)] > first_n:
            continue
        per.setdefault(arm, {}).setdefault(rel, {}).setdefault("new" if new else "established", {}).setdefault(item, []).append(shown)
    out = {}
    for arm, by_rel in per.items():
        out[arm] = {}
        for rel, groups in sorted(by_rel.items()):
            row = {g: bootstrap_ci([float(np.mean(v)) for v in groups[g].values()], boot, seed) if g in groups else None
                   for g in ("new", "established")}
            row["slots"] = {g: sum(len(v) for v in groups.get(g, {}).values()) for g in ("new", "established")}
            out[arm][rel] = row
    return {"first_n": first_n, "unit": "per item: share of its first n candidate slots in which it was shown", "arms": out}


def plot(report: dict, path: Path) -> None:
    """The curve: CTR, thumbs-up rate and card CTR per round and arm with their 95 % intervals."""
    import matplotlib  # heavy, and only for the PNG

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharex=True)
    rounds = [r["round"] for r in report["rounds"]]
    for ax, metric, title in zip(axes, ("ctr", "thumbs_up_rate", "card_ctr"),
                                 ("click-through per session", "thumbs-up per session", "card click-through (clicked / shown cards)")):
        for j, arm in enumerate(ARMS):
            ms = [r["arms"][arm][metric] for r in report["rounds"]]
            x = np.asarray(rounds) + (j - 1) * 0.08
            y = [m["value"] for m in ms]
            err = [[m["value"] - m["ci95"][0] for m in ms], [m["ci95"][1] - m["value"] for m in ms]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=arm)
        ax.set_title(title)
        ax.set_xlabel("round (learning arm updated after each)")
        ax.set_xticks(rounds)
    axes[0].set_ylabel(f"rate (top {report['config']['k']}, 95 % bootstrap interval)")
    axes[0].legend()
    cfg = report["config"]
    fig.suptitle(f"replay of {report['design']['shoppers']} shoppers, the learning arm learning from "
                 f"{cfg.get('learn_from', 'cards')}, {cfg.get('deal', 'random')} rounds: {report['dataset'][:60]}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
