"""Refused programs and requests raise RicciError, with the command line's text."""

from __future__ import annotations

import threading

import pytest

import ricci
from conftest import ERR_DIR, run

ERR_CASES = sorted(ERR_DIR.glob("*.ricci"))


def test_there_are_error_cases():
    assert len(ERR_CASES) >= 30


@pytest.mark.parametrize("path", ERR_CASES, ids=lambda p: p.stem)
def test_program_errors_equal_the_command_line(cli, path):
    source = path.read_text(encoding="utf-8")
    einstein = source.startswith("# args:") and "--einstein" in source.splitlines()[0]
    flags = ["--einstein"] if einstein else []
    p = run(cli, "derive", str(path), "--wrt", "x", *flags, check=False)
    assert p.returncode == 2
    with pytest.raises(ricci.RicciError) as caught:
        ricci.derive(source, "x", einstein=einstein, filename=str(path))
    e = caught.value
    assert isinstance(e, ValueError)
    assert str(e) == p.stderr
    # .line and .column are the first error's, as the rendered text shows them.
    assert e.line is not None and e.column is not None
    assert f"{path}:{e.line}:{e.column}" in str(e)
    assert e.errors[0][:2] == (e.line, e.column)
    for line, column, message in e.errors:
        assert f"{path}:{line}:{column}" in str(e) and f"error: {message}" in str(e)


def test_line_and_column_count_characters():
    source = "index i : N\nY_i = x_i\nL = Σ_i Y_i + σ(z_j)\n"
    with pytest.raises(ricci.RicciError) as caught:
        ricci.derive(source, "x")
    e = caught.value
    assert (e.line, e.column) == (3, len("L = Σ_i Y_i + σ(z_") + 1)
    assert "<string>:3:" in str(e)
    assert "^" in str(e) and "help:" in str(e)


def test_every_error_is_listed():
    with pytest.raises(ricci.RicciError) as caught:
        ricci.derive("Z_i = (Y_ij\nM = Σ_ij Z_ij\nK = Σ_i Z_i\nL = x_k\n", "x")
    e = caught.value
    assert [(line, message.split(" ")[0]) for line, _, message in e.errors] == [(1, "unexpected"), (4, "index")]
    assert (e.line, e.column) == e.errors[0][:2]


def test_a_request_error_has_no_place(cli):
    with pytest.raises(ricci.RicciError) as caught:
        ricci.derive("L = Σ_i x_i^2", "y")
    e = caught.value
    assert (e.line, e.column) == (None, None)
    assert str(e) == run(cli, "derive", "-e", "L = Σ_i x_i^2", "--wrt", "y", check=False).stderr
    assert str(e).startswith("error: --wrt y: the program has no tensor `y`")


def test_a_request_error_with_a_place(cli):
    source = "index i : N\nz_i = relu(s_i)\nL = Σ_i z_i\n"
    with pytest.raises(ricci.RicciError) as caught:
        ricci.derive(source, "s", of="N", filename="<-e>")
    e = caught.value
    assert (e.line, e.column) == (1, 11)
    assert str(e) == run(cli, "derive", "-e", source, "--wrt", "s", "--of", "N", check=False).stderr


def test_no_wrt_lists_the_tensors(cli):
    with pytest.raises(ricci.RicciError) as caught:
        ricci.derive("L = Σ_i x_i^2", [])
    assert str(caught.value) == run(cli, "derive", "-e", "L = Σ_i x_i^2", check=False).stderr


def test_second_derivatives_are_refused_today(cli):
    for flags, kwargs in [(["--hessian"], {"hessian": True}), (["--hvp", "v"], {"hvp": "v"})]:
        p = run(cli, "derive", "-e", "L = Σ_i x_i^2", "--wrt", "x", *flags, check=False)
        if p.returncode == 0:
            pytest.skip("second derivatives exist: test_second_order.py covers them")
        with pytest.raises(ricci.RicciError) as caught:
            ricci.derive("L = Σ_i x_i^2", "x", **kwargs)
        assert str(caught.value) == p.stderr


def test_usage_errors():
    with pytest.raises(ricci.RicciError, match="backward pass of a scalar loss") as caught:
        ricci.derive("L = Σ_i x_i^2", "x", hessian=True, backward=True)
    assert caught.value.line is None
    with pytest.raises(ricci.RicciError, match=r"layout=\"rows\": not a layout"):
        ricci.derive("L = Σ_i x_i^2", "x", layout="rows")
    with pytest.raises(ricci.RicciError, match="ask for one of them"):
        ricci.derive("L = Σ_i x_i^2", "x", hessian=True, hvp="v")
    with pytest.raises(TypeError):
        ricci.derive("L = Σ_i x_i^2", ["x", 3])  # type: ignore[list-item]


def test_unknown_result_is_a_key_error():
    d = ricci.derive("L = Σ_i x_i^2", "x")
    with pytest.raises(KeyError, match="wrt x"):
        d["y"]
    assert "y" not in d and "x" in d


def test_another_thread_gets_an_error_not_a_race():
    d = ricci.derive("L = Σ_i x_i^2", "x")
    caught = []

    def read():
        try:
            d["x"].index
        except RuntimeError as e:
            caught.append(e)

    t = threading.Thread(target=read)
    t.start()
    t.join()
    assert len(caught) == 1 and "thread that made it" in str(caught[0])
    assert d["x"].index == "∂L/∂x_j = 2 x_j"


def test_a_derivation_is_freed_on_its_thread():
    # No reference cycle between a Derivation and its results: the engine's
    # state is dropped when the last reference goes, not later by the
    # collector on whichever thread runs it.
    import gc

    gc.disable()
    try:
        gc.collect()
        d = ricci.derive("L = Σ_i x_i^2", "x")
        d["x"].matrix
        del d
        assert gc.collect() == 0
    finally:
        gc.enable()
