"""Runs the NumPy code ricci generates for every seed case on random inputs and
compares it with a finite-difference gradient of a forward pass written here,
independently of ricci. The PyTorch code (`--format torch`) is compiled, and
also run the same way when torch is installed.

    python3 tests/python/test_numpy.py [path/to/ricci]

Prints one line per case and ends with `numpy: N passed, M failed`; exits 1 on
any failure.
"""

import inspect
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES_DIR = os.path.join(ROOT, "tests", "cases", "derive")
RICCI = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "ricci")
TOLERANCE = 1e-6


def h(x):
    return np.sin(x) + 0.5 * x


def h_prime(x):
    return np.cos(x) + 0.5


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def get(v, name, compute):
    """An intermediate tensor, unless the caller perturbs it."""
    return v[name] if name in v else compute()


def one_hot(rng, rows, cols):
    t = np.zeros((rows, cols))
    t[np.arange(rows), rng.integers(0, cols, rows)] = 1.0
    return t


# Each case: the fixture, the inputs (with distinct sizes per dimension), and a
# forward pass returning the loss (a defined L) or the outputs (an undefined L).
def case_000_linear(rng):
    inputs = dict(X=rng.uniform(-1, 1, (3, 4)), W=rng.uniform(-1, 1, (5, 4)), b=rng.uniform(-1, 1, 5))
    return inputs, lambda v: {"Y": v["X"] @ v["W"].T + v["b"]}


def case_000_activation(rng):
    return dict(X=rng.uniform(-1, 1, (3, 4))), lambda v: {"Y": h(v["X"])}


def case_001_matmul(rng):
    inputs = dict(X=rng.uniform(-1, 1, (3, 4)), W=rng.uniform(-1, 1, (4, 5)))
    return inputs, lambda v: {"Y": v["X"] @ v["W"]}


def case_001_softmax_ce(rng):
    inputs = dict(S=rng.uniform(-1, 1, (3, 4)), T=one_hot(rng, 3, 4))

    def forward(v):
        p = get(v, "P", lambda: softmax(v["S"]))
        return {"L": -(v["T"] * np.log(p)).sum()}

    return inputs, forward


def case_001_two_layer(rng):
    inputs = dict(
        X=rng.uniform(-1, 1, (3, 4)),
        W1=rng.uniform(-1, 1, (4, 5)),
        b1=rng.uniform(-1, 1, 5),
        W2=rng.uniform(-1, 1, (5, 2)),
        b2=rng.uniform(-1, 1, 2),
    )

    def forward(v):
        z = get(v, "z", lambda: v["X"] @ v["W1"] + v["b1"])
        hidden = get(v, "H", lambda: np.maximum(z, 0))
        return {"S": hidden @ v["W2"] + v["b2"]}

    return inputs, forward


def case_002_softmax(rng):
    return dict(Z=rng.uniform(-1, 1, (3, 4))), lambda v: {"Y": softmax(v["Z"])}


def case_002_softmax_ce(rng):
    inputs = dict(Z=rng.uniform(-1, 1, (3, 4)), T=one_hot(rng, 3, 4))

    def forward(v):
        y = get(v, "Y", lambda: softmax(v["Z"]))
        return {"L": -(v["T"] * np.log(y)).sum() / v["Z"].shape[0]}

    return inputs, forward


def mlp(activation, last):
    def make(rng):
        inputs = dict(
            W1=rng.uniform(-1, 1, (4, 3)),
            x=rng.uniform(-1, 1, 3),
            # pre-activations of both signs, so relu' is neither all 0 nor all 1
            b1=rng.uniform(-0.2, 0.2, 4) + np.array([1.5, -1.5, 1.5, -1.5]),
            W2=rng.uniform(-1, 1, (2, 4)),
            b2=rng.uniform(-1, 1, 2),
            y=rng.uniform(-1, 1, 2),
        )

        def forward(v):
            s1 = get(v, "s1", lambda: v["W1"] @ v["x"] + v["b1"])
            z1 = get(v, "z1", lambda: activation(s1))
            s2 = get(v, "s2", lambda: v["W2"] @ z1 + v["b2"])
            yhat = get(v, "yhat", lambda: last(s2))
            return {"L": ((yhat - v["y"]) ** 2).sum()}

        return inputs, forward

    return make


def case_003_bce(rng):
    inputs = dict(yhat=rng.uniform(0.1, 0.9, 4), y=rng.uniform(0.1, 0.9, 4))

    def forward(v):
        yhat, y = v["yhat"], v["y"]
        return {"L": -(y * np.log(yhat) + (1 - y) * np.log(1 - yhat)).sum() / y.shape[0]}

    return inputs, forward


def case_003_bce_sigmoid(rng):
    inputs = dict(s=rng.uniform(-1, 1, 4), y=rng.uniform(0.1, 0.9, 4))

    def forward(v):
        yhat = get(v, "yhat", lambda: sigmoid(v["s"]))
        y = v["y"]
        return {"L": -(y * np.log(yhat) + (1 - y) * np.log(1 - yhat)).sum() / y.shape[0]}

    return inputs, forward


def case_004_hw(rng):
    inputs = dict(H=rng.uniform(-1, 1, (3, 4)), W=rng.uniform(-1, 1, (4, 5)))
    return inputs, lambda v: {"Y": v["H"] @ v["W"]}


def simple(shapes, forward, positive=(), sizes=None):
    def make(rng):
        inputs = {k: rng.uniform(0.1, 0.9, shp) if k in positive else rng.uniform(-1, 1, shp) for k, shp in shapes.items()}
        return inputs, forward

    make.sizes = sizes or {}
    return make


# Derivations beyond the seed documents, each with its own forward pass.
EXTRA = {
    # the identity needs its size as an int parameter (SPEC §4)
    "trace": simple(dict(X=(3, 3)), lambda v: {"L": np.trace(v["X"])}, sizes={"n_i": 3, "n_j": 3}),
    "quadratic": simple(dict(x=3, A=(3, 3)), lambda v: {"L": v["x"] @ v["A"] @ v["x"]}),
    "order3": simple(
        dict(A=(2, 3), B=(3, 4), T=(2, 3, 4)),
        lambda v: {"Y": np.einsum("ij,jk->ijk", v["A"], v["B"]) + v["T"]},
    ),
    "outer": simple(dict(c=(), x=3, y=4), lambda v: {"Y": v["c"] * np.outer(v["x"], v["y"])}),
    "chain": simple(dict(A=(2, 3), B=(3, 4), C=(4, 5)), lambda v: {"Y": v["A"] @ v["B"] @ v["C"]}),
    "ridge": simple(
        dict(Y=(3, 4), X=(3, 2), W=(2, 4), lambda_=()),
        lambda v: {"L": ((v["Y"] - v["X"] @ v["W"]) ** 2).sum() + v["lambda_"] * (v["W"] ** 2).sum()},
    ),
    "logsumexp": simple(
        dict(X=(3, 4), w=5),
        lambda v: {"L": np.log(np.exp(v["X"]).sum(axis=1)).sum() + (v["w"] / (1 + v["w"] ** 2)).sum()},
    ),
    "functions": simple(
        dict(X=(3, 4)),
        lambda v: {"Y": np.tanh(v["X"]) + np.logaddexp(0, v["X"]) + np.abs(v["X"]) + np.sqrt(v["X"] ** 2 + 1)},
    ),
}

CASES = {
    "000_linear": case_000_linear,
    "000_activation": case_000_activation,
    "001_matmul": case_001_matmul,
    "001_softmax_ce": case_001_softmax_ce,
    "001_two_layer": case_001_two_layer,
    "002_softmax": case_002_softmax,
    "002_softmax_ce": case_002_softmax_ce,
    "003_mlp": mlp(lambda s: np.maximum(s, 0), lambda s: s),
    "003_mlp_numerator": mlp(lambda s: np.maximum(s, 0), lambda s: s),
    "003_mlp_sigmoid": mlp(sigmoid, sigmoid),
    "003_bce": case_003_bce,
    "003_bce_sigmoid": case_003_bce_sigmoid,
    "004_hw": case_004_hw,
}


def wrts(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# expect "):
                out.append(line[len("# expect "):].split(":")[0])
            elif line.startswith("# wrt: "):
                out.extend(line[len("# wrt: "):].split())
    return out


def ascii_name(name):
    return name.replace("^(", "").replace(")", "").replace("ŷ", "yhat").replace("λ", "lambda_")


def loss_of(forward, values, grads):
    out = forward(values)
    if "L" in out:
        return out["L"]
    return sum((out[k] * grads[k]).sum() for k in out)


def numeric_gradient(forward, values, grads, name):
    base = values[name]
    g = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        x = base[idx]
        step = 1e-6 * max(1.0, abs(x))
        f = []
        for sign in (1, -1):
            v = dict(values)
            p = base.copy()
            p[idx] = x + sign * step
            v[name] = p
            f.append(loss_of(forward, v, grads))
        g[idx] = (f[0] - f[1]) / (2 * step)
    return g


def intermediate(forward, values, name):
    """The value of an intermediate tensor, read by perturbing nothing."""
    seen = {}
    # Run the forward pass once with a recorder around `get`.
    global get
    original = get

    def recording_get(v, key, compute):
        value = original(v, key, compute)
        seen.setdefault(key, value)
        return value

    get = recording_get
    try:
        forward(dict(values))
    finally:
        get = original
    return seen[name]


try:
    import torch
except ImportError:
    torch = None


def generated(path, wrt, fmt):
    return subprocess.run(
        [RICCI, "derive", path, "--wrt", wrt, "--format", fmt], capture_output=True, text=True, check=True
    ).stdout


def run_case(name, make, rng, folder=CASES_DIR):
    path = os.path.join(folder, name + ".ricci")
    inputs, forward = make(rng)
    out = forward(dict(inputs))
    grads = {}
    if "L" not in out:
        grads = {k: rng.uniform(-1, 1, np.shape(val)) for k, val in out.items()}
    results = []
    for wrt in wrts(path):
        code = generated(path, wrt, "numpy")
        torch_code = generated(path, wrt, "torch")
        compile(torch_code, f"{name}-{wrt}-torch.py", "exec")  # valid Python at least
        scope = {"np": np}
        exec(code, scope)
        fname = "dL_d" + ascii_name(wrt).replace("lambda_", "lambda")
        fn = scope[fname]
        available = dict(inputs)
        available.update({"dL_d" + k: v for k, v in grads.items()})
        available.update(h=h, h_prime=h_prime)
        available.update(getattr(make, "sizes", {}))
        kwargs = {}
        for p in inspect.signature(fn).parameters.values():
            if p.name in available:
                kwargs[p.name] = available[p.name]
            elif p.default is inspect.Parameter.empty:
                raise KeyError(f"{fname} needs {p.name}")
        got = np.asarray(fn(**kwargs), dtype=float)
        key = ascii_name(wrt)
        values = dict(inputs)
        if key not in values:
            values[key] = intermediate(forward, inputs, key)
        want = numeric_gradient(forward, values, grads, key)
        scale = max(1.0, float(np.abs(want).max()))
        error = float(np.abs(got - want).max()) / scale if got.shape == want.shape else float("inf")
        results.append((wrt, error, got.shape, want.shape))
        if torch is not None:
            tscope = {}
            exec(torch_code, tscope)
            targs = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
            if "h" in targs:
                targs.update(h=lambda x: torch.sin(x) + 0.5 * x, h_prime=lambda x: torch.cos(x) + 0.5)
            tgot = tscope[fname](**targs).detach().numpy()
            terror = float(np.abs(tgot - want).max()) / scale if tgot.shape == want.shape else float("inf")
            results.append((wrt + " (torch)", terror, tgot.shape, want.shape))
    return results


def main():
    rng = np.random.default_rng(20261121)
    passed = failed = 0
    extra_dir = os.path.join(ROOT, "tests", "cases", "numpy")
    runs = [(n, m, CASES_DIR) for n, m in CASES.items()] + [(n, m, extra_dir) for n, m in EXTRA.items()]
    for name, make, folder in runs:
        for wrt, error, got, want in run_case(name, make, rng, folder):
            ok = error <= TOLERANCE
            passed += ok
            failed += not ok
            shape = "" if got == want else f" (shape {got}, expected {want})"
            print(f"{'ok  ' if ok else 'FAIL'} {name} --wrt {wrt}: relative error {error:.1e}{shape}")
    print(f"numpy: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
