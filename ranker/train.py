"""Training recipe for the rating model, top to bottom:

    1. load      the dataset (``ranker.data``) and the base encoder (MiniLM or ``--base``)
    2. data      leave-last-out split, leakage-safe examples, the bias model fitted on train
    3. baseline  evaluate the untrained model first (= the bias model: the head starts at 0)
    4. args      ``TrainConfig`` (every default has its reason)
    5. train     AdamW + weight decay, linear warm-up/decay, MSE on stars/4 residuals,
                 cold-start dropout, early stopping on validation RMSE, TensorBoard, tqdm,
                 optional DP-SGD (opacus) on the head
    6. evaluate  calibrate the blend on validation (2-fold cross-fitted for the reported val RMSE), tune the
                 personal taste term (``ranker.taste``) on validation, test RMSE
    7. save      a new version under models/ranker (save_pretrained, metadata.json, curve PNG),
                 made current

Several processes: ``torchrun --nproc_per_node N -m shopassist.cli ranker train ...`` runs this
recipe on N ranks (``ranker.distributed``): each encodes and trains on its share of the examples,
the head in DistributedDataParallel; rank 0 evaluates and saves.

Two training paths share this recipe. ``train_layers = 0`` (default on CPU): the encoder is
frozen, every text unit is encoded once and only the head trains: minutes on 2 shared cores.
``train_layers = k > 0``: the top k encoder layers fine-tune jointly with the head, every
batch re-encoding its units (the path for a GPU, and for small data).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ranker import distributed, versions
from ranker import taste as T
from ranker.baselines import BiasModel
from ranker.data import Example, RatingData, item_units, make_examples
from ranker.features import Features, bias_rows, drop_cold, featurize, pool_item, predict_features
from ranker.metrics import rmse
from ranker.model import (
    Encoder,
    HeadConfig,
    RatingModel,
    TextRegressor,
    build_head,
    head_input,
    resolve_base,
    text_key,
    to_unit,
)
from shopassist.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    base: str = ""  # HF encoder path; "" = settings.ranker_base, then the bundled MiniLM
    epochs: int = 8  # head-only epochs are cheap; early stopping usually ends sooner
    max_examples: int | None = None  # cap on training examples (a seeded random subset)
    batch_size: int = 64  # head-only: stable MSE gradients; joint path uses joint_batch_size
    joint_batch_size: int = 16  # fine-tuning the encoder: memory/CPU bound
    lr_head: float = 1e-3  # a fresh 2-layer head learns fast
    lr_encoder: float = 2e-5  # standard BERT fine-tuning rate
    weight_decay: float = 0.01  # AdamW default for BERT fine-tuning
    warmup: float = 0.1  # fraction of steps with linearly rising LR
    train_layers: int = 0  # top encoder layers to fine-tune; 0 = frozen encoder (CPU)
    max_length: int = 48  # tokens per text unit (one review snippet ~ 40 tokens)
    hidden: int = 256
    patience: int = 2  # evaluations without val improvement before stopping
    user_dropout: float = 0.15  # train as a cold user this often (text + bias removed)
    item_dropout: float = 0.15  # train as a cold item this often (item bias removed, text kept)
    dp_epsilon: float | None = None  # DP-SGD target epsilon (head only); None = no DP
    dp_delta: float | None = None  # None = 1 / number of training examples
    dp_max_grad_norm: float = 1.0
    text_only_examples: int = 600  # text-only baseline fine-tune size (0 = skip); CPU-sized
    sentiment_examples: int = 400  # review-sentiment model fine-tune size (0 = skip); CPU-sized
    text_epochs: int = 1
    text_train_layers: int = 2  # side models fine-tune the top 2 layers + head: ~2x cheaper on CPU
    seed: int = 0
    extra: dict = field(default_factory=dict)


# -- training-only inputs (the shared features are in ranker.features) ---------------------------


BIAS_REGS = (3.0, 5.0, 10.0, 25.0, 100.0)  # from "trust 3 ratings" to "almost the global mean"


def tune_bias_reg(data: RatingData) -> float:
    """The bias model's regularisation with the lowest validation RMSE: sparse data (few
    ratings per user/item) wants heavy shrinkage, dense data light (MI2014 full: 5)."""
    triples = [(data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in data.train]
    val = [data.ratings[k] for k in data.val]
    scores = []
    for r in BIAS_REGS:
        m = BiasModel(r, r).fit(triples)
        scores.append((rmse([m.predict(x.user, x.item) for x in val], [x.stars for x in val]), r))
    return min(scores)[1]


def oof_bias_rows(data: RatingData, examples: list[Example], folds: int = 5, seed: int = 0, reg: float = 5.0) -> np.ndarray:
    """Bias features for training examples, out of fold: each example's b_u, b_i come from a
    bias model fitted WITHOUT its own rating (5-fold over the train split).

    In-sample biases already contain the target, so residuals look smaller and the bias
    features look more reliable than they will be at test time; a head trained on them
    learns the wrong trust (measured: val RMSE got worse from the first epoch).
    """
    train = list(data.train)
    fold_of = dict(zip(train, np.random.default_rng(seed).permutation(len(train)) % folds))
    rows = np.zeros((len(examples), 6), np.float32)
    for f in range(folds):
        fit = BiasModel(reg, reg).fit((data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in train if fold_of[k] != f)
        pos = [j for j, e in enumerate(examples) if fold_of.get(e.index, -1) == f]
        if pos:
            rows[pos] = bias_rows(fit, [examples[j] for j in pos])
    missing = [j for j, e in enumerate(examples) if e.index not in fold_of]  # replayed / new data
    if missing:
        full = BiasModel(reg, reg).fit((data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in train)
        rows[missing] = bias_rows(full, [examples[j] for j in missing])
    return rows


def taste_inputs(model: RatingModel, data: RatingData, bias: BiasModel, params, targets: list[tuple[int, list[tuple[str, list[str]]]]]) -> list:
    """Per target rating k: (X, e, Xc) for ``ranker.taste``: the user's ratings strictly before k
    (never k itself, never later ones) as rows X with their residuals e, and the rows Xc of the
    candidates, each (item id, its units: e.g. the target's ``Example.item_units``).

    A rated item's row pools its units as of the target's time without the user's own reviews
    (``item_units(..., exclude_user)``), the way the example's item side is built.
    """

    dim = model.encoder.dim
    plan = []
    for k, cands in targets:
        r = data.ratings[k]
        seq = data.user_sequence(r.user)
        earlier = [data.ratings[h] for h in seq[: seq.index(k)]]
        plan.append((r, earlier, [item_units(data, h.item, r.ts, exclude_user=r.user) for h in earlier], cands))
    texts = list(dict.fromkeys(t for _, _, hu, cands in plan for us in hu + [c for _, c in cands] for t in us))
    emb = dict(zip(texts, model.embed(texts))) if texts else {}
    price = lambda item: data.items[item].price if item in data.items else None  # noqa: E731
    out = []
    for _, earlier, hu, cands in plan:
        X = T.design(np.stack([pool_item(emb, us, dim) for us in hu]), [price(h.item) for h in earlier], params) if earlier \
            else np.zeros((0, dim + 1))
        e = T.user_residuals([h.stars for h in earlier], [bias.item_bias(h.item) for h in earlier], bias.mu, bias.reg_user)
        Xc = T.design(np.stack([pool_item(emb, us, dim) for _, us in cands]), [price(i) for i, _ in cands], params)
        out.append((X, e, Xc))
    return out


def tune_taste(model: RatingModel, data: RatingData, bias: BiasModel, val_ex: list[Example], val_pred) -> tuple:
    """(TasteParams, grid of validation RMSEs): alpha and weight of the taste term on VALIDATION
    ratings only, on top of the model's predictions ``val_pred`` for them."""

    pm, ps = T.price_stats([m.price for m in data.items.values()])
    params = T.TasteParams(price_mean=pm, price_std=ps)
    rows = taste_inputs(model, data, bias, params, [(e.index, [(e.item, e.item_units)]) for e in val_ex])
    alpha, weight, grid = T.tune(rows, val_pred, np.asarray([e.stars for e in val_ex]))
    return T.TasteParams(alpha, weight, pm, ps), grid


def taste_offsets(rows: list, params) -> list[np.ndarray]:
    """Stars the taste term adds to each target's candidates (``taste_inputs`` rows)."""
    return [T.Taste.fit(X, e, params.alpha, params.weight).predict(Xc) if len(X) and params.weight else np.zeros(len(Xc))
            for X, e, Xc in rows]


# -- the recipe -------------------------------------------------------------------------------


@dataclass
class TrainResult:
    version: Path | None  # None on ranks other than 0 of a multi-process run (rank 0 saves)
    metadata: dict
    model: RatingModel
    bias: BiasModel


def train(data: RatingData, settings: Settings, cfg: TrainConfig | None = None, source: str = "", parent_model: Path | None = None,
          replay: list[int] | None = None, make_current: bool = True) -> TrainResult:
    """Train a new version on ``data``; returns it (saved, and made current by default).

    ``parent_model``: start from this version's model folder (continual updates) instead of the base.
    ``replay``: training indices of old data mixed into the new ones (``ranker.update``).
    """
    import torch

    cfg = cfg or TrainConfig()
    ranks = distributed.start()  # rank 0 of 1 unless started by torchrun
    distributed.check(ranks, cfg.train_layers, cfg.dp_epsilon)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()

    # 1. load
    base_path = resolve_base(cfg.base or settings.ranker_base)
    if parent_model is not None:
        model = RatingModel.load(parent_model, settings.device)
        model.encoder.max_length = cfg.max_length
    else:
        encoder = Encoder(base_path, max_length=cfg.max_length, device=settings.device)
        model = RatingModel(encoder, build_head(HeadConfig(dim=encoder.dim, hidden=cfg.hidden)), mu=0.0)

    # 2. data: bias model on train only; examples built leakage-safe
    train_idx = list(data.train) if replay is None else list(replay)
    reg = tune_bias_reg(data)
    bias = BiasModel(reg, reg).fit((data.ratings[k].user, data.ratings[k].item, data.ratings[k].stars) for k in data.train)
    model.mu = bias.mu
    if cfg.max_examples and len(train_idx) > cfg.max_examples:
        train_idx = sorted(rng.choice(train_idx, cfg.max_examples, replace=False).tolist())
    train_ex, val_ex = make_examples(data, train_idx), make_examples(data, data.val)
    log.info("%s: %d train / %d val examples, %d users", data.name, len(train_ex), len(val_ex), len(data.users()))

    # 3. evaluate the untrained model first: the head outputs 0, so this is the bias model
    trainable = model.encoder.set_trainable(cfg.train_layers)
    joint = bool(trainable)
    if not joint:  # frozen encoder: unit encodings are reusable across runs and by serving
        model.attach_cache(versions.root(settings) / "cache")
        if not ranks.main:
            model.cache_path = None  # read the cache, never write it: rank 0 does
    val_f = featurize(model, bias, val_ex, progress=True) if ranks.main else None  # validation: rank 0's
    val_true = [e.stars for e in val_ex]
    untrained = rmse(predict_features(model, val_f), val_true) if ranks.main else float("nan")
    if ranks.main:
        log.info("untrained (bias model) val RMSE %.4f", untrained)

    # 4./5. train
    version_dir = versions.new_version_dir(settings) if ranks.main else None
    curve, dp_report = _fit(model, data, bias, train_ex, val_ex, val_f, cfg, rng, version_dir, joint, ranks)
    ranks.finish()
    if not ranks.main:  # rank 0 evaluates and saves
        return TrainResult(None, {"rank": ranks.rank, "world": ranks.world}, model, bias)

    # 6. evaluate: calibrate the blend on validation, then report
    val_f = featurize(model, bias, val_ex) if joint else val_f
    val_raw = rmse(predict_features(model, val_f), val_true)
    calib, val_cross = calibrate(model, val_f, val_true)
    if val_cross < val_raw:  # adopt the blend only when it helps out of sample (small val sets: it does not)
        model.calib = calib
    val_rmse = min(val_raw, val_cross)
    if joint:  # new weights, new identity: never reuse encodings of the base model (after calibration)
        model.info["fingerprint"] = text_key(f"{version_dir.resolve()}|{time.time()}")
        model.cache.clear()
    model.attach_cache(versions.root(settings) / "cache")
    #    the personal taste term (``ranker.taste``): alpha and weight on validation only
    taste, taste_grid = tune_taste(model, data, bias, val_ex, predict_features(model, val_f))
    model.info["taste"] = taste.to_dict()
    val_taste = taste_grid[f"{taste.alpha:g}/{taste.weight:g}"]
    log.info("taste term: alpha %g weight %g, val RMSE %.4f -> %.4f", taste.alpha, taste.weight, val_rmse, val_taste)
    test_ex = make_examples(data, data.test)
    test_f = featurize(model, bias, test_ex, progress=True)
    test_no_taste = predict_features(model, test_f)
    rows = taste_inputs(model, data, bias, taste, [(e.index, [(e.item, e.item_units)]) for e in test_ex])
    test_pred = np.clip(test_no_taste + np.concatenate(taste_offsets(rows, taste)), 1, 5) if test_ex else test_no_taste
    test_rmse = rmse(test_pred, [e.stars for e in test_ex])
    test_rmse_no_taste = rmse(test_no_taste, [e.stars for e in test_ex])
    model.save_cache()
    test_bias = rmse([bias.predict(e.user, e.item) for e in test_ex], [e.stars for e in test_ex])
    log.info("val RMSE %.4f cross-fitted (raw head %.4f, bias %.4f), test RMSE %.4f (bias %.4f), blend %s",
             val_rmse, val_raw, untrained, test_rmse, test_bias, model.calib)

    # 7. save: model, side models, curve, metadata; make current
    model.info.update({"base": base_path, "train_layers": cfg.train_layers, "reg": [bias.reg_user, bias.reg_item]})
    model.save(version_dir / "model")
    side = train_side_models(data, train_ex, cfg, base_path, settings, version_dir)
    _plot_curve(curve, version_dir / "curve.png")
    (version_dir / "curve.json").write_text(json.dumps(curve))
    parent = versions.current_name(settings)
    meta = versions.write_metadata(
        version_dir,
        kind="two_tower_residual",
        parent=parent,
        data={"dataset": data.name, "source": source, "n_train": len(train_ex), "n_val": len(val_ex), "n_test": len(test_ex),
              "users": len(data.users()), "items": len(data.item_ids())},
        metrics={"val_rmse_untrained": untrained, "val_rmse": val_rmse, "test_rmse": test_rmse, "test_rmse_bias": test_bias,
                 "val_rmse_raw_head": val_raw, "val_rmse_calibrated_crossfit": val_cross, "calib": model.calib,
                 "taste": taste.to_dict(), "val_rmse_taste": val_taste, "test_rmse_no_taste": test_rmse_no_taste,
                 "bias_reg": bias.reg_item, "best_step": curve["best_step"]},
        dp=dp_report,
        side_models=side,
        config={**asdict(cfg), "processes": ranks.world},
        seconds=round(time.time() - t0, 1),
    )
    if make_current:
        versions.use_version(settings, version_dir.name)
    return TrainResult(version_dir, meta, model, bias)


def _blend_fit(X: np.ndarray, y: np.ndarray, ridge: float = 30.0) -> np.ndarray:
    """Ridge least squares pulling toward the untrained blend [0, 1, 1, 1] (not toward 0)."""
    prior = np.array([0.0, 1.0, 1.0, 1.0])
    A = X.T @ X + ridge * np.eye(X.shape[1])
    return np.linalg.solve(A, X.T @ (y - X @ prior)) + prior


def calibrate(model: RatingModel, f: Features, true: list[float], seed: int = 0) -> tuple[dict, float]:
    """Blend (d, c_u, c_i, c_h) by ridge least squares on validation, and its 2-fold
    cross-fitted validation RMSE (each half predicted with the blend fitted on the other half).

    Target and inputs in stars: t - mu ~ d + c_u b_u + c_i b_i + c_h * 4 * head.
    """
    res = model.residual(f.U, f.P, f.feats)
    X = np.column_stack([np.ones(len(res)), f.feats[:, 0], f.feats[:, 1], 4.0 * res])
    y = np.asarray(true, float) - model.mu
    half = np.random.default_rng(seed).permutation(len(y)) % 2 == 0
    pred = np.zeros(len(y))
    for part in (half, ~half):
        if part.all() or not part.any():
            pred[:] = X @ np.array([0.0, 1.0, 1.0, 1.0])
            break
        pred[~part] = X[~part] @ _blend_fit(X[part], y[part])
    cross_rmse = rmse(np.clip(model.mu + pred, 1, 5), true)
    c = _blend_fit(X, y)
    return {"d": float(c[0]), "cu": float(c[1]), "ci": float(c[2]), "ch": float(c[3])}, cross_rmse


def _fit(model: RatingModel, data: RatingData, bias: BiasModel, train_ex, val_ex, val_f: Features | None, cfg: TrainConfig, rng,
         version_dir: Path | None, joint: bool, ranks: distributed.Ranks | None = None):
    """Steps 4-5: optimiser, schedule, loop with early stopping; returns (curve, dp report).

    On several ranks (``ranker.distributed``) each trains on its shard of ``train_ex`` with
    ``batch_size / world`` per step, the head wrapped in DistributedDataParallel; rank 0
    computes validation RMSE (``val_f`` is None elsewhere) and every rank follows its verdict."""
    ranks = ranks or distributed.Ranks()
    import torch  # heavy (torch, tensorboard, transformers): imported when a model trains, not on import
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm
    from transformers import get_linear_schedule_with_warmup

    head = model.head
    enc_params = [p for p in model.encoder.model.parameters() if p.requires_grad]
    groups = [{"params": list(head.parameters()), "lr": cfg.lr_head}]
    if enc_params:
        groups.append({"params": enc_params, "lr": cfg.lr_encoder})
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    bs = cfg.joint_batch_size if joint else cfg.batch_size
    steps_per_epoch = math.ceil(len(train_ex) / bs)  # of the whole set: the same on every rank
    total = cfg.epochs * steps_per_epoch
    sched = get_linear_schedule_with_warmup(opt, max(1, int(cfg.warmup * total)), total)
    writer = SummaryWriter(str(version_dir / "tensorboard")) if ranks.main else None
    val_true = [e.stars for e in val_ex]

    def validate() -> float:  # rank 0's validation RMSE, on every rank
        return ranks.broadcast(rmse(predict_features(model, val_f), val_true) if ranks.main else 0.0)

    curve = {"step": [], "train_loss": [], "val_step": [], "val_rmse": [], "best_step": 0}
    best = (validate(), copy.deepcopy(head.state_dict()), None)
    curve["val_step"].append(0)
    curve["val_rmse"].append(best[0])
    dp_report = None
    net = head
    if ranks.active:  # this rank's share of the examples; gradients averaged over the ranks every step
        train_ex = ranks.shard(train_ex)
        rng = np.random.default_rng([cfg.seed, ranks.rank])  # cold-start dropout and order differ per rank
        net = torch.nn.parallel.DistributedDataParallel(head)
    oof = oof_bias_rows(data, train_ex, seed=cfg.seed, reg=bias.reg_item)
    oof_by_index = {e.index: row for e, row in zip(train_ex, oof)}
    train_f = None if joint else featurize(model, bias, train_ex, progress=ranks.main, feat_rows=oof)
    model.save_cache()
    engine = None
    if cfg.dp_epsilon is not None:
        if joint:
            raise ValueError("DP-SGD is applied to the head only: use train_layers=0 with --dp-epsilon")
        try:
            from opacus import PrivacyEngine  # optional extra [dp]
        except ImportError as e:
            raise ImportError("--dp-epsilon needs opacus: pip install -e '.[dp]'") from e

        f = drop_cold(train_f, rng, cfg.user_dropout, cfg.item_dropout)
        ds = torch.utils.data.TensorDataset(*(torch.from_numpy(a) for a in (f.U, f.P, f.feats, f.y)))
        loader = torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=True)
        delta = cfg.dp_delta or 1.0 / len(ds)
        engine = PrivacyEngine()
        head.train()  # opacus validates the module in training mode
        head, opt, loader = engine.make_private_with_epsilon(
            module=head, optimizer=opt, data_loader=loader, target_epsilon=cfg.dp_epsilon, target_delta=delta,
            epochs=cfg.epochs, max_grad_norm=cfg.dp_max_grad_norm)
        dp_report = {"target_epsilon": cfg.dp_epsilon, "delta": delta, "max_grad_norm": cfg.dp_max_grad_norm,
                     "noise_multiplier": opt.noise_multiplier, "scope": "head only (encoder frozen)"}
        # Poisson sampling changes step counts a little: rebuild the schedule on the real loader
        total = cfg.epochs * len(loader)
        sched = get_linear_schedule_with_warmup(opt, max(1, int(cfg.warmup * total)), total)
    step, bad = 0, 0
    bar = tqdm(total=total, desc="train ranker", unit="step", disable=not ranks.main)
    for epoch in range(cfg.epochs):
        head.train()
        if engine is not None:
            batches = ((u, p, ft, y) for u, p, ft, y in loader)
        elif joint:
            perm = rng.permutation(len(train_ex))
            batches = (_joint_batch(model, oof_by_index, [train_ex[i] for i in perm[s : s + bs]], cfg, rng) for s in range(0, len(perm), bs))
        else:
            f = drop_cold(train_f, rng, cfg.user_dropout, cfg.item_dropout)
            perm = rng.permutation(len(f.y))
            cuts = distributed.split(perm, steps_per_epoch) if ranks.active else (perm[s : s + bs] for s in range(0, len(perm), bs))
            batches = ((torch.from_numpy(f.U[i]), torch.from_numpy(f.P[i]), torch.from_numpy(f.feats[i]), torch.from_numpy(f.y[i]))
                       for i in cuts)
        for u, p, ft, y in batches:
            if len(y) == 0 and not ranks.active:  # (a rank never skips: the others wait for its gradients)
                continue
            base = torch.clamp(model.mu + ft[:, 0] + ft[:, 1], 1, 5).sub(1).div(4)
            pred = base + net(head_input(u, p, ft)).squeeze(-1)
            loss = torch.nn.functional.mse_loss(pred, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            curve["step"].append(step)
            curve["train_loss"].append(float(loss.detach()))
            if writer:
                writer.add_scalar("train/mse", float(loss.detach()), step)
            bar.set_postfix(loss=f"{np.mean(curve['train_loss'][-50:]):.4f}", val=f"{best[0]:.4f}")
            bar.update()
        # end of epoch: validation RMSE in stars, early stopping
        head.eval()
        model.head = head
        if joint:
            model.cache.clear()  # the encoder changed: every cached unit is stale
            val_f = featurize(model, bias, val_ex)
        v = validate()
        curve["val_step"].append(step)
        curve["val_rmse"].append(v)
        if writer:
            writer.add_scalar("val/rmse_stars", v, step)
        log.info("epoch %d: val RMSE %.4f", epoch + 1, v)
        if v < best[0] - 1e-4:
            enc_state = {k: t.detach().clone() for k, t in model.encoder.model.state_dict().items()} if joint else None
            best, bad = (v, copy.deepcopy(head.state_dict()), enc_state), 0
            curve["best_step"] = step
        else:
            bad += 1
            if bad >= cfg.patience:
                log.info("early stop after epoch %d (best val RMSE %.4f)", epoch + 1, best[0])
                break
    bar.close()
    if writer:
        writer.close()
    if engine is not None:
        dp_report["epsilon_spent"] = float(engine.get_epsilon(dp_report["delta"]))
        head = head._module  # unwrap GradSampleModule
    head.load_state_dict(_strip_prefix(best[1]))
    head.eval()
    model.head = head
    if joint and best[2] is not None:
        model.encoder.model.load_state_dict(best[2])
        model.cache.clear()
    for p in model.encoder.model.parameters():
        p.requires_grad = False
    return curve, dp_report


def _strip_prefix(state: dict) -> dict:
    return {k.removeprefix("_module."): v for k, v in state.items()}


def _joint_batch(model: RatingModel, feats_by_index: dict, exs: list[Example], cfg: TrainConfig, rng):
    """Encode a batch's units with gradients through the trainable top layers and pool them."""
    import torch

    cold_u = rng.random(len(exs)) < cfg.user_dropout
    cold_i = rng.random(len(exs)) < cfg.item_dropout
    texts = list(dict.fromkeys([t for e, c in zip(exs, cold_u) if not c for t, _ in e.user_units] + [t for e in exs for t in e.item_units]))
    vec = model.encoder.encode(texts, grad=True) if texts else None
    pos = {t: i for i, t in enumerate(texts)}
    dim = model.encoder.dim
    us, ps = [], []
    for e, c in zip(exs, cold_u):
        if c or not e.user_units:
            us.append(torch.zeros(dim))
        else:
            w = torch.tensor([(s - 3.0) / 2.0 for _, s in e.user_units])
            us.append((w.unsqueeze(-1) * vec[[pos[t] for t, _ in e.user_units]]).sum(0) / len(e.user_units))
        ps.append(vec[[pos[t] for t in e.item_units]].mean(0) if e.item_units else torch.zeros(dim))
    feats = torch.from_numpy(np.stack([feats_by_index[e.index] for e in exs]).astype(np.float32))
    feats[torch.from_numpy(cold_u), 0] = 0.0
    feats[torch.from_numpy(cold_u), 2] = 0.0
    feats[torch.from_numpy(cold_u), 4] = 1.0
    feats[torch.from_numpy(cold_i), 1] = 0.0
    feats[torch.from_numpy(cold_i), 3] = 0.0
    feats[torch.from_numpy(cold_i), 5] = 1.0
    y = torch.tensor([to_unit(e.stars) for e in exs], dtype=torch.float32)
    return torch.stack(us), torch.stack(ps), feats, y


def train_side_models(data: RatingData, train_ex: list[Example], cfg: TrainConfig, base_path: str, settings: Settings, version_dir: Path) -> dict:
    """The text-only baseline (item text -> rating) and the review-sentiment model (review -> stars),
    same recipe (``TextRegressor``), saved next to the rating model."""
    out = {}
    rng = np.random.default_rng(cfg.seed + 1)
    if cfg.text_only_examples:
        pick = rng.permutation(len(train_ex))[: cfg.text_only_examples]
        texts = [train_ex[i].item_text or "(no text)" for i in pick]
        m = TextRegressor(base_path, max_length=96, device=settings.device)
        losses = m.fit(texts, [train_ex[i].stars for i in pick], epochs=cfg.text_epochs, seed=cfg.seed, desc="text-only baseline",
                       train_layers=cfg.text_train_layers)
        m.save(version_dir / "text_only")
        out["text_only"] = {"examples": len(texts), "final_loss": float(np.mean(losses[-20:]))}
    if cfg.sentiment_examples:
        reviews = [data.ratings[k] for k in data.train if data.ratings[k].text or data.ratings[k].title]
        pick = rng.permutation(len(reviews))[: cfg.sentiment_examples]
        texts = [f"{reviews[i].title}. {reviews[i].text}"[:400] for i in pick]
        m = TextRegressor(base_path, max_length=64, device=settings.device)
        losses = m.fit(texts, [reviews[i].stars for i in pick], epochs=cfg.text_epochs, seed=cfg.seed, desc="review sentiment",
                       train_layers=cfg.text_train_layers)
        m.save(version_dir / "sentiment")
        out["sentiment"] = {"examples": len(texts), "final_loss": float(np.mean(losses[-20:]))}
    return out


def _plot_curve(curve: dict, path: Path) -> None:
    import matplotlib  # heavy, and only for the curve PNG

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if curve["train_loss"]:
        k = max(1, len(curve["train_loss"]) // 100)
        sm = np.convolve(curve["train_loss"], np.ones(k) / k, mode="valid")
        ax.plot(curve["step"][: len(sm)], np.sqrt(sm) * 4, label="train RMSE (stars, smoothed)")
    ax.plot(curve["val_step"], curve["val_rmse"], "o-", label="validation RMSE (stars)")
    ax.set_xlabel("step")
    ax.set_ylabel("RMSE (stars)")
    ax.legend()
    ax.set_title("rating model training")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
