"""Runs the NumPy code ricci generates for every seed case on random inputs and
compares it with a finite-difference gradient of a forward pass written here,
independently of ricci. The PyTorch code (`--format torch`) is compiled, and
also run the same way when torch is installed.

    python3 tests/python/test_numpy.py [path/to/ricci]

Prints one line per case and ends with `numpy: N passed, M failed`; exits 1 on
any failure.
"""

import ast
import inspect
import math
import os
import subprocess
import sys
import tempfile

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
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z):
    """Along rows, the maximum subtracted."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def logsumexp(z):
    m = z.max()
    return m + np.log(np.exp(z - m).sum())


def batchnorm(v):
    d = v["X"] - v["X"].mean(axis=0)
    return v["gamma"] * d / np.sqrt((d**2).mean(axis=0) + v["epsilon"]) + v["beta"]


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


def simple(shapes, forward, positive=(), sizes=None, names=None, one_hot=()):
    """A case from input shapes (keyed by the Python names ricci gives them)
    and a forward pass; `sizes` are the int parameters, `names` maps a --wrt
    name to its Python name where the plain ASCII spelling is not it."""

    def make(rng):
        inputs = {k: rng.uniform(0.1, 0.9, shp) if k in positive else rng.uniform(-1, 1, shp) for k, shp in shapes.items()}
        for k in one_hot:
            inputs[k] = np.eye(shapes[k][1])[rng.integers(0, shapes[k][1], shapes[k][0])]
        return inputs, forward

    make.sizes = sizes or {}
    make.names = names or {}
    return make


def stable_matrices(rng, count, n):
    """`count` n×n matrices whose long products neither blow up nor vanish."""
    out = {}
    for k in range(1, count + 1):
        q, _ = np.linalg.qr(rng.uniform(-1, 1, (n, n)))
        out[f"A{k}"] = q * rng.uniform(0.95, 1.05, n)
    return out


def chain_forward(count):
    def forward(v):
        row = v["x"]
        for k in range(1, count + 1):
            row = row @ v[f"A{k}"]
        return {"L": row @ v["y"]}

    return forward


CHAIN = 250


def case_chain250(rng):
    inputs = stable_matrices(rng, CHAIN, 2)
    inputs.update(x=rng.uniform(-1, 1, 2), y=rng.uniform(-1, 1, 2))
    return inputs, chain_forward(CHAIN)


def write_chain(path, count):
    """`L = Σ x_i0 A1_{i0,i1} … A<count>_{…} y_…`, a product chain of `count` matrices."""
    ix = [f"i{k}" for k in range(count + 1)]
    factors = " ".join(f"A{k + 1}_{{{ix[k]},{ix[k + 1]}}}" for k in range(count))
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"# a product chain of {count} matrices: flat @ chains, temporaries past Python's limits\n")
        f.write(f"# wrt: A1 A{count // 2} A{count} x\n")
        f.write(f"L = Σ_{{{','.join(ix)}}} x_{{i0}} {factors} y_{{{ix[-1]}}}\n")


# Derivations beyond the seed documents, each with its own forward pass.
EXTRA = {
    # the identity needs its size as an int parameter named after the program's index (SPEC §4)
    "trace": simple(dict(X=(3, 3)), lambda v: {"L": np.trace(v["X"])}, sizes={"n_i": 3}),
    # ... or after the declared range
    "trace_range": simple(dict(X=(3, 3)), lambda v: {"L": np.trace(v["X"])}, sizes={"N": 3}),
    # sizes read from the arguments' shapes: np.eye(B.shape[0]), T.shape[0] c
    "sizes": simple(
        dict(X=(3, 3), B=(3, 3), c=(), T=4),
        lambda v: {"L": np.trace(v["X"]) + (v["X"] * v["B"]).sum() + ((v["c"] - v["T"]) ** 2).sum()},
    ),
    # names that share an ASCII spelling get distinct ones (W^(1) → W_1 beside W1)
    "names": simple(
        dict(W_1=(3, 4), W1=(3, 4), x=4, lambda_=(), lambda_2=(), yhat=4, yhat_2=4, b1=(), b_1=4),
        lambda v: {
            "L": (v["W_1"] @ v["x"]).sum()
            + (v["W1"] * v["x"] * v["W1"]).sum()
            + v["lambda_2"] * (v["x"] ** 2).sum()
            + v["lambda_"] * v["x"].sum()
            + (v["yhat_2"] * v["yhat"]).sum()
            + v["b1"] * (v["b_1"] * v["x"]).sum()
        },
        sizes={"n_i": 3},
        names={"W^(1)": "W_1", "λ": "lambda_2", "lambda": "lambda_", "ŷ": "yhat_2", "b^(1)": "b_1"},
    ),
    # upstream gradients of two outputs that share an ASCII spelling
    "upstream_names": simple(
        dict(A=(3, 4), x=4),
        lambda v: {"Y_1": v["A"] @ v["x"], "Y1": v["x"] ** 2},
    ),
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
    "vocabulary": simple(
        dict(Z=(3, 4), T=(3, 4), X=(3, 5), x=6),
        lambda v: {
            "L": -(v["T"] * np.log(np.exp(v["Z"]) / np.exp(v["Z"]).sum(axis=1)[:, None])).sum()
            + (np.log(np.exp(v["Z"]).sum(axis=1)) ** 2).sum()
            + (
                np.sqrt(((v["X"] - v["X"].mean(axis=1)[:, None]) ** 2).sum(axis=1)) * v["X"].mean(axis=1)
            ).sum()
            + (
                np.vectorize(math.erf)(v["x"]) * np.sin(v["x"])
                + np.cos(v["x"]) * np.maximum(v["x"], 0.25)
                + np.minimum(v["x"], -0.25) ** 2
            ).sum()
            + (v["x"] * np.exp(v["x"]) / np.exp(v["x"]).sum()).sum()
            + np.log(np.exp(v["x"]).sum()) ** 2
        },
    ),
    "mlp_softmax_ce": simple(
        dict(X=(4, 3), W1=(3, 5), b1=5, W2=(5, 3), b2=3, T=(4, 3)),
        lambda v: {"L": -(v["T"] * log_softmax(np.tanh(v["X"] @ v["W1"] + v["b1"]) @ v["W2"] + v["b2"])).sum() / 4},
        one_hot=("T",),
    ),
    "batchnorm_linear": simple(
        dict(X=(5, 3), gamma=3, beta=3, W=(3, 4), b=4, T=(5, 4), epsilon=()),
        lambda v: {"L": 0.5 * ((batchnorm(v) @ v["W"] + v["b"] - v["T"]) ** 2).sum()},
        positive=("epsilon",),
        names={"γ": "gamma", "β": "beta"},
    ),
    "softmax_axes": simple(
        dict(Z=(3, 4), T=(3, 4), W=(5, 3), x=3, t=5),
        lambda v: {
            "L": (v["T"] * softmax(v["Z"].T).T).sum()
            + (v["t"] * softmax(v["W"] @ v["x"])).sum()
            + logsumexp(v["W"] @ v["x"]) ** 2
        },
    ),
    "bce": simple(
        dict(z=4, y=4),
        lambda v: {"L": -(v["y"] * np.log(sigmoid(v["z"])) + (1 - v["y"]) * np.log(1 - sigmoid(v["z"]))).sum()},
        positive=("y",),
    ),
    "attention": simple(
        dict(X=(3, 4), Wq=(4, 2), Wk=(4, 2), Wv=(4, 2)),
        lambda v: {"O": softmax((v["X"] @ v["Wq"]) @ (v["X"] @ v["Wk"]).T / np.sqrt(2)) @ (v["X"] @ v["Wv"])},
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


def function_names(code):
    return [line[4 : line.index("(")] for line in code.splitlines() if line.startswith("def ")]


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
        exec(compile(code, f"{name}-{wrt}.py", "exec"), scope)
        (fname,) = function_names(code)
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
        key = getattr(make, "names", {}).get(wrt, ascii_name(wrt))
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


def whole_program(path, wrts):
    """One run with every --wrt: the functions and their parameters are distinct."""
    args = [RICCI, "derive", path, "--format", "numpy"]
    for w in wrts:
        args += ["--wrt", w]
    code = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    tree = ast.parse(code)
    functions = [f for f in tree.body if isinstance(f, ast.FunctionDef)]
    names = [f.name for f in functions]
    problems = []
    if len(set(names)) != len(wrts):
        problems.append(f"{len(wrts)} results, functions {names}")
    for f in functions:
        params = [a.arg for a in f.args.args]
        if len(set(params)) != len(params):
            problems.append(f"{f.name} repeats a parameter: {params}")
    return problems


def chain_case(rng):
    """A 250-factor product chain: every function compiles and agrees."""
    path = os.path.join(tempfile.mkdtemp(), "chain250.ricci")
    write_chain(path, CHAIN)
    wrts = ["A1", f"A{CHAIN // 2}", f"A{CHAIN}", "x"]
    args = [RICCI, "derive", path, "--format", "numpy"] + [a for w in wrts for a in ("--wrt", w)]
    code = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    scope = {"np": np}
    exec(compile(code, "chain250.py", "exec"), scope)
    inputs, forward = case_chain250(rng)
    results = []
    for wrt, fname in zip(wrts, function_names(code)):
        fn = scope[fname]
        got = fn(**{p: inputs[p] for p in inspect.signature(fn).parameters})
        want = numeric_gradient(forward, inputs, {}, wrt)
        scale = max(1.0, float(np.abs(want).max()))
        error = float(np.abs(got - want).max()) / scale if got.shape == want.shape else float("inf")
        results.append((wrt, error, got.shape, want.shape))
    return results


def einsum_case(rng, count=60):
    """An order-3 result (no matrix form) over more indices than einsum has
    letters: contracted two operands at a time, and right."""
    ix = [f"a{k}" for k in range(count + 1)]
    factors = " ".join(f"A{k + 1}_{{{ix[k]},{ix[k + 1]}}}" for k in range(count))
    path = os.path.join(tempfile.mkdtemp(), "einsum.ricci")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"Y_{{a0,{ix[-1]},k}} = Σ_{{{','.join(ix[1:-1])}}} {factors} t_k\n")
    wrts = [f"A{count // 2}", "t"]
    args = [RICCI, "derive", path, "--format", "numpy"] + [a for w in wrts for a in ("--wrt", w)]
    code = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    scope = {"np": np}
    exec(compile(code, "einsum.py", "exec"), scope)
    inputs = stable_matrices(rng, count, 2)
    inputs["t"] = rng.uniform(-1, 1, 3)

    def forward(v):
        m = v["A1"]
        for k in range(2, count + 1):
            m = m @ v[f"A{k}"]
        return {"Y": np.einsum("ij,k->ijk", m, v["t"])}

    grads = {"Y": rng.uniform(-1, 1, (2, 2, 3))}
    available = dict(inputs, dL_dY=grads["Y"])
    results = []
    for wrt, fname in zip(wrts, function_names(code)):
        fn = scope[fname]
        got = fn(**{p: available[p] for p in inspect.signature(fn).parameters})
        want = numeric_gradient(forward, inputs, grads, wrt)
        scale = max(1.0, float(np.abs(want).max()))
        error = float(np.abs(got - want).max()) / scale if got.shape == want.shape else float("inf")
        results.append((wrt, error, got.shape, want.shape))
    return results


def main():
    rng = np.random.default_rng(20261121)
    passed = failed = 0
    extra_dir = os.path.join(ROOT, "tests", "cases", "numpy")
    for name in sorted(EXTRA):
        path = os.path.join(extra_dir, name + ".ricci")
        for problem in whole_program(path, wrts(path)):
            failed += 1
            print(f"FAIL {name}: {problem}")
    for case, results in ((f"chain{CHAIN}", chain_case(rng)), ("einsum60", einsum_case(rng))):
        for wrt, error, got, want in results:
            ok = error <= TOLERANCE
            passed += ok
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {case} --wrt {wrt}: relative error {error:.1e}")
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
