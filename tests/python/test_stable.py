"""Runs the code ricci generates at extreme inputs — logits ×300 and ×1000, sigmoid
arguments of |z| = 50 and more — in NumPy, and in PyTorch and JAX when they
import, and checks that every result is finite, raises no overflow or invalid
warning (NumPy), and agrees with a finite-difference gradient of a forward
pass written here, stably and independently of ricci (SPEC §4: generated code
must be safe to run on real data).

    python3 tests/python/test_stable.py [path/to/ricci]

Prints one line per check and ends with `stable: N passed, M failed`; exits 1
on any failure.
"""

import inspect
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_numpy as tn  # noqa: E402  (the finite differences and forward helpers)

RICCI = tn.RICCI
NUMPY_DIR = os.path.join(tn.ROOT, "tests", "cases", "numpy")
TOLERANCE = 1e-6

try:
    import torch
except ImportError:
    torch = None
try:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
except ImportError:
    jax = None


def stable_sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))


def softplus(x):
    return np.logaddexp(0, x)


def one_hot_smallest(z):
    """Each row's target is its smallest logit: the target's softmax underflows to 0."""
    return np.eye(z.shape[1])[z.argmin(axis=1)]


def case_mlp_softmax_ce(rng):
    v = dict(
        X=rng.uniform(-1, 1, (4, 3)),
        W1=rng.uniform(-1, 1, (3, 5)),
        b1=rng.uniform(-1, 1, 5),
        W2=300 * rng.uniform(-1, 1, (5, 3)),
        b2=300 * rng.uniform(-1, 1, 3),
    )
    v["T"] = one_hot_smallest(np.tanh(v["X"] @ v["W1"] + v["b1"]) @ v["W2"] + v["b2"])

    def forward(v):
        z = np.tanh(v["X"] @ v["W1"] + v["b1"]) @ v["W2"] + v["b2"]
        return {"L": -(v["T"] * tn.log_softmax(z)).sum() / 4}

    return os.path.join(NUMPY_DIR, "mlp_softmax_ce.ricci"), v, forward, {}


def case_softmax_ce_seed(rng):
    z = 300 * rng.uniform(-1, 1, (3, 4))
    v = dict(Z=z, T=one_hot_smallest(z))
    return (
        os.path.join(tn.CASES_DIR, "002_softmax_ce.ricci"),
        v,
        lambda v: {"L": -(v["T"] * tn.log_softmax(v["Z"])).sum() / 3},
        {},
    )


def case_softmax_axes(rng):
    v = dict(
        Z=1000 * rng.uniform(-1, 1, (3, 4)),
        T=rng.uniform(-1, 1, (3, 4)),
        W=1000 * rng.uniform(-1, 1, (5, 3)),
        x=rng.uniform(-1, 1, 3),
        t=rng.uniform(-1, 1, 5),
    )

    def forward(v):
        return {
            "L": (v["T"] * tn.softmax(v["Z"].T).T).sum()
            + (v["t"] * tn.softmax(v["W"] @ v["x"])).sum()
            + tn.logsumexp(v["W"] @ v["x"]) ** 2
        }

    return os.path.join(NUMPY_DIR, "softmax_axes.ricci"), v, forward, {}


def case_bce(rng):
    v = dict(z=np.array([50.0, -50.0, 800.0, -800.0, 0.5]), y=rng.uniform(0.1, 0.9, 5))

    def forward(v):
        return {"L": (v["y"] * softplus(-v["z"]) + (1 - v["y"]) * softplus(v["z"])).sum()}

    return os.path.join(NUMPY_DIR, "bce.ricci"), v, forward, {}


def case_mlp_sigmoid(rng):
    v = dict(
        W1=rng.uniform(-1, 1, (4, 3)),
        x=rng.uniform(-1, 1, 3),
        b1=np.array([50.0, -50.0, 800.0, -800.0]),
        W2=rng.uniform(-1, 1, (2, 4)),
        b2=np.array([50.0, -50.0]),
        y=rng.uniform(-1, 1, 2),
    )

    def forward(v):
        z1 = stable_sigmoid(v["W1"] @ v["x"] + v["b1"])
        return {"L": ((stable_sigmoid(v["W2"] @ z1 + v["b2"]) - v["y"]) ** 2).sum()}

    names = {"W^(1)": "W1", "b^(1)": "b1", "W^(2)": "W2", "b^(2)": "b2"}
    return os.path.join(tn.CASES_DIR, "003_mlp_sigmoid.ricci"), v, forward, names


def case_attention(rng):
    v = dict(
        X=rng.uniform(-1, 1, (3, 4)),
        Wq=30 * rng.uniform(-1, 1, (4, 2)),
        Wk=30 * rng.uniform(-1, 1, (4, 2)),
        Wv=rng.uniform(-1, 1, (4, 2)),
    )

    def forward(v):
        return {"O": tn.softmax((v["X"] @ v["Wq"]) @ (v["X"] @ v["Wk"]).T / np.sqrt(2)) @ (v["X"] @ v["Wv"])}

    return os.path.join(NUMPY_DIR, "attention.ricci"), v, forward, {}


CASES = {
    "mlp_softmax_ce x300": case_mlp_softmax_ce,
    "002_softmax_ce x300": case_softmax_ce_seed,
    "softmax_axes x1000": case_softmax_axes,
    "bce |z|=50,800": case_bce,
    "003_mlp_sigmoid |z|=50,800": case_mlp_sigmoid,
    "attention x300": case_attention,
}


def backends():
    out = [("numpy", lambda a: a)]
    if torch is not None:
        out.append(("torch", lambda a: torch.tensor(a) if isinstance(a, np.ndarray) else a))
    if jax is not None:
        out.append(("jax", lambda a: jnp.asarray(a) if isinstance(a, np.ndarray) else a))
    return out


def generated(path, flags, fmt):
    args = [RICCI, "derive", path, "--format", fmt] + flags
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def run(fmt, convert, code, available):
    """The generated function's value, as a NumPy array; NumPy's overflow and
    invalid-value warnings raise."""
    scope = {"np": np}
    if fmt == "torch":
        scope["torch"] = torch
    if fmt == "jax":
        scope.update(jax=jax, jnp=jnp)
    exec(compile(code, f"generated-{fmt}.py", "exec"), scope)
    (fname,) = tn.function_names(code)
    fn = scope[fname]
    kwargs = {p: convert(available[p]) for p in inspect.signature(fn).parameters if p in available}
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        got = fn(**kwargs)
    if fmt == "torch":
        got = got.detach().numpy()
    return np.asarray(got, dtype=float)


def check(results, label, got, want):
    finite = bool(np.all(np.isfinite(got)))
    scale = max(1.0, float(np.abs(want).max()))
    error = float(np.abs(got - want).max()) / scale if got.shape == want.shape else float("inf")
    results.append((label, finite and error <= TOLERANCE, f"relative error {error:.1e}, finite {finite}"))


def gradient_checks(rng, results):
    for name, make in CASES.items():
        path, inputs, forward, names = make(rng)
        out = forward(dict(inputs))
        grads = {} if "L" in out else {k: rng.uniform(-1, 1, np.shape(x)) for k, x in out.items()}
        available = dict(inputs)
        available.update({"dL_d" + k: x for k, x in grads.items()})
        for wrt in tn.wrts(path):
            key = names.get(wrt, tn.ascii_name(wrt))
            want = tn.numeric_gradient(forward, inputs, grads, key)
            for fmt, convert in backends():
                label = f"{name} --wrt {wrt} ({fmt})"
                try:
                    got = run(fmt, convert, generated(path, ["--wrt", wrt], fmt), available)
                except Exception as e:  # an overflow warning, a NaN raised, a TypeError
                    results.append((label, False, f"{type(e).__name__}: {e}"))
                    continue
                check(results, label, got, want)


def hessian_check(rng, results):
    """The Hessian of log-sum-exp, diag(p) − p pᵀ, at logits ×1000."""
    path = os.path.join(tempfile.mkdtemp(), "logsumexp.ricci")
    with open(path, "w", encoding="utf-8") as f:
        f.write("L = logsumexp_i(w_i)\n")
    w = 1000 * rng.uniform(-1, 1, 5)
    p = tn.softmax(w)
    want = np.diag(p) - np.outer(p, p)
    for fmt, convert in backends():
        label = f"logsumexp x1000 --hessian ({fmt})"
        try:
            got = run(fmt, convert, generated(path, ["--wrt", "w", "--hessian"], fmt), {"w": w})
        except Exception as e:
            results.append((label, False, f"{type(e).__name__}: {e}"))
            continue
        check(results, label, got, want)


def main():
    rng = np.random.default_rng(20261203)
    results = []
    gradient_checks(rng, results)
    hessian_check(rng, results)
    passed = sum(ok for _, ok, _ in results)
    for label, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} {label}: {detail}")
    print(f"stable: {passed} passed, {len(results) - passed} failed (backends: {', '.join(b for b, _ in backends())})")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
