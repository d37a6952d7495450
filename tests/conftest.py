from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABEL_ERRORS = ROOT.parent / "shared" / "benchmarks" / "label-errors"
DEMO = ROOT / "demo_data"


def _benchmark(name: str) -> Path:
    path = LABEL_ERRORS / name
    if not path.is_file():
        if os.environ.get("ERRORSCOPE_REQUIRE_BENCHMARKS") == "1":
            pytest.fail(f"the real benchmark file {name} is missing from {LABEL_ERRORS}")
        pytest.skip(f"the real benchmark file {name} is not here (expected beside the project in "
                    "shared/benchmarks/label-errors/)")
    return path


@pytest.fixture
def mnist_path() -> Path:
    return _benchmark("mnist_test_predictions.csv")


@pytest.fixture
def imdb_path() -> Path:
    return _benchmark("imdb_test_predictions.csv")


@pytest.fixture
def demo_config() -> dict:
    return json.loads((DEMO / "demo.json").read_text())


@pytest.fixture
def demo_path(demo_config) -> Path:
    return DEMO / demo_config["file"]


@pytest.fixture
def write(tmp_path):
    """Write text (or bytes) to a file in tmp_path and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def new_store(tmp_path):
    """Open a tag store in tmp_path by file name (all closed at the end of the test)."""
    from analysis.tags import TagStore

    opened = []

    def _open(name: str = "tags.db", user: str = "t") -> TagStore:
        opened.append(TagStore(tmp_path / name, user=user, synchronous="NORMAL"))  # no fsync: faster tests
        return opened[-1]

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(new_store):
    return new_store()
