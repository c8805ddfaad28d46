"""Times a derivation from Python against the same derivation in-process in Rust.

    python3 python/bench.py            # every seed case: Python, Rust, ratio
    python3 python/bench.py --divan    # also divan's medians (`cargo bench --bench derive -- seed_case`)

Both sides time the whole of `derive` (parse, check, differentiate, simplify,
recognise, saturate) and render nothing: the module renders lazily, when a
form is read. Each sample times one call, and the samples alternate: one
`ricci.derive(source, wrt, layout=...)` from Python (`time.perf_counter`
around it), then one `ricci::derive(source, &request)` timed inside Rust by
the same extension (`ricci._ricci.time_derive`: same build, same allocator,
mimalloc as the command line's). Alternating puts both under the same load on
a shared machine, and the median of single calls drops the samples that
were preempted. The target (issue #19) is a ratio of at most 1.5.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import ricci
from ricci import _ricci

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python" / "tests"))
from conftest import SEEDS  # noqa: E402

UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def medians(seed, samples=300) -> tuple[float, float]:
    """Median seconds of one derivation of `seed`: (from Python, in Rust)."""
    py, rust = [], []
    ricci.derive(seed.source, seed.wrt, layout=seed.layout)  # the first run compiles the rule tables
    for _ in range(samples):
        started = time.perf_counter()
        ricci.derive(seed.source, seed.wrt, layout=seed.layout)
        py.append(time.perf_counter() - started)
        rust.extend(_ricci.time_derive(seed.source, seed.wrt, seed.layout, 1))
    return statistics.median(py), statistics.median(rust)


def divan_medians() -> dict[str, float]:
    """divan's median seconds per seed case (`cargo bench --bench derive -- seed_case`)."""
    out = subprocess.run(
        ["cargo", "bench", "--locked", "--bench", "derive", "--", "seed_case"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        # ├─ 000_linear   51.1 µs │ 93.4 µs │ 52.7 µs │ 54.3 µs │ …  (fastest, slowest, median, mean)
        m = re.match(r"\W*(\d{3}_\w+)\s+(.*)", line)
        cells = re.findall(r"([\d.]+)\s*(ns|µs|us|ms|s)\b", m.group(2)) if m else []
        if m and len(cells) >= 3:
            value, unit = cells[2]
            found[m.group(1)] = float(value) * UNITS[unit]
    return found


def main() -> None:
    divan = divan_medians() if "--divan" in sys.argv else {}
    ratios = []
    head = f"{'case':<20}{'python':>10}{'rust':>10}{'ratio':>7}"
    print(head + (f"{'divan':>10}" if divan else ""))
    for seed in SEEDS:
        name = seed.path.stem
        py, rust = medians(seed)
        ratios.append(py / rust)
        line = f"{name:<20}{py * 1e3:>8.3f}ms{rust * 1e3:>8.3f}ms{ratios[-1]:>7.2f}"
        if name in divan:
            line += f"{divan[name] * 1e3:>8.3f}ms"
        print(line)
    print(f"python/rust: median {statistics.median(ratios):.3f}, worst {max(ratios):.3f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
