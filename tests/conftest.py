from __future__ import annotations

import importlib.util
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
STORE_BACKENDS = ["sqlite", "postgresql"]


def _sqlite_store(tmp_path: Path, name: str, user: str):
    from analysis.tags import open_store

    return open_store(tmp_path / name, user=user, synchronous="NORMAL")  # no fsync: faster tests


def postgres_schema_url(server: str, key: str) -> str:
    """The URL of a new, empty schema of the test server named after ``key`` (the same key, the same schema)."""
    import hashlib

    import psycopg

    schema = "t_" + hashlib.sha1(key.encode()).hexdigest()[:20]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    return f"{server}?options=-csearch_path%3D{schema}"


def _postgres_store(tmp_path: Path, name: str, user: str):
    from analysis.tags import open_store

    return open_store(postgres_schema_url(_POSTGRES["url"], str(tmp_path / name)), user=user)


#: backend -> factory(tmp_path, name, user) opening the store of that name; the same name opens the same store.
STORE_FACTORIES = {"sqlite": _sqlite_store, "postgresql": _postgres_store}
_POSTGRES: dict = {}  # the test server's "url", once started


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a PostgreSQL server for the tests: $ERRORSCOPE_TEST_POSTGRES, else a throwaway cluster
    started here (tests/postgres_server.py) when PostgreSQL is installed; skipped otherwise, failed under
    ERRORSCOPE_REQUIRE_POSTGRES=1."""
    from tests import postgres_server as server

    missing = next((m for m in ("sqlalchemy", "psycopg") if importlib.util.find_spec(m) is None), None)
    given = os.environ.get("ERRORSCOPE_TEST_POSTGRES", "").strip()
    why = (f"{missing} is not installed (pip install 'errorscope[postgres]')" if missing
           else None if given or server.binaries() else "no PostgreSQL server: set ERRORSCOPE_TEST_POSTGRES or "
           "install PostgreSQL (initdb)")
    if why:
        if os.environ.get("ERRORSCOPE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"the PostgreSQL tests are required but cannot run: {why}")
        pytest.skip(f"PostgreSQL tests skipped: {why}")
    folder = None
    if not given:
        given, folder = server.start()
    _POSTGRES["url"] = given
    yield given
    if folder is not None:
        server.stop(folder)


@pytest.fixture(params=STORE_BACKENDS)
def store_backend(request) -> str:
    """The backend of the tag store under test (the tests that use a store run once per backend)."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_server")
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
