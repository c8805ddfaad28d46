"""`.function()` runs the generated NumPy code; it agrees with central finite
differences of a forward pass written here, independently of ricci."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import ricci


def numeric_gradient(loss, x, eps=1e-6):
    """Central differences of `loss()` (which reads `x`) with respect to `x`, in place."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        up = loss()
        x[i] = saved - eps
        down = loss()
        x[i] = saved
        g[i] = (up - down) / (2 * eps)
    return g


def relative_error(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


MLP = """
index n : N; index d : D; index h : H; index c : C
Z_nh = Σ_d X_nd W1_dh + b1_h
A_nh = σ(Z_nh)
S_nc = Σ_h A_nh W2_hc + b2_c
P_nc = exp(S_nc) / Σ_k exp(S_nk)
L = -Σ_n Σ_c T_nc log(P_nc) + λ Σ_d Σ_h W1_dh^2
"""


def mlp_loss(v):
    a = 1 / (1 + np.exp(-(v["X"] @ v["W1"] + v["b1"])))
    p = softmax(a @ v["W2"] + v["b2"])
    return -(v["T"] * np.log(p)).sum() + v["lambda_"] * (v["W1"] ** 2).sum()


def mlp_inputs(rng):
    t = np.zeros((4, 3))
    t[np.arange(4), rng.integers(0, 3, 4)] = 1
    return dict(
        X=rng.normal(size=(4, 5)),
        W1=rng.normal(size=(5, 6)),
        b1=rng.normal(size=6),
        W2=rng.normal(size=(6, 3)),
        b2=rng.normal(size=3),
        T=t,
        lambda_=np.float64(0.3),
    )


RIDGE = "r_s = Σ_m X_sm w_m - y_s\nL = Σ_s r_s^2 + λ Σ_m w_m^2"


def ridge_loss(v):
    return ((v["X"] @ v["w"] - v["y"]) ** 2).sum() + v["lambda_"] * (v["w"] ** 2).sum()


def ridge_inputs(rng):
    return dict(X=rng.normal(size=(6, 3)), w=rng.normal(size=3), y=rng.normal(size=6), lambda_=np.float64(0.7))


CASES = {
    "mlp": (MLP, ["W1", "b1", "W2", "b2", "X", "λ"], mlp_loss, mlp_inputs),
    "ridge": (RIDGE, ["w", "X", "λ"], ridge_loss, ridge_inputs),
}


@pytest.mark.parametrize("case", CASES)
def test_functions_agree_with_finite_differences(case):
    source, wrt, loss, inputs = CASES[case]
    d = ricci.derive(source, wrt)
    rng = np.random.default_rng(7)
    for seed in range(3):
        v = inputs(np.random.default_rng(seed))
        for r in d.results:
            f = r.function()
            params = list(inspect.signature(f).parameters)
            got = np.asarray(f(**{p: v[p] for p in params}), dtype=float)
            key = {"λ": "lambda_"}.get(r.wrt, r.wrt)
            x = v[key] = np.array(v[key], dtype=float)
            want = numeric_gradient(lambda: loss(v), x)
            assert got.shape == x.shape, (r.wrt, got.shape)
            assert relative_error(got, want) < 1e-6, (r.wrt, r.matrix)
    assert rng is not None


def test_an_unknown_loss_takes_the_upstream_gradient():
    # L undefined: ∂L/∂W for a loss L(Y) with ∂L/∂Y = G is the gradient of Σ G ⊙ Y.
    d = ricci.derive("Y_sn = Σ_m X_sm W_nm + b_n", wrt=["W", "b", "X"])
    rng = np.random.default_rng(1)
    v = dict(X=rng.normal(size=(3, 4)), W=rng.normal(size=(5, 4)), b=rng.normal(size=5), dL_dY=rng.normal(size=(3, 5)))
    for name in ["W", "b", "X"]:
        f = d[name].function()
        got = f(**{p: v[p] for p in inspect.signature(f).parameters})
        x = v[name]
        want = numeric_gradient(lambda: (v["dL_dY"] * (v["X"] @ v["W"].T + v["b"])).sum(), x)
        assert relative_error(got, want) < 1e-6


def test_an_opaque_function_is_a_parameter():
    d = ricci.derive("index i : N\nL = Σ_i h(x_i) w_i", "x")
    assert d.notes == [
        "`h` is not a built-in function: it is treated as an opaque elementwise function `h` with derivative `h'`"
    ]
    f = d["x"].function()
    assert {"h_prime", "w"} <= set(inspect.signature(f).parameters)
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=5), rng.normal(size=5)
    kwargs = dict(x=x, w=w, h=np.sin, h_prime=np.cos)
    got = f(**{p: kwargs[p] for p in inspect.signature(f).parameters})
    assert relative_error(got, numeric_gradient(lambda: (np.sin(x) * w).sum(), x)) < 1e-6


def test_the_function_is_compiled_once_and_shows_its_source():
    d = ricci.derive("L = Σ_i x_i^2", "x")
    f = d["x"].function()
    assert f is d["x"].function()
    assert f.__name__ == "dL_dx"
    assert inspect.getsource(f) == d["x"].numpy
    assert np.allclose(f(np.array([1.0, -2.0])), [2.0, -4.0])


def test_nothing_is_rendered_until_read():
    d = ricci.derive(MLP, ["W1", "b1"])
    r = d["W1"]
    assert r._cache == {}
    r.matrix
    assert list(r._cache) == ["matrix"]
    r.function()
    assert set(r._cache) == {"matrix", "numpy", "function"}
    assert d["b1"]._cache == {}
