"""The benchmark's measure (python/bench.py): a derivation from Python costs at
most 1.5× the same derivation timed in-process in Rust."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import ricci
from ricci import _ricci

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench  # noqa: E402
from conftest import SEEDS  # noqa: E402


def test_time_derive_times_each_sample():
    seed = SEEDS[0]
    times = _ricci.time_derive(seed.source, seed.wrt, seed.layout, 5)
    assert len(times) == 5 and all(0 < t < 10 for t in times)


def test_python_costs_at_most_one_and_a_half_times_rust():
    chosen = [s for s in SEEDS if s.path.stem in ("000_linear", "001_two_layer", "003_mlp")]
    ratios = []
    for seed in chosen:
        py, rust = bench.medians(seed, samples=150)
        ratios.append(py / rust)
    assert statistics.median(ratios) <= 1.5, ratios
    assert ricci.derive(chosen[0].source, chosen[0].wrt)  # still a real derivation
