"""``shopassist ranker eval-dp``: DP-SGD and the plain recipe trained side by side in one run on 30
real MI users; the privacy spent is opacus' own, the costs are the two reports' own numbers."""

from __future__ import annotations

import pytest

from ranker import versions
from shopassist.cli import main
from shopassist.settings import Settings
from tests.conftest import dataset
from tests.ranker.conftest import MI

pytest.importorskip("opacus")


@pytest.mark.slow
def test_dp_cost_in_one_run(tmp_path, mi_small):
    from ranker.dp_eval import dp_cost

    s = Settings(data_dir=tmp_path / "work")
    data = mi_small.subset_users(30)
    r = dp_cost(data, s, epsilon=2.0, epochs=1, max_examples=120)
    assert 0 < r["privacy"]["epsilon_spent"] <= 2.0 + 1e-6  # early stopping may spend less, never more
    assert r["privacy"]["delta"] == pytest.approx(1 / 120)  # 1 / training examples
    assert r["n_test"] == len(data.test)
    p, q = r["non_private"], r["dp_sgd"]
    assert p["version"] != q["version"] and versions.current_name(s) is None  # both saved, neither served
    assert r["cost"]["rmse_dp_minus_plain"]["diff"] == pytest.approx(q["test_rmse"] - p["test_rmse"], abs=2e-4)
    assert r["cost"]["ndcg_dp_minus_plain"]["value"] == pytest.approx(q["ndcg@10"] - p["ndcg@10"], abs=2e-4)
    assert r["cost"]["ndcg_dp_minus_plain"]["n"] == len(data.test)


def test_eval_dp_refuses_a_bad_epsilon(tmp_path, capsys):
    argv = ["--data-dir", str(tmp_path / "data"), "ranker", "eval-dp", "--dataset", str(dataset(MI)), "--epsilon", "0"]
    assert main(argv) == 2
    assert "--epsilon must be positive" in capsys.readouterr().err
