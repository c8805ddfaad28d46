"""Checks ricci's generated NumPy and JAX code against JAX's autodiff.

    python3 tests/autodiff/run_jax.py [path/to/ricci] [--only CASE …]

For every case of harness.py (the seed cases, the seed Jacobians, the programs
of tests/autodiff/programs/ and the extreme-input cases), the forward pass is
written here by hand in jax.numpy, independently of ricci; jax.grad (a VJP with
a random upstream ∂L/∂Y where the loss is undefined) or jax.jacobian at float64
is the oracle. ricci's `--format numpy` and `--format jax` functions, and
`backward_<of>` of `--backward`, are called by keyword on the same inputs and
must agree to a relative error of 1e-6, finite; for an undefined loss, so must
jax.grad through the module's `program` (a jax.custom_vjp). Prints one line per check and a
summary; exits 1 on any failure.
"""

import inspect
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

jax.config.update("jax_enable_x64", True)


def pick(v, name, compute):
    """An intermediate tensor: computed once and kept in `v`, unless `v`
    already holds it (the oracle differentiates by it)."""
    if name not in v:
        v[name] = compute()
    return v[name]


def h(x):
    return jnp.sin(x) + 0.5 * x


def h_prime(x):
    return jnp.cos(x) + 0.5


def relu(x):
    return jnp.maximum(x, 0.0)


# ---- the forward passes, one per program -----------------------------------


def linear(v):
    return {"Y": v["X"] @ v["W"].T + v["b"]}


def activation(v):
    return {"Y": h(v["X"])}


def matmul(v):
    return {"Y": v["X"] @ v["W"]}


def softmax_ce_001(v):
    return {"L": -(v["T"] * jax.nn.log_softmax(v["S"], axis=1)).sum()}


def two_layer(v):
    z = pick(v, "z", lambda: v["X"] @ v["W1"] + v["b1"])
    hidden = pick(v, "H", lambda: relu(z))
    return {"S": hidden @ v["W2"] + v["b2"]}


def softmax(v):
    return {"Y": jax.nn.softmax(v["Z"], axis=1)}


def softmax_ce_002(v):
    return {"L": -(v["T"] * jax.nn.log_softmax(v["Z"], axis=1)).sum() / v["Z"].shape[0]}


def bce(v):
    yhat, y = v["yhat"], v["y"]
    return {"L": -jnp.mean(y * jnp.log(yhat) + (1 - y) * jnp.log(1 - yhat))}


def bce_from_logits(s, y):
    return -jnp.mean(y * jax.nn.log_sigmoid(s) + (1 - y) * jax.nn.log_sigmoid(-s))


def bce_sigmoid(v):
    return {"L": bce_from_logits(v["s"], v["y"])}


def mlp(activation_fn, last):
    def forward(v):
        s1 = pick(v, "s1", lambda: v["W1"] @ v["x"] + v["b1"])
        z1 = pick(v, "z1", lambda: activation_fn(s1))
        s2 = pick(v, "s2", lambda: v["W2"] @ z1 + v["b2"])
        yhat = pick(v, "yhat", lambda: last(s2))
        return {"L": ((yhat - v["y"]) ** 2).sum()}

    return forward


def hw(v):
    return {"Y": v["H"] @ v["W"]}


def mlp_softmax_ce(v):
    hidden = jnp.tanh(v["X"] @ v["W1"] + v["b1"])
    logits = hidden @ v["W2"] + v["b2"]
    return {"L": -(v["T"] * jax.nn.log_softmax(logits, axis=1)).sum() / v["X"].shape[0]}


def attention(v):
    q, k, val = v["X"] @ v["Wq"], v["X"] @ v["Wk"], v["X"] @ v["Wv"]
    p = jax.nn.softmax(q @ k.T / jnp.sqrt(q.shape[1]), axis=1)
    return {"O": p @ val}


def transformer_block(v):
    x = v["X"]
    centred = x - x.mean(axis=1, keepdims=True)
    var = (centred**2).mean(axis=1, keepdims=True)
    a = v["gamma"] * centred / jnp.sqrt(var + v["epsilon"]) + v["beta"]
    q, k, val = a @ v["Wq"], a @ v["Wk"], a @ v["Wv"]
    p = jax.nn.softmax(q @ k.T / jnp.sqrt(x.shape[1]), axis=1)
    hidden = x + p @ val
    u = hidden @ v["W1"] + v["b1"]
    gelu = 0.5 * u * (1 + jnp.tanh(jnp.sqrt(2 / jnp.pi) * (u + 0.044715 * u**3)))
    return {"Y": hidden + gelu @ v["W2"] + v["b2"]}


def gru_step(v):
    x, h0 = v["x"], v["h0"]
    z = jax.nn.sigmoid(x @ v["Wz"] + h0 @ v["Uz"] + v["bz"])
    r = jax.nn.sigmoid(x @ v["Wr"] + h0 @ v["Ur"] + v["br"])
    n = jnp.tanh(x @ v["Wn"] + r * (h0 @ v["Un"]) + v["bn"])
    return {"h1": (1 - z) * n + z * h0}


def batchnorm_linear(v):
    x = v["X"]
    centred = x - x.mean(axis=0)
    var = (centred**2).mean(axis=0)
    normed = v["gamma"] * centred / jnp.sqrt(var + v["epsilon"]) + v["beta"]
    y = normed @ v["W"] + v["b"]
    return {"L": 0.5 * ((y - v["T"]) ** 2).sum()}


def seed_mlp(v):
    z1 = jax.nn.sigmoid(v["W1"] @ v["x"] + v["b1"])
    s2 = v["W2"] @ z1 + v["b2"]
    return {"L": bce_from_logits(s2, v["y"])}


FORWARD = {
    "linear": linear,
    "activation": activation,
    "matmul": matmul,
    "matmul_mj": matmul,
    "softmax_ce_001": softmax_ce_001,
    "two_layer": two_layer,
    "softmax": softmax,
    "softmax_ce_002": softmax_ce_002,
    "bce": bce,
    "bce_sigmoid": bce_sigmoid,
    "mlp_relu": mlp(relu, lambda s: s),
    "mlp_sigmoid": mlp(jax.nn.sigmoid, jax.nn.sigmoid),
    "hw": hw,
    "mlp_softmax_ce": mlp_softmax_ce,
    "attention": attention,
    "transformer_block": transformer_block,
    "gru_step": gru_step,
    "batchnorm_linear": batchnorm_linear,
    "seed_mlp": seed_mlp,
}


# ---- the oracle and the conversions -------------------------------------------


class Backend:
    python = "python3"
    formats = ("numpy", "jax")

    @staticmethod
    def oracle(case, inputs, rng):
        forward = FORWARD[case.forward]
        base = {k: jnp.asarray(a) if isinstance(a, np.ndarray) else a for k, a in inputs.items()}
        values = dict(base)
        out = forward(values)
        upstream = {}
        if case.kind == "gradient" and "L" not in out:
            upstream = {"dL_d" + k: rng.uniform(-1, 1, np.shape(out[k])) for k in sorted(out)}

        def loss(out):
            if "L" in out:
                return out["L"]
            return sum((out[k] * upstream["dL_d" + k]).sum() for k in out)

        # The inputs by one jitted derivative (one XLA compilation, not one
        # per operation); each intermediate tensor by its own, since holding
        # one fixed cuts the gradient of those before it.
        keys = [harness.ascii_name(w) for w in case.wrts]
        groups = [[k for k in keys if k in inputs]] + [[k] for k in keys if k not in inputs]
        grads = {}
        for group in filter(None, groups):

            def run(xs):
                v = dict(base)
                v.update(xs)
                out = forward(v)
                if case.kind == "jacobian":
                    of = harness.ascii_name(case.of)
                    return v[of] if of in v else out[of]
                return loss(out)

            diff = jax.jit(jax.jacobian(run) if case.kind == "jacobian" else jax.grad(run))
            grads.update({k: np.asarray(g) for k, g in diff({k: values[k] for k in group}).items()})
        return {"grads": grads, "upstream": upstream}

    @staticmethod
    def arguments(fmt, available):
        if fmt == "numpy":
            return dict(available, h=lambda x: np.sin(x) + 0.5 * x, h_prime=lambda x: np.cos(x) + 0.5)
        args = {k: jnp.asarray(a) if isinstance(a, np.ndarray) else a for k, a in available.items()}
        return dict(args, h=h, h_prime=h_prime)

    @staticmethod
    def through_wrapper(fmt, scope, args, keys):
        """The gradients by `keys` (those that are parameters) of Σ out ⊙
        dL_dout over `program`'s outputs (a jax.custom_vjp), by jax.grad."""
        op = scope.get("program")
        if op is None:
            raise RuntimeError("the module has no program (jax.custom_vjp)")
        params = list(inspect.signature(op).parameters)
        diff = [p for p in params if p in keys]
        fixed = {p: args[p] for p in params if p in args and p not in diff}

        def loss(*values):
            out = op(**fixed, **dict(zip(diff, values)))
            outs = out if isinstance(out, tuple) else (out,)
            return sum((o * args["dL_d" + n]).sum() for o, n in zip(outs, op.outputs))

        got = jax.grad(loss, argnums=tuple(range(len(diff))))(*(jnp.asarray(args[p], dtype=jnp.float64) for p in diff))
        return dict(zip(diff, got))

    @staticmethod
    def to_numpy(fmt, value):
        if fmt == "jax" and not isinstance(value, jax.Array):
            raise TypeError(f"returned {type(value).__name__}, not a JAX array")
        if fmt == "numpy" and not isinstance(value, (np.ndarray, np.generic, float)):
            raise TypeError(f"returned {type(value).__name__}, not a NumPy array")
        return np.asarray(value)


if __name__ == "__main__":
    sys.exit(harness.run_suite("autodiff-jax", Backend))
