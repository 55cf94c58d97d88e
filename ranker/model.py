"""The rating model: a shared (fine-tuned) encoder for a user tower and an item tower,
and a light regression head that predicts the residual over the user+item bias model.

    u = enc(user text)   p = enc(item text)            mean-pooled, L2-normalised (MiniLM style)
    x = [u, p, u*p, b_u, b_i, log1p(n_u)/5, log1p(n_i)/5, cold_user, cold_item]
    training:  y_hat = base + head(x)     base = (clip(mu + b_u + b_i, 1, 5) - 1) / 4,  MSE on stars/4
    serving:   stars = clip(mu + d + c_u * b_u + c_i * b_i + c_h * 4 * head(x), 1, 5)

The head's last layer starts at zero, so the untrained model *is* the bias model and
training can only add what text knows beyond the biases (what the user liked before,
what other reviewers said). The blend (d, c_u, c_i, c_h) is calibrated on validation by least
squares (untrained: 0, 1, 1, 1 = the bias model), which also learns how far to trust each
bias on this data (biases fitted on few ratings overshoot). Item encodings do not
depend on the user, so serving caches them per product and runs only the head per pair.

``TextRegressor`` (``AutoModelForSequenceClassification``, ``num_labels=1``) is the same
recipe for text -> stars: the research's text-only baseline (item text -> rating) and the
review-sentiment model (review text -> stars) behind user profiles.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.models import resolve_model_path

# torch, transformers and tqdm are imported inside the methods that need them: they take seconds to
# load, and the catalog prior, the CLI's --help and the doctests never need them.

N_FEATS = 6  # bias features appended to [u, p, u*p]
DEFAULT_CALIB = {"d": 0.0, "cu": 1.0, "ci": 1.0, "ch": 1.0}  # = the bias model + the raw head


def to_unit(stars):
    """Stars 1..5 -> [0, 1] (the research's target scaling).

    >>> to_unit(5.0), to_unit(1.0), to_unit(4.0)
    (1.0, 0.0, 0.75)
    """
    return (stars - 1.0) / 4.0


def to_stars(y):
    """[0, 1] -> stars, clipped.

    >>> to_stars(0.75), to_stars(1.3)
    (4.0, 5.0)
    """
    return 1.0 + 4.0 * min(max(float(y), 0.0), 1.0)


def text_key(text: str) -> str:
    """Content hash used to cache an encoding (item text, user text)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def bias_features(bu: float, bi: float, n_user: int, n_item: int) -> list[float]:
    """The 6 bias features: biases, log counts (scaled to ~[0, 1]) and cold flags.

    >>> bias_features(0.2, -0.1, 0, 9)
    [0.2, -0.1, 0.0, 0.46, 1.0, 0.0]
    """
    return [bu, bi, round(math.log1p(n_user) / 5, 2), round(math.log1p(n_item) / 5, 2), float(n_user == 0), float(n_item == 0)]


def resolve_base(configured: str = "") -> str:
    """The encoder to fine-tune: the configured path, or the bundled MiniLM."""
    return resolve_model_path(configured, "SHOPASSIST_RANKER_BASE or --base")


@dataclass
class HeadConfig:
    dim: int = 384  # MiniLM-L6 hidden size; read from the encoder config
    hidden: int = 256  # one hidden layer: enough for interactions, cheap at serving
    dropout: float = 0.1


def build_head(cfg: HeadConfig):
    import torch.nn as nn

    head = nn.Sequential(
        nn.Linear(3 * cfg.dim + N_FEATS, cfg.hidden),
        nn.GELU(),
        nn.Dropout(cfg.dropout),
        nn.Linear(cfg.hidden, 1),
    )
    nn.init.zeros_(head[3].weight)  # start exactly at the bias model
    nn.init.zeros_(head[3].bias)
    return head


def head_input(u, p, feats):
    import torch

    return torch.cat([u, p, u * p, feats], dim=-1)


@contextmanager
def one_thread():
    """Run the enclosed torch ops on one intra-op thread, then restore the count.

    The head's matmuls are small (~1-3 ms): a second thread gains little, and on a shared CPU
    each op waits for the slower thread. Measured with 100 candidates while another process
    used a core: 2 threads 296-428 ms p50, 1 thread 31-48 ms (BENCHMARKS.md, ranker section 2).
    The count is process-wide, so an encoder pass running at the same moment in another thread
    runs on one thread too (slower, never wrong).
    """
    import torch

    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class Encoder:
    """A HF encoder + tokenizer with MiniLM-style mean pooling; top ``train_layers`` trainable."""

    def __init__(self, path: str, max_length: int = 128, device: str = "cpu"):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path, self.max_length, self.device = path, max_length, device
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device)
        self.model.eval()
        self.dim = int(self.model.config.hidden_size)
        self._torch = torch

    def set_trainable(self, top_layers: int) -> list:
        """Freeze all but the top ``top_layers`` transformer layers; returns the trainable params."""
        for p in self.model.parameters():
            p.requires_grad = False
        layers = _layers(self.model)
        params = []
        for layer in layers[len(layers) - top_layers :] if top_layers > 0 else []:
            for p in layer.parameters():
                p.requires_grad = True
                params.append(p)
        return params

    def encode(self, texts: list[str], grad: bool = False):
        """Mean-pooled, L2-normalised embeddings (a torch tensor [n, dim])."""
        torch = self._torch
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt").to(self.device)
        with torch.set_grad_enabled(grad):
            out = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
            pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    def encode_many(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode (no grad) in batches, longest first for less padding; returns float32 [n, dim]."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        it = range(0, len(order), batch_size)
        if progress:
            from tqdm import tqdm

            it = tqdm(it, desc="encode", unit="batch", leave=False)
        for s in it:
            idx = order[s : s + batch_size]
            out[idx] = self.encode([texts[i] for i in idx]).cpu().numpy()
        return out

    def save(self, folder: Path) -> None:
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)


def _layers(model):
    for path in ("encoder.layer", "transformer.layer", "layers", "encoder.layers"):
        obj = model
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
            return list(obj)
        except AttributeError:
            continue
    raise ValueError(f"cannot find the transformer layers of {type(model).__name__} to fine-tune")


class TextRegressor:
    """text -> stars with ``AutoModelForSequenceClassification(num_labels=1)``, fine-tuned with MSE
    on stars scaled to [0, 1]. Predictions are cached by text hash (many texts repeat)."""

    def __init__(self, path: str, max_length: int = 128, device: str = "cpu"):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.path, self.max_length, self.device = path, max_length, device
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1).to(device)
        self._cache: dict[str, float] = {}
        self.int8 = False  # set by ``quantize``

    def fit(self, texts: list[str], stars: list[float], epochs: int = 1, batch_size: int = 16, lr: float = 5e-5,
            weight_decay: float = 0.01, warmup: float = 0.1, seed: int = 0, desc: str = "text->stars",
            train_layers: int | None = None) -> list[float]:
        """Fine-tune; returns the per-step training losses.

        ``train_layers``: fine-tune only the top k encoder layers (+ the head); None = all.
        On 2 shared CPU cores k = 2 costs about half of full fine-tuning per step.
        """
        import torch
        from tqdm import tqdm
        from transformers import get_linear_schedule_with_warmup

        torch.manual_seed(seed)
        y = torch.tensor([to_unit(s) for s in stars], dtype=torch.float32)
        head = getattr(self.model, "classifier", None)
        if isinstance(head, torch.nn.Linear) and float(y.numel()):  # start at the mean rating, not at 0 (1 star)
            with torch.no_grad():
                head.bias.fill_(float(y.mean()))
        if train_layers is not None:
            for p in self.model.base_model.parameters():
                p.requires_grad = False
            layers = _layers(self.model.base_model)
            for layer in layers[len(layers) - train_layers :] if train_layers > 0 else []:
                for p in layer.parameters():
                    p.requires_grad = True
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        steps = epochs * math.ceil(len(texts) / batch_size)
        sched = get_linear_schedule_with_warmup(opt, int(warmup * steps), steps)
        rng = np.random.default_rng(seed)
        losses = []
        self.model.train()
        bar = tqdm(total=steps, desc=desc, unit="step")
        for _ in range(epochs):
            perm = rng.permutation(len(texts))
            for s in range(0, len(perm), batch_size):
                idx = perm[s : s + batch_size]
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_length, return_tensors="pt").to(self.device)
                pred = self.model(**batch).logits.squeeze(-1)
                loss = torch.nn.functional.mse_loss(pred, y[idx].to(self.device))
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss))
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
                bar.update()
        bar.close()
        self.model.eval()
        self._cache.clear()
        return losses

    def predict(self, texts: list[str], batch_size: int = 64) -> list[float]:
        """Predicted stars per text."""
        import torch

        missing = list(dict.fromkeys(t for t in texts if text_key(t) not in self._cache))
        missing.sort(key=len)
        for s in range(0, len(missing), batch_size):
            chunk = missing[s : s + batch_size]
            batch = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt").to(self.device)
            with torch.no_grad():
                out = self.model(**batch).logits.squeeze(-1).cpu().numpy()
            for t, v in zip(chunk, np.atleast_1d(out)):
                self._cache[text_key(t)] = to_stars(v)
        return [self._cache[text_key(t)] for t in texts]

    def quantize(self) -> bool:
        """Serve with int8 Linear layers (torch dynamic quantisation): ~2x faster on CPU.
        Measured on the MI review-sentiment model: review RMSE 0.8651 -> 0.8671 (+0.002 stars),
        the same liked/disliked aspects for 12 of 12 users (BENCHMARKS.md, ranker section 8).
        Returns False (and stays fp32) where this torch build has no quantised engine."""
        import torch

        try:
            with warnings.catch_warnings():  # torch.ao deprecation notices: the API still ships in this torch
                warnings.simplefilter("ignore")
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        except (RuntimeError, AssertionError) as e:  # no fbgemm/qnnpack engine here
            import logging

            logging.getLogger(__name__).info("int8 quantisation unavailable (%s): serving fp32", e)
            return False
        self._cache.clear()
        self.int8 = True
        return True

    def save(self, folder: Path) -> None:
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)


class RatingModel:
    """Encoder + head + calibration: predicted stars for (user text, item text, bias features).

    Embeddings are cached by text hash, so each distinct item text is encoded once
    (serving: once per product version) and each user once per request.
    """

    def __init__(self, encoder: Encoder, head, mu: float, calib: dict | None = None, info: dict | None = None):
        self.encoder, self.head, self.mu = encoder, head, float(mu)
        self.calib = dict(calib or DEFAULT_CALIB)
        self.info = dict(info or {})
        self.cache: dict[str, np.ndarray] = {}
        self.cache_path: Path | None = None  # where ``save_cache`` persists unit encodings
        self._saved = 0

    @property
    def fingerprint(self) -> str:
        """Identity of the encoder weights + max_length: the key of the on-disk encoding cache.
        A frozen base keeps its fingerprint; fine-tuning sets a new one (``train``)."""
        return self.info.get("fingerprint") or text_key(f"{self.encoder.path}|{self.encoder.max_length}")

    def attach_cache(self, folder: Path) -> None:
        """Load (and later save) unit encodings under ``folder/<fingerprint>.npz``."""
        self.cache_path = Path(folder) / f"{self.fingerprint}.npz"
        if self.cache_path.exists():
            z = np.load(self.cache_path)
            self.cache.update(zip(z["keys"].tolist(), z["vecs"]))
        self._saved = len(self.cache)

    def save_cache(self) -> None:
        if self.cache_path is None or len(self.cache) == self._saved:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.cache)
        tmp = self.cache_path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.asarray(keys), vecs=np.stack([self.cache[k] for k in keys]))
        tmp.replace(self.cache_path)
        self._saved = len(keys)

    def embed(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in self.cache}
        if missing:
            vecs = self.encoder.encode_many(list(missing.values()), batch_size=batch_size, progress=progress)
            self.cache.update(zip(missing.keys(), vecs))
        return np.stack([self.cache[k] for k in keys]) if keys else np.zeros((0, self.encoder.dim), np.float32)

    def combine(self, feats: np.ndarray, res: np.ndarray) -> np.ndarray:
        """Stars from bias features and head residuals with the calibrated blend (module docstring)."""
        c = self.calib
        y = self.mu + c["d"] + c["cu"] * feats[:, 0] + c["ci"] * feats[:, 1] + c["ch"] * 4.0 * np.asarray(res)
        return np.clip(y, 1.0, 5.0)

    def base(self, bu, bi) -> np.ndarray:
        """The bias model's prediction in [0, 1] units: (clip(mu + b_u + b_i) - 1) / 4."""
        return (np.clip(self.mu + np.asarray(bu, float) + np.asarray(bi, float), 1, 5) - 1) / 4

    def residual(self, u: np.ndarray, p: np.ndarray, feats: np.ndarray) -> np.ndarray:
        import torch

        self.head.eval()
        with torch.no_grad():
            x = head_input(torch.from_numpy(u), torch.from_numpy(p), torch.from_numpy(np.asarray(feats, np.float32)))
            return self.head(x).squeeze(-1).numpy().astype(float)

    def residual_grid(self, V: np.ndarray, P: np.ndarray, feats: np.ndarray) -> np.ndarray:
        """Head residuals for every (user vector, item) pair: ``[len(V), len(P)]``, the same
        numbers as ``residual`` on the repeated rows, at about a third of the multiply-adds.

        The first layer is linear, so with W = [W_u | W_p | W_x | W_f] over [u, p, u*p, f]:

            z(u_i, p_j) = W_u u_i  +  (W_p p_j + W_f f_j + b)  +  W_x (u_i * p_j)

        the user part is computed once per user vector, the item part once per item, and
        only the interaction W_x (u_i * p_j) (dim x hidden) per pair, instead of the whole
        (3 dim + 6) x hidden layer on a materialised [J*n, 3 dim + 6] input. Serving uses it
        for the leave-one-out explanations: J user variants x n candidates in one matmul.
        ``tests/ranker/test_train.py`` checks it against ``residual`` on the repeated rows.
        """
        import torch

        V = np.asarray(V, np.float32).reshape(-1, P.shape[1])
        lin, act, out = self._head_layers()
        if lin is None:  # not the stock head: evaluate the materialised rows
            J, n = len(V), len(P)
            rows = self.residual(np.repeat(V, n, 0), np.tile(P, (J, 1)), np.tile(feats, (J, 1)))
            return rows.reshape(J, n)
        d = P.shape[1]
        with torch.no_grad(), one_thread():
            W, b = lin.weight, lin.bias
            Wu, Wp, Wx, Wf = W[:, :d], W[:, d : 2 * d], W[:, 2 * d : 3 * d], W[:, 3 * d :]
            v = torch.from_numpy(V)
            p = torch.from_numpy(np.asarray(P, np.float32))
            f = torch.from_numpy(np.asarray(feats, np.float32))
            z_item = torch.addmm(b, p, Wp.T) + f @ Wf.T  # [n, h]
            z_user = v @ Wu.T  # [J, h]
            z_pair = ((v[:, None, :] * p[None, :, :]).reshape(-1, d) @ Wx.T).reshape(len(v), len(p), -1)  # [J, n, h]
            z = z_pair + z_user[:, None, :] + z_item[None, :, :]
            return (act(z) @ out.weight[0] + out.bias[0]).numpy().astype(float)

    def _head_layers(self):
        """(first Linear, activation, last Linear) of the stock head (``build_head``), else (None,)*3."""
        import torch.nn as nn

        h = self.head
        if isinstance(h, nn.Sequential) and len(h) == 4 and isinstance(h[0], nn.Linear) and isinstance(h[3], nn.Linear) \
                and isinstance(h[2], nn.Dropout) and h[3].out_features == 1:
            return h[0], h[1], h[3]
        return None, None, None

    def predict(self, user_texts: list[str], item_texts: list[str], feats: np.ndarray, progress: bool = False) -> np.ndarray:
        """Stars for each (user text, item text, features) row; features from ``bias_features``."""
        feats = np.asarray(feats, np.float32).reshape(len(item_texts), N_FEATS)
        u = self.embed(user_texts, progress=progress)
        p = self.embed(item_texts, progress=progress)
        return self.combine(feats, self.residual(u, p, feats))

    def save(self, folder: Path) -> None:
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save(folder / "encoder")
        torch.save(self.head.state_dict(), folder / "head.pt")
        cfg = {"mu": self.mu, "calib": self.calib, "fingerprint": self.fingerprint, "dim": self.encoder.dim, "max_length": self.encoder.max_length,
               "hidden": self.head[0].out_features, **self.info}
        (folder / "model.json").write_text(json.dumps(cfg, indent=2))

    @classmethod
    def load(cls, folder: Path, device: str = "cpu") -> "RatingModel":
        import torch

        cfg = json.loads((folder / "model.json").read_text())
        enc = Encoder(str(folder / "encoder"), max_length=cfg["max_length"], device=device)
        head = build_head(HeadConfig(dim=cfg["dim"], hidden=cfg["hidden"]))
        head.load_state_dict(torch.load(folder / "head.pt", map_location=device))
        head.eval()
        calib = cfg.get("calib") or {**DEFAULT_CALIB, "ch": float(cfg.get("alpha", 1.0))}  # early versions stored only alpha
        return cls(enc, head, cfg["mu"], calib, {k: v for k, v in cfg.items() if k not in ("mu", "calib", "alpha")})
