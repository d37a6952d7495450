from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABEL_ERRORS = ROOT.parent / "shared" / "benchmarks" / "label-errors"
TOX21 = ROOT.parent / "shared" / "benchmarks" / "tox21"
DEMO = ROOT / "demo_data"


def _benchmark(name: str, folder: Path = LABEL_ERRORS) -> Path:
    path = folder / name
    if not path.is_file():
        if os.environ.get("ERRORSCOPE_REQUIRE_BENCHMARKS") == "1":
            pytest.fail(f"the real benchmark file {name} is missing from {folder}")
        pytest.skip(f"the real benchmark file {name} is not here (expected beside the project in "
                    f"shared/benchmarks/{folder.name}/)")
    return path


@pytest.fixture
def mnist_path() -> Path:
    return _benchmark("mnist_test_predictions.csv")


@pytest.fixture
def imdb_path() -> Path:
    return _benchmark("imdb_test_predictions.csv")


@pytest.fixture(scope="session")
def adult_path() -> Path:
    return _benchmark("adult_predictions.parquet", LABEL_ERRORS.parent / "adult")


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


#: The tag store backends that the tests of the store's interface run on, each opened by its factory below.
STORE_BACKENDS = ["sqlite"]


def _sqlite_store(tmp_path: Path, name: str, user: str):
    from analysis.tags import open_store

    return open_store(tmp_path / name, user=user, synchronous="NORMAL")  # no fsync: faster tests


#: backend -> factory(tmp_path, name, user) opening the store of that name; the same name opens the same store.
STORE_FACTORIES = {"sqlite": _sqlite_store}


@pytest.fixture(params=STORE_BACKENDS)
def store_backend(request) -> str:
    """The backend of the tag store under test (the tests that use a store run once per backend)."""
    return request.param


@pytest.fixture
def new_store(tmp_path, store_backend):
    """Open a tag store of the backend under test by name (all closed at the end of the test)."""
    factory = STORE_FACTORIES[store_backend]
    opened = []

    def _open(name: str = "tags.db", user: str = "t"):
        opened.append(factory(tmp_path, name, user))
        return opened[-1]

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(new_store):
    return new_store()


@pytest.fixture(scope="session")
def spark_session():
    """The one local Spark session of a test run (local[2]), which every Spark engine opened in the run shares.

    Skipped without pyspark or Java, failing instead when ERRORSCOPE_REQUIRE_SPARK=1 (as CI sets it).
    """
    import shutil

    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing = "pyspark is not installed (pip install 'errorscope[spark]')"
    else:
        missing = None if shutil.which("java") else "Java is not installed (apt-get install openjdk-17-jre-headless)"
    if missing:
        if os.environ.get("ERRORSCOPE_REQUIRE_SPARK") == "1":
            pytest.fail(f"the Spark tests are required but {missing}")
        pytest.skip(f"Spark tests skipped: {missing}")
    from analysis.engine import spark

    os.environ.pop("SPARK_REMOTE", None)  # a local Spark, whatever the shell says
    yield spark.session(master="local[2]", conf={"spark.sql.files.maxPartitionBytes": "4m"})
    spark.stop()
