"""The example notebook runs headless (`jupyter nbconvert --execute`): it
derives a layer, shows it typeset and trains it with the generated code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_notebook_runs_and_shows_the_derivation(tmp_path):
    notebook = EXAMPLES / "softmax_layer.ipynb"
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.timeout=120", "--output-dir", str(tmp_path), str(notebook)],
        check=True,
    )
    executed = json.loads((tmp_path / notebook.name).read_text(encoding="utf-8"))
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    latex = [o["data"]["text/latex"] for o in outputs if "text/latex" in o.get("data", {})]
    assert len(latex) == 1
    typeset = "".join(latex[0])
    assert typeset.startswith("$$\\begin{aligned}") and typeset.endswith("\\end{aligned}$$")
    assert "\\frac{\\partial L}{\\partial W}" in typeset
    printed = "".join(t for o in outputs if o["output_type"] == "stream" for t in o["text"])
    assert "check W: relative error" in printed and "→" in printed
