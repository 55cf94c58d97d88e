"""`ranker train` under `torchrun --nproc_per_node 2` (gloo, CPU) on a tiny real subset of MI
2014 (the first 40 reviewers in file order, ~460 reviews), against the same command as one
process: one version saved (by rank 0), the same examples, and validation/test RMSE within
``TOLERANCE`` of the one-process run."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import dataset
from tests.ranker.conftest import MI

ROOT = Path(__file__).resolve().parents[2]
USERS = 40
# Two ranks see the same examples in other batches (each rank shuffles its own half, batch 32 + 32
# instead of 64) with other cold-start draws, so the head ends elsewhere: measured 0.0013 (val) and
# 0.0007 (test) stars apart on this subset; 0.01 stars (~1% of the RMSE) says "the same model",
# while a rank training on wrong data or not at all moves RMSE by more than that (see the curve check).
TOLERANCE = 0.01
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """The reviews of the first ``USERS`` reviewers of MI 2014, as a dataset folder."""
    rows = [json.loads(x) for x in gzip.open(dataset(MI) / "reviews.jsonl.gz", "rt")]
    first = list(dict.fromkeys(r["reviewerID"] for r in rows))[:USERS]
    keep = set(first)
    folder = tmp_path_factory.mktemp("mi_tiny")
    with gzip.open(folder / "reviews.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows if r["reviewerID"] in keep)
    return folder


def train(launcher: list[str], data_dir: Path, data: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [*launcher, "-m", "shopassist.cli", "--data-dir", str(data_dir), "ranker", "train", "--dataset", str(data),
           "--epochs", "3", "--text-only-examples", "0", "--sentiment-examples", "0", "--json"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1, done.stdout[-2000:]  # rank 0 reports; rank 1 prints nothing
    return json.loads(lines[0])


def test_two_gloo_processes_train_the_model_one_process_trains(tiny, tmp_path):
    one = train([sys.executable], tmp_path / "one", tiny)
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    two = train([torchrun, "--standalone", "--nproc_per_node", "2"], tmp_path / "two", tiny)

    assert one["config"]["processes"] == 1 and two["config"]["processes"] == 2
    assert two["data"] == one["data"]  # the same examples, split between the ranks
    assert [p.name for p in (tmp_path / "two" / "models" / "ranker").glob("v*")] == ["v0001"]  # saved once
    m1, m2 = one["metrics"], two["metrics"]
    assert m2["val_rmse_untrained"] == m1["val_rmse_untrained"]  # the same bias model and validation set
    for key in ("val_rmse", "test_rmse"):
        assert abs(m2[key] - m1[key]) <= TOLERANCE, (key, m1[key], m2[key])
    curve = json.loads((tmp_path / "two" / "models" / "ranker" / "v0001" / "curve.json").read_text())
    # every step of the two ranks counted once: the steps of one process over the whole set
    assert len(curve["train_loss"]) == len(json.loads((tmp_path / "one" / "models" / "ranker" / "v0001" / "curve.json").read_text())["train_loss"])
    assert curve["val_rmse"][-1] < curve["val_rmse"][0]  # the averaged gradients trained the head


def test_encoder_fine_tuning_is_refused_on_several_processes_before_any_work():
    from ranker.distributed import Ranks, check

    check(Ranks(0, 1), train_layers=2, dp_epsilon=1.0)  # one process: anything goes
    with pytest.raises(ValueError, match="frozen-encoder path only"):
        check(Ranks(0, 2), train_layers=2, dp_epsilon=None)
