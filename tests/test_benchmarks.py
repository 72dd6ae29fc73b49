"""Benchmarks are run by hand (``python benchmarks/run.py``); this keeps them from rotting."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).parent.parent / "benchmarks").glob("bench_*.py"))


def test_every_benchmark_is_found() -> None:
    assert {p.stem for p in BENCHMARKS} >= {
        "bench_import",
        "bench_search",
        "bench_nlu",
        "bench_turn",
        "bench_llm",
    }


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_imports_and_offers_quick_mode(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "--quick" in result.stdout
