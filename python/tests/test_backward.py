"""`ricci.derive(…, backward=True).backward`: the backward pass as lines and
code; its compiled NumPy function agrees with central finite differences of a
forward pass written here, and with every per-result function."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import ricci

MLP = """
index i : H
index j : D
index k : K
s^(1)_i = Σ_j W^(1)_ij x_j + b^(1)_i
z^(1)_i = relu(s^(1)_i)
s^(2)_k = Σ_i W^(2)_ki z^(1)_i + b^(2)_k
ŷ_k = s^(2)_k
L = Σ_k (ŷ_k - y_k)^2
"""
WRT = ["W^(1)", "b^(1)", "W^(2)", "b^(2)"]


def test_the_lines_are_the_seed_recurrence():
    b = ricci.derive(MLP, wrt=WRT, backward=True).backward
    assert b.lines == [
        "∂L/∂ŷ = 2 (ŷ − y) ∈ ℝ^(K)",
        "∂L/∂W⁽²⁾ = ∂L/∂ŷ z⁽¹⁾ᵀ ∈ ℝ^(K×H)",
        "∂L/∂b⁽²⁾ = ∂L/∂ŷ ∈ ℝ^(K)",
        "∂L/∂z⁽¹⁾ = W⁽²⁾ᵀ ∂L/∂ŷ ∈ ℝ^(H)",
        "∂L/∂s⁽¹⁾ = ∂L/∂z⁽¹⁾ ⊙ relu'(s⁽¹⁾) ∈ ℝ^(H)",
        "∂L/∂W⁽¹⁾ = ∂L/∂s⁽¹⁾ xᵀ ∈ ℝ^(H×D)",
        "∂L/∂b⁽¹⁾ = ∂L/∂s⁽¹⁾ ∈ ℝ^(H)",
    ]
    assert b.latex.startswith("\\begin{align}")
    assert b.numpy.startswith("def backward_L(W1, x, b1, W2, b2, y):")
    assert "def backward_L(" in b.torch and "torch." in b.torch
    assert "def backward_L(" in b.jax and "jnp." in b.jax


def test_the_compiled_backward_agrees_with_finite_differences_and_the_per_result_functions():
    d = ricci.derive(MLP, wrt=WRT, backward=True)
    rng = np.random.default_rng(3)
    v = dict(W1=rng.normal(size=(4, 3)), b1=rng.normal(size=4), W2=rng.normal(size=(2, 4)),
             b2=rng.normal(size=2), x=rng.normal(size=3), y=rng.normal(size=2))

    def loss():
        z1 = np.maximum(v["W1"] @ v["x"] + v["b1"], 0)
        return (((v["W2"] @ z1 + v["b2"]) - v["y"]) ** 2).sum()

    backward = d.backward.function()
    params = list(inspect.signature(backward).parameters)
    grads = backward(**{p: v[p] for p in params})
    assert list(grads) == ["W1", "b1", "W2", "b2"]
    for r, (name, got) in zip(d.results, grads.items()):
        want = np.zeros_like(v[name])
        for i in np.ndindex(want.shape):
            saved = v[name][i]
            v[name][i] = saved + 1e-6
            up = loss()
            v[name][i] = saved - 1e-6
            down = loss()
            v[name][i] = saved
            want[i] = (up - down) / 2e-6
        assert np.abs(got - want).max() < 1e-6
        f = r.function()
        assert list(inspect.signature(f).parameters) == params  # one signature
        assert np.allclose(f(**{p: v[p] for p in params}), got)


def test_a_jacobian_has_no_backward_pass():
    with pytest.raises(ricci.RicciError, match="--backward is the backward pass of a scalar loss"):
        ricci.derive("y_i = Σ_j A_ij x_j", wrt="x", of="y", backward=True)
    d = ricci.derive("L = Σ_i w_i^2", wrt="w", hessian=True)
    with pytest.raises(ricci.RicciError):
        d.backward.lines
