"""Jacobians, Hessians and Hessian-vector products (SPEC §2, §4), against
finite differences of derivatives written here by hand."""

from __future__ import annotations

import inspect

import numpy as np

import ricci


def call(result, values):
    f = result.function()
    return np.asarray(f(**{p: values[p] for p in inspect.signature(f).parameters}), dtype=float)


def jacobian(fn, x, eps=1e-6):
    """Central differences of the array `fn()` (which reads `x`): shape of fn() + shape of x."""
    out = np.zeros(np.shape(fn()) + x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        up = fn()
        x[i] = saved - eps
        down = fn()
        x[i] = saved
        out[(...,) + i] = (up - down) / (2 * eps)
    return out


def close(a, b):
    return a.shape == b.shape and np.abs(a - b).max() <= 1e-6 * max(np.abs(b).max(), 1.0)


LINEAR = "index i : N; index j : M\nz_i = Σ_j W_ij s_j"
LOGISTIC = "index s : S; index m : M\np_s = σ(Σ_m X_sm w_m)\nL = -Σ_s (t_s log(p_s) + (1 - t_s) log(1 - p_s))"


def logistic_values(rng):
    return dict(X=rng.normal(size=(6, 3)), w=rng.normal(size=3), t=rng.integers(0, 2, 6).astype(float))


def logistic_gradient(v):
    p = 1 / (1 + np.exp(-v["X"] @ v["w"]))
    return v["X"].T @ (p - v["t"])


def test_jacobian_of_a_vector():
    d = ricci.derive(LINEAR, wrt=["s", "W"], of="z")
    rng = np.random.default_rng(0)
    # ∂z/∂W reads no array with z's axis, so it takes that size as `N`
    v = dict(W=rng.normal(size=(4, 3)), s=rng.normal(size=3), N=4, M=3)
    s, w = d["s"], d["W"]
    assert (s.kind, w.kind) == ("jacobian", "jacobian")
    assert s.matrix == "W" and s.shape == ("N", "M")
    # ∂z/∂W has order 3: no matrix form, the index form is the result.
    assert w.matrix is None and len(w.shape) == 3
    for r in (s, w):
        want = jacobian(lambda: v["W"] @ v["s"], v[r.wrt])
        assert close(call(r, v), want), r.wrt
        assert r.function().__name__ == f"dz_d{r.wrt}"


def test_jacobian_of_an_activation_is_diagonal():
    d = ricci.derive("index i : N\nz_i = σ(s_i)", wrt="s", of="z")
    rng = np.random.default_rng(1)
    v = dict(s=rng.normal(size=5))
    assert d["s"].kind == "jacobian" and "diag" in d["s"].matrix
    assert close(call(d["s"], v), jacobian(lambda: 1 / (1 + np.exp(-v["s"])), v["s"]))


def test_hessian_of_logistic_regression():
    d = ricci.derive(LOGISTIC, wrt="w", hessian=True)
    r = d["w"]
    assert r.kind == "hessian" and len(r.shape) == 2
    assert r.function().__name__ == "d2L_dw2"
    v = logistic_values(np.random.default_rng(2))
    assert close(call(r, v), jacobian(lambda: logistic_gradient(v), v["w"]))
    assert all(c.ok for c in d.check())


def test_hessian_of_a_quadratic_form():
    d = ricci.derive("index i : N\nL = Σ_i Σ_j x_i A_ij x_j", wrt="x", hessian=True)
    v = dict(A=np.random.default_rng(3).normal(size=(4, 4)), x=np.zeros(4))
    assert close(call(d["x"], v), v["A"] + v["A"].T)
    assert d["x"].matrix is not None


def test_hessian_vector_product():
    d = ricci.derive(LOGISTIC, wrt="w", hvp="v")
    r = d["w"]
    assert r.kind == "hvp" and len(r.shape) == 1
    assert r.function().__name__ == "hvp_L_w"
    assert "v" in inspect.signature(r.function()).parameters
    rng = np.random.default_rng(4)
    v = logistic_values(rng)
    v["v"] = rng.normal(size=3)
    want = jacobian(lambda: logistic_gradient(v), v["w"]) @ v["v"]
    assert close(call(r, v), want)
