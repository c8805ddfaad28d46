"""The shared half of the autodiff oracle suites (run_jax.py, run_torch.py).

Needs only NumPy and the standard library, so that it runs under any Python
that has NumPy. It knows the cases (the program files, what to differentiate,
the random inputs), runs ricci, calls the generated functions by keyword and
compares them with the oracle each suite computes by automatic
differentiation of its own, hand-written forward pass.

- A case's `--wrt` names (and `--of`, `--layout`) come from its file's header:
  `# expect X: …`, `# expect-index X: …`, `# wrt: A B`, `# of: Y`, `# layout: …`.
- Functions are looked up by their SPEC §4 names (`dL_dW1`, `ds1_dW1`,
  `backward_L`) and called by keyword from `inspect.signature`: inputs by their
  ASCII names, scalar symbols as Python floats, `dL_d<Y>` the random upstream
  gradient of an undefined loss, `h`/`h_prime` for an opaque `h`, and the int
  sizes (`n_i`, `S`) a parameter without a default asks for; a size with a
  default is left to the function (read from an argument's shape).
- A result must have the oracle's shape, be finite and agree to a relative
  error (max |got − want| / max |want|) of at most 1e-6.
- `backward_<of>` (`--backward`) must return a dict keyed by exactly the
  `--wrt` ASCII names. Its checks are skipped, with the reason printed, only
  when ricci answers "unexpected argument '--backward'" and the environment
  has no RICCI_REQUIRE_BACKWARD.
"""

import inspect
import os
import shlex
import subprocess
import sys
import time
import traceback

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLERANCE = 1e-6
SEED = 20261203

# Generated code that fails on this branch because of a finding in
# the findings (O1, O2 in the #16 notes), keyed by (case, what, format), `what` being the
# --wrt's ASCII name or "backward:<name>"; the value names the finding. A
# listed check that passes is reported as a failure, so that the entry is
# removed once the finding is fixed.
KNOWN_FAILURES: dict = {}


# ---- the cases --------------------------------------------------------------


def one_hot(rng, rows, cols):
    t = np.zeros((rows, cols))
    t[np.arange(rows), rng.integers(0, cols, rows)] = 1.0
    return t


def one_hot_at(index, cols):
    t = np.zeros((len(index), cols))
    t[np.arange(len(index)), index] = 1.0
    return t


def uniform(rng, *shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, shape)


def in_linear(rng):
    return dict(X=uniform(rng, 3, 4), W=uniform(rng, 5, 4), b=uniform(rng, 5))


def in_activation(rng):
    return dict(X=uniform(rng, 3, 4))


def in_matmul(rng):
    return dict(X=uniform(rng, 3, 4), W=uniform(rng, 4, 5))


def in_softmax_ce_001(rng):
    return dict(S=uniform(rng, 3, 4), T=one_hot(rng, 3, 4))


def in_two_layer(rng):
    return dict(X=uniform(rng, 3, 4), W1=uniform(rng, 4, 5), b1=uniform(rng, 5), W2=uniform(rng, 5, 2), b2=uniform(rng, 2))


def in_softmax(rng):
    return dict(Z=uniform(rng, 3, 4))


def in_softmax_ce_002(rng):
    return dict(Z=uniform(rng, 3, 4), T=one_hot(rng, 3, 4))


def in_mlp_003(rng):
    return dict(
        W1=uniform(rng, 4, 3),
        x=uniform(rng, 3),
        # pre-activations of both signs, so relu' is neither all 0 nor all 1
        b1=uniform(rng, 4, low=-0.2, high=0.2) + np.array([1.5, -1.5, 1.5, -1.5]),
        W2=uniform(rng, 2, 4),
        b2=uniform(rng, 2),
        y=uniform(rng, 2),
    )


def in_bce(rng):
    return dict(yhat=uniform(rng, 4, low=0.1, high=0.9), y=uniform(rng, 4, low=0.1, high=0.9))


def in_bce_sigmoid(rng):
    return dict(s=uniform(rng, 4), y=uniform(rng, 4, low=0.1, high=0.9))


def in_hw(rng):
    return dict(H=uniform(rng, 3, 4), W=uniform(rng, 4, 5))


def in_mlp_softmax_ce(rng):
    return dict(
        X=uniform(rng, 6, 4),
        W1=uniform(rng, 4, 5),
        b1=uniform(rng, 5),
        W2=uniform(rng, 5, 3),
        b2=uniform(rng, 3),
        T=one_hot(rng, 6, 3),
    )


def in_attention(rng):
    return dict(X=uniform(rng, 4, 3), Wq=uniform(rng, 3, 2), Wk=uniform(rng, 3, 2), Wv=uniform(rng, 3, 2))


def in_transformer_block(rng):
    return dict(
        X=uniform(rng, 4, 3),
        gamma=uniform(rng, 3, low=0.5, high=1.5),
        beta=uniform(rng, 3),
        Wq=uniform(rng, 3, 3),
        Wk=uniform(rng, 3, 3),
        Wv=uniform(rng, 3, 3),
        W1=uniform(rng, 3, 5),
        b1=uniform(rng, 5),
        W2=uniform(rng, 5, 3),
        b2=uniform(rng, 3),
        epsilon=1e-5,
    )


def in_gru_step(rng):
    inputs = dict(x=uniform(rng, 3, 4), h0=uniform(rng, 3, 5))
    for gate in "zrn":
        inputs.update({f"W{gate}": uniform(rng, 4, 5), f"U{gate}": uniform(rng, 5, 5), f"b{gate}": uniform(rng, 5)})
    return inputs


def in_batchnorm_linear(rng):
    return dict(
        X=uniform(rng, 6, 4),
        gamma=uniform(rng, 4, low=0.5, high=1.5),
        beta=uniform(rng, 4),
        W=uniform(rng, 4, 3),
        b=uniform(rng, 3),
        T=uniform(rng, 6, 3),
        epsilon=1e-3,
    )


def in_seed_mlp(rng):
    return dict(
        W1=uniform(rng, 4, 3),
        x=uniform(rng, 3),
        b1=uniform(rng, 4),
        W2=uniform(rng, 2, 4),
        b2=uniform(rng, 2),
        y=uniform(rng, 2, low=0.1, high=0.9),
    )


# Extreme inputs (the safe-code paragraph of SPEC §4).


def in_mlp_softmax_ce_x300(rng):
    """Logits ×300, each row's target the class of the smallest logit: its
    probability underflows to 0, so T ⊘ P gives NaN where P − T does not."""
    v = in_mlp_softmax_ce(rng)
    v["W2"] *= 300
    v["b2"] *= 300
    logits = np.tanh(v["X"] @ v["W1"] + v["b1"]) @ v["W2"] + v["b2"]
    v["T"] = one_hot_at(logits.argmin(axis=1), 3)
    return v


def in_softmax_ce_001_x300(rng):
    v = in_softmax_ce_001(rng)
    v["S"] *= 300
    v["T"] = one_hot_at(v["S"].argmin(axis=1), 4)
    return v


def in_bce_sigmoid_z50(rng):
    """|s| = 50 on both sides, targets 0 and 1 on the wrong side and soft ones."""
    return dict(s=np.array([50.0, -50.0, 50.0, -50.0]), y=np.array([0.0, 1.0, 0.3, 0.7]))


def in_seed_mlp_z50(rng):
    """Both layers' pre-activations at ±50 (σ saturated to 1.0 and 5e-22),
    the targets on the wrong side."""
    v = in_seed_mlp(rng)
    v["b1"] = np.array([50.0, -50.0, 50.0, -50.0]) - v["W1"] @ v["x"]
    z1 = 1 / (1 + np.exp(-(v["W1"] @ v["x"] + v["b1"])))
    v["b2"] = np.array([50.0, -50.0]) - v["W2"] @ z1
    v["y"] = np.array([0.0, 1.0])
    return v


def in_softmax_x300(rng):
    return dict(Z=300 * uniform(rng, 3, 4))


def in_softmax_ce_002_x300(rng):
    z = 300 * uniform(rng, 3, 4)
    return dict(Z=z, T=one_hot_at(z.argmin(axis=1), 4))


def in_attention_x300(rng):
    """Attention scores in the hundreds (up to ~330): P one-hot to machine precision."""
    v = in_attention(rng)
    v["Wq"] *= 20
    v["Wk"] *= 20
    return v


def in_transformer_block_x30(rng):
    """The block with its attention scores and GELU inputs in the tens to hundreds."""
    v = in_transformer_block(rng)
    for k in ("Wq", "Wk"):
        v[k] *= 12
    v["W1"] *= 30
    return v


class Case:
    """One program file, the forward pass that the suites write for it (by key),
    its random inputs and the int sizes a generated function may ask for."""

    def __init__(self, name, path, forward, make, sizes=None, kind="gradient"):
        self.name = name
        self.path = os.path.join(ROOT, path)
        self.forward = forward
        self.make = make
        self.sizes = sizes or {}
        self.kind = kind
        self.of, self.wrts, self.layout = read_header(self.path)


def read_header(path):
    """`# of:`, `# layout:`, and the --wrt names from `# expect X:`,
    `# expect-index X:` and `# wrt: A B` lines."""
    of, wrts, layout = "L", [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# of: "):
                of = line[len("# of: "):].strip()
            elif line.startswith("# layout: "):
                layout = line[len("# layout: "):].strip()
            elif line.startswith("# expect ") or line.startswith("# expect-index "):
                name = line.split(" ", 2)[2].split(":")[0].strip()
                if name not in wrts:
                    wrts.append(name)
            elif line.startswith("# wrt: "):
                wrts.extend(w for w in line[len("# wrt: "):].split() if w not in wrts)
    return of, wrts, layout


MLP_SIZES = {"n_i": 4, "n_j": 3, "n_k": 2}


def cases():
    d = "tests/cases/derive/"
    j = "tests/cases/jacobian/"
    p = "tests/autodiff/programs/"
    out = [
        Case("000_linear", d + "000_linear.ricci", "linear", in_linear),
        Case("000_activation", d + "000_activation.ricci", "activation", in_activation),
        Case("001_matmul", d + "001_matmul.ricci", "matmul", in_matmul),
        Case("001_softmax_ce", d + "001_softmax_ce.ricci", "softmax_ce_001", in_softmax_ce_001),
        Case("001_two_layer", d + "001_two_layer.ricci", "two_layer", in_two_layer),
        Case("002_softmax", d + "002_softmax.ricci", "softmax", in_softmax),
        Case("002_softmax_ce", d + "002_softmax_ce.ricci", "softmax_ce_002", in_softmax_ce_002),
        Case("003_bce", d + "003_bce.ricci", "bce", in_bce),
        Case("003_bce_sigmoid", d + "003_bce_sigmoid.ricci", "bce_sigmoid", in_bce_sigmoid),
        Case("003_mlp", d + "003_mlp.ricci", "mlp_relu", in_mlp_003),
        Case("003_mlp_numerator", d + "003_mlp_numerator.ricci", "mlp_relu", in_mlp_003),
        Case("003_mlp_sigmoid", d + "003_mlp_sigmoid.ricci", "mlp_sigmoid", in_mlp_003),
        Case("004_hw", d + "004_hw.ricci", "hw", in_hw),
        # the seed Jacobians (SEED-RESULTS.md, "The Jacobians 003 writes out", and 001's ∂Y/∂X)
        Case("jacobian/001_matmul", j + "001_matmul.ricci", "matmul_mj", in_matmul, {"n_m": 3, "n_h": 5}, "jacobian"),
    ]
    for name in ("relu_s1_by_W1", "relu_s2_by_z1", "relu_yhat_by_s1", "relu_yhat_by_s2", "relu_z1_by_s1"):
        out.append(Case("jacobian/003_" + name, j + f"003_{name}.ricci", "mlp_relu", in_mlp_003, MLP_SIZES, "jacobian"))
    for name in ("sigmoid_yhat_by_s2", "sigmoid_z1_by_s1"):
        out.append(Case("jacobian/003_" + name, j + f"003_{name}.ricci", "mlp_sigmoid", in_mlp_003, MLP_SIZES, "jacobian"))
    out += [
        Case("mlp_softmax_ce", p + "mlp_softmax_ce.ricci", "mlp_softmax_ce", in_mlp_softmax_ce),
        Case("attention", p + "attention.ricci", "attention", in_attention),
        Case("transformer_block", p + "transformer_block.ricci", "transformer_block", in_transformer_block),
        Case("gru_step", p + "gru_step.ricci", "gru_step", in_gru_step),
        Case("batchnorm_linear", p + "batchnorm_linear.ricci", "batchnorm_linear", in_batchnorm_linear),
        Case("seed_mlp", p + "seed_mlp.ricci", "seed_mlp", in_seed_mlp),
        # stability
        Case("stable/mlp_softmax_ce_x300", p + "mlp_softmax_ce.ricci", "mlp_softmax_ce", in_mlp_softmax_ce_x300),
        Case("stable/001_softmax_ce_x300", d + "001_softmax_ce.ricci", "softmax_ce_001", in_softmax_ce_001_x300),
        Case("stable/003_bce_sigmoid_z50", d + "003_bce_sigmoid.ricci", "bce_sigmoid", in_bce_sigmoid_z50),
        Case("stable/seed_mlp_z50", p + "seed_mlp.ricci", "seed_mlp", in_seed_mlp_z50),
        Case("stable/002_softmax_x300", d + "002_softmax.ricci", "softmax", in_softmax_x300),
        Case("stable/002_softmax_ce_x300", d + "002_softmax_ce.ricci", "softmax_ce_002", in_softmax_ce_002_x300),
        Case("stable/attention_x300", p + "attention.ricci", "attention", in_attention_x300),
        Case("stable/transformer_block_x30", p + "transformer_block.ricci", "transformer_block", in_transformer_block_x30),
    ]
    return out


# ---- names (SPEC §4) ---------------------------------------------------------

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "ε": "epsilon", "ζ": "zeta", "η": "eta", "θ": "theta",
    "κ": "kappa", "λ": "lambda_", "μ": "mu", "ν": "nu", "ξ": "xi", "ρ": "rho", "σ": "sigma",
    "τ": "tau", "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
}


def ascii_name(name):
    """The Python name SPEC §4 gives a program name: `W^(1)` → `W1`, `ŷ` → `yhat`, `γ` → `gamma`."""
    name = name.replace("^(", "").replace(")", "").replace("\u0302", "hat").replace("ŷ", "yhat")
    return "".join(GREEK.get(c, c) for c in name)


def function_name(case, wrt):
    of = ascii_name(case.of).rstrip("_")
    return f"d{of}_d{ascii_name(wrt).rstrip('_')}"


# ---- running ricci and the generated code ------------------------------------


def ricci_args(ricci, case, fmt, backward=False):
    args = [ricci, "derive", case.path, "--format", fmt]
    if case.of != "L":
        args += ["--of", case.of]
    if case.layout:
        args += ["--layout", case.layout]
    for w in case.wrts:
        args += ["--wrt", w]
    if backward:
        args.append("--backward")
    return args


def shell_quote(args):
    return " ".join(shlex.quote(os.path.relpath(a, ROOT) if os.path.isabs(a) and a.startswith(ROOT) else a) for a in args)


def run_ricci(args):
    return subprocess.run(args, capture_output=True, text=True)


class CallError(Exception):
    """A generated function that cannot be called with the names SPEC §4 gives its parameters."""


def call_by_keyword(fn, available):
    kwargs = {}
    for p in inspect.signature(fn).parameters.values():
        if p.default is not inspect.Parameter.empty:
            continue  # an optional size: the function reads it from an argument's shape
        if p.name not in available:
            raise CallError(f"{fn.__name__} asks for `{p.name}`, which is no input, upstream gradient or size of the program")
        kwargs[p.name] = available[p.name]
    return fn(**kwargs)


def compare(got, want):
    """(None, the relative error) when `got` agrees with `want`, else (what is
    wrong, None). The error is max |got − want| over max |want|."""
    got = np.asarray(got, dtype=float)
    if got.shape != want.shape:
        return f"shape {got.shape}, the oracle's is {want.shape}", None
    if not np.all(np.isfinite(got)):
        return f"not finite: {int(np.sum(~np.isfinite(got)))} of {got.size} entries are nan/inf", None
    scale = max(float(np.abs(want).max()) if want.size else 0.0, 1e-8)
    error = float(np.abs(got - want).max()) / scale if got.size else 0.0
    if not error <= TOLERANCE:
        return f"relative error {error:.1e} > {TOLERANCE:g}", None
    return None, error


def short(exc):
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:300]


# ---- the report ---------------------------------------------------------------


class Report:
    def __init__(self, suite, ricci):
        self.suite = suite
        self.ricci = ricci
        self.counts = {}
        self.failures = []
        self.skip_reason = None
        self.worst = {}
        self.started = time.time()

    def _count(self, fmt, key):
        c = self.counts.setdefault(fmt, {"passed": 0, "failed": 0, "known": 0, "skipped": 0})
        c[key] += 1

    def record(self, case, fmt, what, outcome, repro):
        problem, error = outcome
        known = KNOWN_FAILURES.get((case.name, what, fmt))
        label = f"[{fmt}] {case.name} {what}"
        if problem is None and known:
            error = None
            problem = f"passes, but KNOWN_FAILURES lists it ({known}): remove the entry"
            known = None
        if problem is None:
            self._count(fmt, "passed")
            self.worst[fmt] = max(self.worst.get(fmt, 0.0), error)
            print(f"ok    {label}: relative error {error:.1e}")
        elif known:
            self._count(fmt, "known")
            print(f"known {label}: {problem} ({known})")
        else:
            self._count(fmt, "failed")
            self.failures.append((label, problem, repro))
            print(f"FAIL  {label}: {problem}\n      reproduce: {repro}")

    def skip(self, case, fmt, count, reason):
        self.counts.setdefault(fmt, {"passed": 0, "failed": 0, "known": 0, "skipped": 0})["skipped"] += count
        self.skip_reason = reason
        print(f"skip  [{fmt}] {case.name} backward ({count} gradients): {reason}")

    def finish(self):
        seconds = time.time() - self.started
        failed = 0
        for fmt, c in self.counts.items():
            failed += c["failed"]
            worst = f" (largest relative error {self.worst[fmt]:.1e})" if fmt in self.worst else ""
            print(f"{self.suite} [{fmt}]: {c['passed']} passed{worst}, {c['failed']} failed, {c['known']} known failures, {c['skipped']} skipped")
        if self.skip_reason:
            print(f"skipped: {self.skip_reason}")
        for label, problem, _ in self.failures:
            print(f"failed: {label}: {problem}")
        if not any(c["passed"] + c["failed"] + c["known"] for c in self.counts.values()):
            failed += 1
            print(f"{self.suite}: nothing was compared")
        print(f"{self.suite}: {'FAILED' if failed else 'ok'} in {seconds:.1f} s")
        return 1 if failed else 0


def backward_unavailable(proc):
    """The reason to skip the backward checks, or None."""
    if proc.returncode == 2 and "unexpected argument '--backward'" in proc.stderr:
        if os.environ.get("RICCI_REQUIRE_BACKWARD"):
            return None
        return "this ricci has no --backward (unexpected argument '--backward'; RICCI_REQUIRE_BACKWARD unset)"
    return None


def run_suite(suite, backend):
    """Runs every case through `backend` (see run_jax.py): its formats, its
    oracle and its conversions. `--only NAME` (repeatable) picks cases."""
    argv = sys.argv[1:]
    only = [argv[i + 1] for i, a in enumerate(argv) if a == "--only" and i + 1 < len(argv)]
    positional = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] != "--only")]
    ricci = positional[0] if positional else os.path.join(ROOT, "target", "debug", "ricci")
    ricci = os.path.abspath(ricci)
    report = Report(suite, ricci)
    script = os.path.relpath(sys.argv[0], ROOT) if os.path.isabs(sys.argv[0]) else sys.argv[0]
    unknown = set(only) - {c.name for c in cases()}
    if unknown:
        print(f"no such case: {', '.join(sorted(unknown))}")
        return 2
    shown = os.path.relpath(ricci, ROOT) if ricci.startswith(ROOT + os.sep) else ricci
    for case in cases():
        if only and case.name not in only:
            continue
        repro_suite = f"{backend.python} {script} {shown} --only {case.name}"
        try:
            check_case(case, backend, report, repro_suite)
        except Exception as exc:  # the harness itself: never hide it
            traceback.print_exc()
            report._count("harness", "failed")
            report.failures.append((case.name, short(exc), repro_suite))
    return report.finish()


def check_case(case, backend, report, repro_suite):
    rng = np.random.default_rng(SEED)
    inputs = case.make(rng)
    oracle = backend.oracle(case, inputs, rng)  # {"grads": {ascii wrt: array}, "upstream": {...}}
    for key, want in oracle["grads"].items():
        if not np.all(np.isfinite(want)):
            raise AssertionError(f"the oracle's gradient by {key} is not finite: the test's forward pass is unstable")
    available = dict(inputs)
    available.update(oracle["upstream"])
    available.update(case.sizes)
    for fmt in backend.formats:
        args = ricci_args(report.ricci, case, fmt)
        repro = f"{shell_quote(args)}   # then: {repro_suite}"
        check_functions(case, fmt, backend, available, oracle["grads"], run_ricci(args), report, repro)
        if case.kind == "gradient":
            args = ricci_args(report.ricci, case, fmt, backward=True)
            repro = f"{shell_quote(args)}   # then: {repro_suite}"
            check_backward(case, fmt, backend, available, oracle["grads"], run_ricci(args), report, repro)


def load(proc, fmt, case):
    if proc.returncode != 0:
        raise RuntimeError(f"ricci exited {proc.returncode}: {proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else ''}")
    scope = {}
    exec(compile(proc.stdout, f"<{case.name} --format {fmt}>", "exec"), scope)
    return scope


def check_functions(case, fmt, backend, available, grads, proc, report, repro):
    try:
        scope = load(proc, fmt, case)
    except Exception as exc:
        for wrt in case.wrts:
            report.record(case, fmt, ascii_name(wrt), (f"no module: {short(exc)}", None), repro)
        return
    for wrt in case.wrts:
        key = ascii_name(wrt)
        name = function_name(case, wrt)
        fn = scope.get(name)
        if fn is None:
            names = sorted(k for k, v in scope.items() if inspect.isfunction(v))
            report.record(case, fmt, key, (f"no function {name} (SPEC §4); the module has {names}", None), repro)
            continue
        report.record(case, fmt, key, run_one(fn, fmt, backend, available, grads[key]), repro)


def run_one(fn, fmt, backend, available, want):
    try:
        with np.errstate(all="ignore"):  # what the warnings announce, compare() reports
            got = call_by_keyword(fn, backend.arguments(fmt, available))
        return compare(backend.to_numpy(fmt, got), want)
    except CallError as exc:
        return f"cannot be called: {exc}", None
    except Exception as exc:
        return f"raises {short(exc)}", None


def check_backward(case, fmt, backend, available, grads, proc, report, repro):
    reason = backward_unavailable(proc)
    if reason:
        report.skip(case, fmt, len(case.wrts), reason)
        return
    name = f"backward_{ascii_name(case.of).rstrip('_')}"
    try:
        scope = load(proc, fmt, case)
        fn = scope.get(name)
        if fn is None:
            raise RuntimeError(f"the module has no function {name} (SPEC §4)")
        with np.errstate(all="ignore"):
            result = call_by_keyword(fn, backend.arguments(fmt, available))
        if not isinstance(result, dict):
            raise RuntimeError(f"{name} returned {type(result).__name__}, not a dict")
        expected = {ascii_name(w) for w in case.wrts}
        if set(result) != expected:
            raise RuntimeError(f"{name} returned the keys {sorted(result)}, the --wrt names are {sorted(expected)}")
    except Exception as exc:
        problem = f"cannot be called: {exc}" if isinstance(exc, CallError) else short(exc)
        for wrt in case.wrts:
            report.record(case, fmt, "backward:" + ascii_name(wrt), (problem, None), repro)
        return
    for wrt in case.wrts:
        key = ascii_name(wrt)
        try:
            outcome = compare(backend.to_numpy(fmt, result[key]), grads[key])
        except Exception as exc:
            outcome = (short(exc), None)
        report.record(case, fmt, "backward:" + key, outcome, repro)
    if fmt != "numpy" and any(k.startswith("dL_d") for k in available):
        check_wrapper(case, fmt, backend, available, grads, scope, report, repro)


def check_wrapper(case, fmt, backend, available, grads, scope, report, repro):
    """An undefined loss: the module's autograd operation (`Program` in
    PyTorch, `program` in JAX), differentiated by the framework itself with
    the oracle's upstream gradients, must give the oracle's gradients by
    every --wrt that is one of its parameters (an input)."""
    keys = [ascii_name(w) for w in case.wrts]
    try:
        got = backend.through_wrapper(fmt, scope, backend.arguments(fmt, available), keys)
    except Exception as exc:
        for key in keys:
            report.record(case, fmt, "wrapper:" + key, (short(exc), None), repro)
        return
    for key in keys:
        if key in got:
            try:
                outcome = compare(backend.to_numpy(fmt, got[key]), grads[key])
            except Exception as exc:
                outcome = (short(exc), None)
            report.record(case, fmt, "wrapper:" + key, outcome, repro)
