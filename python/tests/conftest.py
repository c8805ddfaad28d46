"""Shared fixtures: the repository, the command line built with cargo, and
the seed cases (tests/cases/derive/*.ricci with their `# expect W: form` lines)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED_DIR = ROOT / "tests" / "cases" / "derive"
ERR_DIR = ROOT / "tests" / "cases" / "err"


@dataclass
class Seed:
    """A seed case: its file, source, --wrt names with their matrix forms, and layout."""

    path: Path
    source: str
    expect: list[tuple[str, str]]
    layout: str

    @property
    def wrt(self) -> list[str]:
        return [w for w, _ in self.expect]

    def args(self) -> list[str]:
        out = [a for w in self.wrt for a in ("--wrt", w)]
        return out + ["--layout", self.layout]


def read_seed(path: Path) -> Seed:
    source = path.read_text(encoding="utf-8")
    expect = []
    layout = "gradient"
    for line in source.splitlines():
        if line.startswith("# expect "):
            wrt, form = line[len("# expect ") :].split(": ", 1)
            expect.append((wrt, form))
        elif line.strip() == "# layout: numerator":
            layout = "numerator"
    return Seed(path, source, expect, layout)


SEEDS = [read_seed(p) for p in sorted(SEED_DIR.glob("*.ricci"))]


@pytest.fixture(scope="session")
def cli() -> Path:
    """The command line: $RICCI_BIN, or target/debug/ricci built with cargo."""
    if "RICCI_BIN" in os.environ:
        return Path(os.environ["RICCI_BIN"])
    subprocess.run(["cargo", "build", "--quiet", "--bin", "ricci"], cwd=ROOT, check=True)
    return ROOT / "target" / "debug" / "ricci"


def run(cli: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs `ricci ARGS…`; with `check`, insists on exit status 0."""
    p = subprocess.run([str(cli), *args], capture_output=True, text=True, encoding="utf-8")
    if check and p.returncode != 0:
        raise AssertionError(f"ricci {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return p


def without_notes(stderr: str) -> str:
    """Standard error without the `note:` lines about opaque functions."""
    return "".join(l for l in stderr.splitlines(True) if not l.startswith("note: "))
