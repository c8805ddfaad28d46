"""Deep and long programs derive within the default stack of a Python thread
(run in a subprocess, so that a crash fails the test rather than pytest)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r'''
import threading
import ricci

def deep():
    e = "x_i"
    for _ in range(62):
        e = f"σ({e})"
    d = ricci.derive(f"index i : N\nL = Σ_i {e}", "x")
    d.text(steps=True), d["x"].numpy, d.check()
    nested = "(" * 60 + "x_i" + ")" * 60
    ricci.derive(f"index i : N\nL = Σ_i {nested}", "x").text(steps=True)
    try:
        ricci.derive("index i : N\nL = Σ_i " + "(" * 70 + "x_i" + ")" * 70, "x")
        raise AssertionError("70 levels were accepted")
    except ricci.RicciError as e:
        assert "nested more than 64 levels deep" in str(e)
    lines = ["y0_i = x_i"] + [f"y{k}_i = σ(y{k-1}_i) + y{k-1}_i" for k in range(1, 300)]
    d = ricci.derive("index i : N\n" + "\n".join(lines) + "\nL = Σ_i y299_i", "x")
    d["x"].matrix, d["x"].numpy
    print("ok")

deep()
t = threading.Thread(target=deep)
t.start()
t.join()
'''


def test_deep_and_long_programs_on_the_main_thread_and_another():
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["ok", "ok"]
    assert "unsendable" not in p.stderr
