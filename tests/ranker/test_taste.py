"""The personal taste term (``ranker.taste``): the dual-form ridge against the primal textbook
solution, attributions that add up to the prediction, and validation-only tuning."""

from __future__ import annotations

import numpy as np

from ranker.taste import Taste, TasteParams, design, tune, user_residuals


def test_dual_form_equals_primal_ridge_on_centred_rows():
    rng = np.random.default_rng(0)
    X, e, Xc = rng.normal(size=(7, 5)), rng.normal(size=7), rng.normal(size=(4, 5))
    alpha = 0.7
    m = X.mean(0)
    w = np.linalg.solve((X - m).T @ (X - m) + alpha * np.eye(5), (X - m).T @ e)  # primal: d x d solve
    t = Taste.fit(X, e, alpha, weight=0.5)
    np.testing.assert_allclose(t.predict(Xc), 0.5 * (Xc - m) @ w, atol=1e-10)


def test_attributions_sum_to_the_prediction_and_name_the_pulling_item():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    t = Taste.fit(X, np.array([1.0, -1.0, 0.0]), alpha=0.5, weight=1.0, labels=["liked", "disliked", "neutral"])
    c = t.contributions(np.array([[1.0, 0.0]]))  # the candidate looks like the liked item
    assert t.predict(np.array([[1.0, 0.0]]))[0] > 0  # like the liked item: above the user's mean
    assert t.labels[int(np.argmax(c[0]))] == "liked"
    assert Taste.fit(X, np.ones(3), 1.0, weight=0.0).predict(X).tolist() == [0.0, 0.0, 0.0]  # weight 0 = off


def test_residuals_remove_mu_item_bias_and_the_shrunk_user_offset():
    e = user_residuals([5.0, 5.0, 1.0], [0.5, 0.0, -0.5], mu=4.0, reg=1.0)
    y = np.array([0.5, 1.0, -2.5])
    np.testing.assert_allclose(e, y - y.sum() / 4.0)


def test_price_column_is_z_scored_log_price_and_zero_when_unknown():
    X = design(np.zeros((3, 2)), [None, 9.0, 99.0], TasteParams(price_mean=np.log(10.0), price_std=np.log(10.0)))
    np.testing.assert_allclose(X[:, -1], [0.0, 0.0, 1.0], atol=1e-12)


def test_tune_switches_the_term_off_when_it_does_not_help_on_validation():
    rng = np.random.default_rng(1)
    rows = [(rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=(1, 3))) for _ in range(40)]
    base = np.full(40, 3.0)
    alpha, weight, grid = tune(rows, base, base)  # the model is already exact: any taste only adds error
    assert weight == 0.0 and min(grid.values()) == 0.0
    truth = base + np.asarray([Taste.fit(X, e, 1.0, 1.0).predict(x)[0] for X, e, x in rows])
    alpha, weight, _ = tune(rows, base, truth)  # validation follows the term exactly: it is chosen
    assert (alpha, weight) == (1.0, 1.0)
