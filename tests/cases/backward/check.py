"""Checks the backward function ricci writes (`--backward --format json`,
`backward.numpy`) against central finite differences of a forward pass
written here, independently of ricci; and checks that every per-result
function of the same JSON (one signature for all) agrees with it.

    python3 check.py CASE derivation.json

Prints one line per gradient and exits 1 on any disagreement.
"""

import inspect
import json
import sys

import numpy as np

TOLERANCE = 1e-6


def one_hot(rng, rows, cols):
    t = np.zeros((rows, cols))
    t[np.arange(rows), rng.integers(0, cols, rows)] = 1.0
    return t


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def layernorm(x, gamma, beta, eps):
    c = x - x.mean(axis=1, keepdims=True)
    return gamma * c / np.sqrt((c**2).mean(axis=1, keepdims=True) + eps) + beta


def mlp(rng):
    v = dict(W1=rng.normal(size=(4, 3)), b1=rng.normal(size=4), W2=rng.normal(size=(2, 4)),
             b2=rng.normal(size=2), x=rng.normal(size=3), y=rng.normal(size=2))

    def loss(v):
        z1 = np.maximum(v["W1"] @ v["x"] + v["b1"], 0)
        return (((v["W2"] @ z1 + v["b2"]) - v["y"]) ** 2).sum()

    return v, loss


def softmax_ce_mlp(rng):
    S, D, M, C = 5, 3, 4, 6
    v = dict(X=rng.normal(size=(S, D)), W1=rng.normal(size=(D, M)), b1=rng.normal(size=M),
             W2=rng.normal(size=(M, C)), b2=rng.normal(size=C), T=one_hot(rng, S, C))

    def loss(v):
        h = np.tanh(v["X"] @ v["W1"] + v["b1"])
        p = softmax(h @ v["W2"] + v["b2"])
        return -(v["T"] * np.log(p)).sum() / S

    return v, loss


def attention(rng):
    T, D, E = 4, 3, 5
    v = dict(X=rng.normal(size=(T, D)), Wq=rng.normal(size=(D, E)), Wk=rng.normal(size=(D, E)),
             Wv=rng.normal(size=(D, E)), G=rng.normal(size=(T, E)))

    def loss(v):
        q, k, val = v["X"] @ v["Wq"], v["X"] @ v["Wk"], v["X"] @ v["Wv"]
        return (v["G"] * (softmax(q @ k.T / np.sqrt(E)) @ val)).sum()

    return v, loss


def batchnorm_linear(rng):
    S, F, O = 6, 3, 4
    v = dict(X=rng.normal(size=(S, F)), gamma=rng.normal(size=F), beta=rng.normal(size=F),
             W=rng.normal(size=(F, O)), T=rng.normal(size=(S, O)), epsilon=0.1)

    def loss(v):
        c = v["X"] - v["X"].mean(axis=0)
        n = c / np.sqrt((c**2).mean(axis=0) + v["epsilon"])
        y = (v["gamma"] * n + v["beta"]) @ v["W"]
        return 0.5 * ((y - v["T"]) ** 2).sum()

    return v, loss


def transformer_block(rng):
    T, D, E, M = 4, 3, 5, 6
    v = dict(X=rng.normal(size=(T, D)), gamma1=rng.normal(size=D), beta1=rng.normal(size=D),
             Wq=rng.normal(size=(D, E)), Wk=rng.normal(size=(D, E)), Wv=rng.normal(size=(D, E)),
             Wo=rng.normal(size=(E, D)), gamma2=rng.normal(size=D), beta2=rng.normal(size=D),
             W1=rng.normal(size=(D, M)), b1=rng.normal(size=M), W2=rng.normal(size=(M, D)),
             b2=rng.normal(size=D), epsilon=0.1, dL_dY=rng.normal(size=(T, D)))

    def loss(v):
        x, eps = v["X"], v["epsilon"]
        a = layernorm(x, v["gamma1"], v["beta1"], eps)
        q, k, val = a @ v["Wq"], a @ v["Wk"], a @ v["Wv"]
        h = x + softmax(q @ k.T / np.sqrt(E)) @ val @ v["Wo"]
        z = layernorm(h, v["gamma2"], v["beta2"], eps) @ v["W1"] + v["b1"]
        g = 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)))
        y = h + g @ v["W2"] + v["b2"]
        return (v["dL_dY"] * y).sum()  # the given ∂L/∂Y

    return v, loss


def call(fn, v):
    return fn(**{p: v[p] for p in inspect.signature(fn).parameters if p in v})


def finite_difference(loss, v, name, h=1e-6):
    x = np.asarray(v[name], dtype=float)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        g[idx] = (loss({**v, name: plus}) - loss({**v, name: minus})) / (2 * h)
    return g


def relative(a, b):
    return np.abs(a - b).max() / max(1.0, np.abs(b).max())


def main():
    case, path = sys.argv[1], sys.argv[2]
    d = json.load(open(path))
    scope = {"np": np}
    exec(d["backward"]["numpy"], scope)
    backward = scope["backward_" + d["of"]]
    v, loss = globals()[case](np.random.default_rng(7))
    grads = call(backward, v)
    failed = 0
    wrt = [r["wrt"] for r in d["results"]]
    if len(grads) != len(wrt):
        print(f"{case}: backward returned {sorted(grads)}, expected {wrt}")
        failed += 1
    for r, (key, got) in zip(d["results"], grads.items()):
        want = finite_difference(loss, v, key)
        err = relative(np.asarray(got), want)
        ok = np.shape(got) == np.shape(want) and err < TOLERANCE
        # the per-result function, with the same arguments
        fscope = {"np": np}
        exec(r["numpy"], fscope)
        fn = next(f for n, f in fscope.items() if n.startswith("d") and callable(f))
        same = relative(np.asarray(call(fn, v), dtype=float), np.asarray(got))
        ok = ok and same < 1e-9
        failed += not ok
        print(f"{case} {key}: finite differences {err:.1e}, per-result function {same:.1e}: {'ok' if ok else 'FAILED'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
