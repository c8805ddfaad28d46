"""Runs the NumPy code ricci generates for the matrix-function fixtures
(`tests/cases/inverse/`: inv, det, logdet, written with np.linalg.solve,
inv, det and slogdet) on random well-conditioned inputs and compares it with
a finite-difference gradient of a forward pass written here, independently
of ricci.

    python3 tests/python/test_inverse.py [path/to/ricci]

Prints one line per result and exits 1 on any failure.
"""

import inspect
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.join(ROOT, "tests", "cases", "inverse")
RICCI = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "ricci")
inv, det = np.linalg.inv, np.linalg.det


def square(rng, n):
    return n * np.eye(n) + rng.uniform(-1, 1, (n, n))


def u(rng, *shape):
    return rng.uniform(-1, 1, shape)


def ridge_w(v):
    c = v["X"].T @ v["X"] + v["lambda_"] * np.eye(v["X"].shape[1])
    return inv(c) @ v["X"].T @ v["y"]


# fixture: (inputs, loss)
CASES_TABLE = {
    "cookbook_det": (lambda r: dict(X=square(r, 4)), lambda v: det(v["X"])),
    "cookbook_logdet": (lambda r: dict(X=square(r, 4)), lambda v: np.log(det(v["X"]))),
    "cookbook_inverse_bilinear": (
        lambda r: dict(X=square(r, 4), a=u(r, 4), b=u(r, 4)),
        lambda v: v["a"] @ inv(v["X"]) @ v["b"],
    ),
    "cookbook_trace_inverse": (
        lambda r: dict(X=square(r, 3), A=u(r, 5, 3), B=u(r, 3, 5)),
        lambda v: np.trace(v["A"] @ inv(v["X"]) @ v["B"]),
    ),
    "cookbook_trace_of_inverse": (lambda r: dict(X=square(r, 4)), lambda v: np.trace(inv(v["X"]))),
    "cookbook_det_product": (
        lambda r: dict(A=u(r, 3, 4), X=u(r, 4, 5) + np.eye(4, 5), B=u(r, 5, 3)),
        lambda v: det(v["A"] @ v["X"] @ v["B"]),
    ),
    "gaussian_nll": (
        lambda r: dict(S=square(r, 4), x=u(r, 4), mu=u(r, 4)),
        lambda v: 0.5 * np.log(det(v["S"])) + 0.5 * (v["x"] - v["mu"]) @ inv(v["S"]) @ (v["x"] - v["mu"]),
    ),
    "ridge": (
        lambda r: dict(X=r.uniform(0.1, 0.9, (6, 3)), lambda_=0.5, y=u(r, 6), Z=u(r, 2, 3), z=u(r, 2)),
        lambda v: np.sum((v["Z"] @ ridge_w(v) - v["z"]) ** 2),
    ),
}


def numeric(loss, values, name, h=1e-6):
    x = np.asarray(values[name], dtype=float)
    g = np.zeros_like(x)
    for pos in np.ndindex(*x.shape):
        for sign in (1, -1):
            p = x.copy()
            p[pos] += sign * h
            g[pos] += sign * loss({**values, name: p if x.shape else float(p)}) / (2 * h)
    return g


def main():
    failed = 0
    rng = np.random.default_rng(7)
    for case, (make, loss) in CASES_TABLE.items():
        path = os.path.join(CASES, case + ".ricci")
        wrts = [l.split()[2].rstrip(":") for l in open(path, encoding="utf-8") if l.startswith("# expect ")]
        args = [RICCI, "derive", path, "--format", "numpy"] + [a for w in wrts for a in ("--wrt", w)]
        code = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        scope = {"np": np}
        exec(code, scope)
        values = make(rng)
        for fn in [f for n, f in scope.items() if n.startswith("dL_d")]:
            wrt = fn.__name__[len("dL_d"):]
            wrt = wrt if wrt in values else wrt + "_"  # `lambda_`, a keyword's parameter
            params = inspect.signature(fn).parameters
            got = np.asarray(fn(**{p: values[p] for p in params if p in values}))
            want = numeric(loss, values, wrt)
            err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
            ok = err < 1e-6
            failed += not ok
            print(f"{case} {wrt}: relative error {err:.1e} {'ok' if ok else 'FAILED'}")
    print(f"inverse: {'all passed' if not failed else f'{failed} failed'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
