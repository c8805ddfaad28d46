"""Jupyter's display: `_repr_latex_` is display math that KaTeX and MathJax 3
typeset without an error or an unknown command (RICCI_KATEX, RICCI_MATHJAX
name folders where `npm install katex` / `npm install mathjax-full@3` ran;
without them those two tests are skipped, and CI sets both)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import ricci
from conftest import SEEDS

KATEX = os.environ.get("RICCI_KATEX")
MATHJAX = os.environ.get("RICCI_MATHJAX")

RENDER = """
const katex = require(process.argv[1] + "/node_modules/katex");
const inputs = JSON.parse(require("fs").readFileSync(0, "utf8"));
for (const tex of inputs) {
  katex.renderToString(tex, {displayMode: true, throwOnError: true, strict: "error"});
}
console.log(inputs.length);
"""

# MathML through MathJax's TeX input with `noundefined`, which marks an unknown
# command (say `\\footnotesize`) in red instead of failing; inside `\\text` it
# is shown as text.
MATHJAX_RENDER = """
const root = process.argv[1] + "/node_modules/mathjax-full/js/";
const {mathjax} = require(root + "mathjax.js");
const {TeX} = require(root + "input/tex.js");
require(root + "input/tex/AllPackages.js");
const {liteAdaptor} = require(root + "adaptors/liteAdaptor.js");
const {RegisterHTMLHandler} = require(root + "handlers/html.js");
const {SerializedMmlVisitor} = require(root + "core/MmlTree/SerializedMmlVisitor.js");
const {STATE} = require(root + "core/MathItem.js");
RegisterHTMLHandler(liteAdaptor());
const tex = new TeX({packages: ["base", "ams", "noundefined"], formatError: (jax, e) => { throw e; }});
const doc = mathjax.document("", {InputJax: tex});
const inputs = JSON.parse(require("fs").readFileSync(0, "utf8"));
for (const t of inputs) {
  const mml = new SerializedMmlVisitor().visitTree(doc.convert(t, {display: true, end: STATE.CONVERT}));
  // An unknown command is red; one inside \\text is shown as it is, backslash and all.
  if (/mathcolor="red"|merror/.test(mml) || mml.includes(String.fromCharCode(92))) throw new Error("not typeset: " + t);
}
console.log(inputs.length);
"""


def displays():
    out = []
    for seed in SEEDS:
        d = ricci.derive(seed.source, seed.wrt, layout=seed.layout)
        out.append(d._repr_latex_())
        out.extend(r._repr_latex_() for r in d.results)
    return out


def test_the_display_is_one_aligned_block():
    for shown in displays():
        assert shown.startswith("$$") and shown.endswith("$$") and shown.count("$$") == 2
        assert "\\begin{align}" not in shown and "\\text{\\footnotesize" not in shown
    d = ricci.derive(SEEDS[0].source, SEEDS[0].wrt)
    shown = d._repr_latex_()
    assert shown.startswith("$$\\begin{aligned}") and shown.endswith("\\end{aligned}$$")
    # Every line of `--format latex --steps` is there, justifications in small text.
    assert shown.count("\\\\") == d.latex(steps=True).count("\\\\")
    assert "{\\small\\text{chain rule}}" in shown


def test_small_text_keeps_nested_braces():
    align = "\\begin{align}\na &= b \\qquad \\text{\\footnotesize definition of $W^{(1)}$} \\\\\nc &= d\n\\end{align}"
    assert ricci.display_math(align) == (
        "$$\\begin{aligned}\na &= b \\qquad {\\small\\text{definition of $W^{(1)}$}} \\\\\nc &= d\n\\end{aligned}$$"
    )


@pytest.mark.skipif(KATEX is None, reason="RICCI_KATEX is not set")
def test_katex_typesets_every_display():
    shown = [s[2:-2] for s in displays()]
    p = subprocess.run(["node", "-e", RENDER, KATEX], input=json.dumps(shown), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(len(shown))
    # A broken display is refused: the check can fail.
    p = subprocess.run(["node", "-e", RENDER, KATEX], input=json.dumps(["\\frac{a"]), capture_output=True, text=True)
    assert p.returncode != 0


@pytest.mark.skipif(MATHJAX is None, reason="RICCI_MATHJAX is not set")
def test_mathjax_typesets_every_display():
    shown = [s[2:-2] for s in displays()]
    p = subprocess.run(["node", "-e", MATHJAX_RENDER, MATHJAX], input=json.dumps(shown), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(len(shown))
    # What MathJax 3 does not know is refused: the check can fail.
    for bad in ["a \\qquad \\text{\\footnotesize chain rule}", "{\\footnotesize a}", "\\frac{a"]:
        p = subprocess.run(["node", "-e", MATHJAX_RENDER, MATHJAX], input=json.dumps([bad]), capture_output=True, text=True)
        assert p.returncode != 0, bad
