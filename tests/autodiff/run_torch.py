"""Checks ricci's generated NumPy and PyTorch code against PyTorch's autograd.

    /usr/bin/python3 tests/autodiff/run_torch.py [path/to/ricci] [--only CASE …]

Runs under Debian's python3 with Debian's CPU-only python3-torch and
python3-numpy (no pip). For every case of harness.py the forward pass is
written here by hand in torch, independently of ricci (and of run_jax.py);
torch.autograd.grad (a VJP with a random upstream ∂L/∂Y where the loss is
undefined) or torch.autograd.functional.jacobian at float64 is the oracle.
ricci's `--format numpy` and `--format torch` functions, and `backward_<of>` of
`--backward`, are called by keyword on the same inputs and must agree to a
relative error of 1e-6, finite; for an undefined loss, so must the gradients
torch.autograd takes through the module's `Program.apply`. Prints one line per check and a summary; exits 1
on any failure.
"""

import inspect
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

torch.set_default_dtype(torch.float64)


def pick(v, name, compute):
    """An intermediate tensor: computed once and kept in `v`, unless `v`
    already holds it (the oracle differentiates by it)."""
    if name not in v:
        v[name] = compute()
    return v[name]


def h(x):
    return torch.sin(x) + 0.5 * x


def h_prime(x):
    return torch.cos(x) + 0.5


# ---- the forward passes, one per program -----------------------------------


def linear(v):
    return {"Y": torch.nn.functional.linear(v["X"], v["W"], v["b"])}


def activation(v):
    return {"Y": h(v["X"])}


def matmul(v):
    return {"Y": torch.matmul(v["X"], v["W"])}


def softmax_ce_001(v):
    return {"L": -(v["T"] * torch.log_softmax(v["S"], dim=1)).sum()}


def two_layer(v):
    z = pick(v, "z", lambda: torch.addmm(v["b1"], v["X"], v["W1"]))
    hidden = pick(v, "H", lambda: torch.relu(z))
    return {"S": torch.addmm(v["b2"], hidden, v["W2"])}


def softmax(v):
    return {"Y": torch.softmax(v["Z"], dim=1)}


def softmax_ce_002(v):
    # the mean over rows of the cross-entropy with (one-hot) probability targets
    return {"L": torch.nn.functional.cross_entropy(v["Z"], v["T"])}


def bce(v):
    return {"L": torch.nn.functional.binary_cross_entropy(v["yhat"], v["y"])}


def bce_sigmoid(v):
    return {"L": torch.nn.functional.binary_cross_entropy_with_logits(v["s"], v["y"])}


def mlp(activation_fn, last):
    def forward(v):
        s1 = pick(v, "s1", lambda: torch.mv(v["W1"], v["x"]) + v["b1"])
        z1 = pick(v, "z1", lambda: activation_fn(s1))
        s2 = pick(v, "s2", lambda: torch.mv(v["W2"], z1) + v["b2"])
        yhat = pick(v, "yhat", lambda: last(s2))
        return {"L": torch.sum((yhat - v["y"]) ** 2)}

    return forward


def hw(v):
    return {"Y": v["H"].mm(v["W"])}


def mlp_softmax_ce(v):
    hidden = torch.tanh(torch.addmm(v["b1"], v["X"], v["W1"]))
    logits = torch.addmm(v["b2"], hidden, v["W2"])
    return {"L": torch.nn.functional.cross_entropy(logits, v["T"])}


def attention(v):
    x = v["X"]
    q, k, val = x.mm(v["Wq"]), x.mm(v["Wk"]), x.mm(v["Wv"])
    scores = q.mm(k.t()) / math.sqrt(q.shape[1])
    return {"O": torch.softmax(scores, dim=-1).mm(val)}


def transformer_block(v):
    x = v["X"]
    d = x.shape[1]
    a = torch.nn.functional.layer_norm(x, (d,), weight=v["gamma"], bias=v["beta"], eps=v["epsilon"])
    q, k, val = a.mm(v["Wq"]), a.mm(v["Wk"]), a.mm(v["Wv"])
    hidden = x + torch.softmax(q.mm(k.t()) / math.sqrt(d), dim=-1).mm(val)
    u = torch.addmm(v["b1"], hidden, v["W1"])
    gelu = 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u.pow(3))))
    return {"Y": hidden + torch.addmm(v["b2"], gelu, v["W2"])}


def gru_step(v):
    x, h0 = v["x"], v["h0"]
    z = torch.sigmoid(x.mm(v["Wz"]) + h0.mm(v["Uz"]) + v["bz"])
    r = torch.sigmoid(x.mm(v["Wr"]) + h0.mm(v["Ur"]) + v["br"])
    n = torch.tanh(x.mm(v["Wn"]) + r * h0.mm(v["Un"]) + v["bn"])
    return {"h1": torch.lerp(n, h0, z)}


def batchnorm_linear(v):
    normed = torch.nn.functional.batch_norm(
        v["X"], None, None, weight=v["gamma"], bias=v["beta"], training=True, eps=v["epsilon"]
    )
    y = normed.mm(v["W"]) + v["b"]
    return {"L": 0.5 * torch.nn.functional.mse_loss(y, v["T"], reduction="sum")}


def seed_mlp(v):
    z1 = torch.sigmoid(torch.mv(v["W1"], v["x"]) + v["b1"])
    s2 = torch.mv(v["W2"], z1) + v["b2"]
    return {"L": torch.nn.functional.binary_cross_entropy_with_logits(s2, v["y"])}


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
    "mlp_relu": mlp(torch.relu, lambda s: s),
    "mlp_sigmoid": mlp(torch.sigmoid, torch.sigmoid),
    "hw": hw,
    "mlp_softmax_ce": mlp_softmax_ce,
    "attention": attention,
    "transformer_block": transformer_block,
    "gru_step": gru_step,
    "batchnorm_linear": batchnorm_linear,
    "seed_mlp": seed_mlp,
}


# ---- the oracle and the conversions -------------------------------------------


def tensor(a):
    return torch.from_numpy(np.array(a, dtype=np.float64)) if isinstance(a, np.ndarray) else a


class Backend:
    python = "/usr/bin/python3"
    formats = ("numpy", "torch")

    @staticmethod
    def oracle(case, inputs, rng):
        forward = FORWARD[case.forward]
        base = {k: tensor(a) for k, a in inputs.items()}
        values = dict(base)
        with torch.no_grad():
            out = forward(values)
        upstream = {}
        if case.kind == "gradient" and "L" not in out:
            upstream = {"dL_d" + k: rng.uniform(-1, 1, tuple(out[k].shape)) for k in sorted(out)}

        def run(key, x):
            v = dict(base)
            v[key] = x
            out = forward(v)
            if case.kind == "jacobian":
                of = harness.ascii_name(case.of)
                return v[of] if of in v else out[of]
            if "L" in out:
                return out["L"]
            return sum(torch.sum(out[k] * tensor(upstream["dL_d" + k])) for k in out)

        grads = {}
        for wrt in case.wrts:
            key = harness.ascii_name(wrt)
            x = values[key].detach().clone()
            if case.kind == "jacobian":
                g = torch.autograd.functional.jacobian(lambda x: run(key, x), x)
            else:
                x.requires_grad_(True)
                (g,) = torch.autograd.grad(run(key, x), x)
            grads[key] = g.detach().numpy()
        return {"grads": grads, "upstream": upstream}

    @staticmethod
    def arguments(fmt, available):
        if fmt == "numpy":
            return dict(available, h=lambda x: np.sin(x) + 0.5 * x, h_prime=lambda x: np.cos(x) + 0.5)
        return dict({k: tensor(a) for k, a in available.items()}, h=h, h_prime=h_prime)

    @staticmethod
    def through_wrapper(fmt, scope, args, keys):
        """The gradients by `keys` (those that are parameters) of Σ out ⊙
        dL_dout over `Program.apply`'s outputs, by torch.autograd."""
        op = scope.get("Program")
        if op is None:
            raise RuntimeError("the module has no Program (torch.autograd.Function)")
        params = [p for p in inspect.signature(op.forward).parameters if p != "_ctx"]
        leaves = {}
        values = []
        for p in params:
            v = args.get(p)
            if p in keys:
                v = torch.as_tensor(v, dtype=torch.float64).clone().requires_grad_(True)
                leaves[p] = v
            values.append(v)
        out = op.apply(*values)
        outs = out if isinstance(out, tuple) else (out,)
        loss = sum((o * args["dL_d" + n]).sum() for o, n in zip(outs, op.outputs))
        got = torch.autograd.grad(loss, list(leaves.values()))
        return {k: g for k, g in zip(leaves, got)}

    @staticmethod
    def to_numpy(fmt, value):
        if fmt == "torch":
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"returned {type(value).__name__}, not a torch tensor")
            return value.detach().numpy()
        if not isinstance(value, (np.ndarray, np.generic, float)):
            raise TypeError(f"returned {type(value).__name__}, not a NumPy array")
        return np.asarray(value)


if __name__ == "__main__":
    sys.exit(harness.run_suite("autodiff-torch", Backend))
