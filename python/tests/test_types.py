"""The type stubs: `ricci._ricci.pyi` matches the compiled module (mypy's
stubtest), and the package and the SPEC's example pass `mypy --strict`."""

from __future__ import annotations

import subprocess
import sys

USAGE = '''
import numpy as np
import ricci

d = ricci.derive("Y_sn = Σ_m X_sm W_nm + b_n", wrt=["W", "b"])
matrix: str | None = d["W"].matrix
index: str = d["W"].index
shape: tuple[str | None, ...] = d["W"].shape
f = d["W"].function()
f(np.ones((2, 3)), np.ones((2, 4)))
lines: list[str] = d.steps("W")
ok: bool = all(r.ok for r in d.check())
shown: str = d._repr_latex_()
try:
    ricci.derive("L = x_k", "x")
except ricci.RicciError as e:
    line: int | None = e.line
'''


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True)


def test_the_stubs_match_the_compiled_module():
    p = mypy("mypy.stubtest", "ricci._ricci")
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_package_and_its_use_type_check(tmp_path):
    p = mypy("mypy", "--strict", "-p", "ricci")
    assert p.returncode == 0, p.stdout
    usage = tmp_path / "usage.py"
    usage.write_text(USAGE, encoding="utf-8")
    p = mypy("mypy", "--strict", str(usage))
    assert p.returncode == 0, p.stdout
    usage.write_text(USAGE + "wrong: int = d['W'].index\n", encoding="utf-8")
    assert mypy("mypy", "--strict", str(usage)).returncode != 0
