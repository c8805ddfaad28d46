"""Every seed case through Python gives what the command line prints."""

from __future__ import annotations

import json

import pytest

import ricci
from conftest import SEEDS, Seed, run, without_notes


def derive(seed: Seed) -> ricci.Derivation:
    return ricci.derive(seed.source, seed.wrt, layout=seed.layout, filename=str(seed.path))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.path.stem)
def test_text_equals_the_command_line(cli, seed):
    d = derive(seed)
    path = str(seed.path)
    assert d.text() == run(cli, "derive", path, *seed.args()).stdout
    assert str(d) == d.text()
    assert d.text(ascii=True) == run(cli, "derive", path, *seed.args(), "--ascii").stdout
    stepped = run(cli, "derive", path, *seed.args(), "--steps").stdout
    assert d.text(steps=True) == stepped
    # Each result's steps are the CLI's lines between its index and matrix forms.
    lines = stepped.splitlines()
    for r in d.results:
        start = lines.index(r.index) + 1
        assert d.steps(r.wrt) == lines[start : lines.index(r.matrix_line, start)]
        assert r.steps() == d.steps(r.wrt)
        assert all(line.lstrip().startswith("(") for line in d.steps(r.wrt))
    # The document's matrix forms, and the index forms as printed.
    for r, (wrt, form) in zip(d.results, seed.expect):
        assert (r.wrt, r.matrix) == (wrt, form)
        assert r.index in stepped


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.path.stem)
def test_fields_equal_the_json(cli, seed):
    d = derive(seed)
    path = str(seed.path)
    expected = json.loads(run(cli, "derive", path, *seed.args(), "--format", "json").stdout)
    assert d.json() == expected
    assert d.json(ascii=True) == json.loads(
        run(cli, "derive", path, *seed.args(), "--format", "json", "--ascii").stdout
    )
    assert d.of == expected["of"]
    assert [r.wrt for r in d.results] == [e["wrt"] for e in expected["results"]]
    for r, e in zip(d.results, expected["results"]):
        assert d[e["wrt"]] is r
        assert r.index == e["index"]
        assert r.matrix == e["matrix"]
        assert r.latex == e["latex"]
        assert r.numpy == e["numpy"]
        assert list(r.shape) == e["shape"]
        assert r.kind == e["kind"] == "gradient"


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.path.stem)
def test_code_and_latex_equal_the_command_line(cli, seed):
    d = derive(seed)
    path = str(seed.path)
    numpy = run(cli, "derive", path, *seed.args(), "--format", "numpy").stdout
    torch = run(cli, "derive", path, *seed.args(), "--format", "torch").stdout
    assert d.code() == numpy
    jax = run(cli, "derive", path, *seed.args(), "--format", "jax").stdout
    assert d.code("torch") == torch
    assert d.code("jax") == jax
    for r in d.results:
        assert r.numpy in numpy
        assert r.torch in torch and "import torch" in torch
        assert r.jax in jax and "import jax.numpy as jnp" in jax
    latex = run(cli, "derive", path, *seed.args(), "--format", "latex", "--steps").stdout
    assert d.latex(steps=True) == latex
    standalone = run(cli, "derive", path, *seed.args(), "--format", "latex", "--standalone").stdout
    assert d.latex(standalone=True) == standalone


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.path.stem)
def test_check_equals_the_command_line(cli, seed):
    d = derive(seed)
    p = run(cli, "derive", str(seed.path), *seed.args(), "--check")
    reports = d.check()
    assert [r.line for r in reports] == without_notes(p.stderr).strip().splitlines()
    assert all(r.ok and r.verdict == "ok" and r.index_error < 1e-6 for r in reports)
    assert [r.wrt for r in reports] == seed.wrt
    assert [str(r) for r in reports] == [r.line for r in reports]
