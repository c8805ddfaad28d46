"""Side by side with SymPy: the same derivatives, timed in one run.

    python3 benches/sympy_compare.py [path/to/ricci] [repetitions]

SymPy differentiates matrix expressions (trace forms); ricci the equivalent
index programs. SymPy's time is the median of `expr.diff(wrt)` with SymPy's
cache cleared before each run; ricci's is the median in-process derivation time
that `ricci derive --stats --repeat N` reports (parse excluded, differentiation
to the matrix form included; process start-up and the one-time compilation of
the rule tables excluded). Prints one row per case and the median ratio.
"""

import os
import re
import statistics
import subprocess
import sys
import time

import sympy as sp
from sympy.core.cache import clear_cache

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RICCI = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "ricci")
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 15

S, M, N, K = sp.symbols("S M N K", integer=True, positive=True)


def cases():
    X = sp.MatrixSymbol("X", S, M)
    W = sp.MatrixSymbol("W", N, M)
    G = sp.MatrixSymbol("G", S, N)
    B = sp.MatrixSymbol("B", S, N)
    H = sp.MatrixSymbol("H", S, M)
    V = sp.MatrixSymbol("V", M, N)
    A = sp.MatrixSymbol("A", M, M)
    x = sp.MatrixSymbol("x", M, 1)
    P = sp.MatrixSymbol("P", K, M)
    Q = sp.MatrixSymbol("Q", M, K)
    Z = sp.MatrixSymbol("Z", M, M)
    Y = sp.MatrixSymbol("Y", S, N)
    lin = "Y_sn = Σ_m X_sm W_nm + B_sn"
    hw = "Y_dn = Σ_m H_dm V_mn"
    return [
        ("linear layer, ∂/∂W", sp.trace(G.T * (X * W.T + B)), W, lin, "W"),
        ("linear layer, ∂/∂X", sp.trace(G.T * (X * W.T + B)), X, lin, "X"),
        ("Y = H W, ∂/∂H", sp.trace(G.T * (H * V)), H, hw, "H"),
        ("Y = H W, ∂/∂W", sp.trace(G.T * (H * V)), V, hw, "V"),
        # (xᵀ A x)[0, 0].diff(x) gives 0 in SymPy: silently wrong; the 1×1 matrix form is right
        ("xᵀ A x, ∂/∂x", x.T * A * x, x, "L = Σ_ij x_i A_ij x_j", "x"),
        ("tr(P Z Q), ∂/∂Z", sp.trace(P * Z * Q), Z, "L = Σ_ijk P_ij Z_jk Q_ki", "Z"),
        ("tr(Zᵀ A Z), ∂/∂Z", sp.trace(Z.T * A * Z), Z, "L = Σ_ijk Z_ji A_jk Z_ki", "Z"),
        ("‖X Wᵀ − Y‖², ∂/∂W", sp.trace((X * W.T - Y).T * (X * W.T - Y)), W, "L = Σ_sn (Σ_m X_sm W_nm - Y_sn)^2", "W"),
    ]


def sympy_time(expr, wrt):
    times = []
    result = None
    for _ in range(REPS):
        clear_cache()
        start = time.perf_counter()
        result = expr.diff(wrt)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ricci_time(program, wrt):
    out = subprocess.run(
        [RICCI, "derive", "-e", program, "--wrt", wrt, "--stats", "--repeat", str(REPS + 1)],
        capture_output=True,
        text=True,
        check=True,
    )
    median = float(re.search(r"derivation: ([0-9.]+) ms", out.stderr).group(1)) / 1e3
    return median, out.stdout.strip().splitlines()[1]


def main():
    ratios = []
    print(f"{'case':<24} {'SymPy':>10} {'ricci':>10} {'ratio':>8}  results")
    for name, expr, wrt, program, ricci_wrt in cases():
        ts, rs = sympy_time(expr, wrt)
        tr, rr = ricci_time(program, ricci_wrt)
        ratios.append(ts / tr)
        print(f"{name:<24} {ts * 1e3:>8.2f}ms {tr * 1e3:>8.3f}ms {ts / tr:>7.0f}×  {rs}  |  {rr}")
    print(f"median ratio over {len(ratios)} cases: {statistics.median(ratios):.0f}× (ricci faster)")


if __name__ == "__main__":
    main()
