"""The Spark engine: the same engine-neutral SQL as DuckDB, run by a local Spark or a cluster through Spark Connect.

``--engine spark`` (or ``load_predictions(..., engine="spark")``) reads the file where it lies with Spark's own
readers and runs the queries of :mod:`analysis.view`, :mod:`analysis.checks` and :mod:`analysis.label_issues`,
written in DuckDB's dialect, translated by sqlglot (:func:`spark_sql`). The one session of a process is started on
first use: a local Spark (``local[*]``, or ``ERRORSCOPE_SPARK_MASTER``) or, when ``SPARK_REMOTE`` is set
(``sc://host:15002``), a Spark Connect client. Each engine opened works in a session of its own, so that the
temporary views of two pieces of work never meet.

What is Spark's own lives here: the readers (a CSV with the types of its header sniffed from its first rows), the
1-based row numbers (Parquet's row index; for a CSV, each row's place in its partition plus the rows of the
partitions before it), ``CREATE TEMP TABLE`` as a cached view, and the group reference of ``regexp_replace``.
"""

from __future__ import annotations

import os
import re
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.checks import Aggregate, integer_ids
from analysis.diagnose import first_line, spark_read_error
from analysis.errors import ErrorscopeError, InputError
from analysis.source import Uri
from analysis.view import id_sql, ident

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from analysis.source import Source

INSTALL = ("the Spark engine needs pyspark: pip install 'errorscope[spark]' (and Java 17 or later, e.g. "
           "apt-get install openjdk-17-jre-headless)")
#: The local Spark's master when SPARK_REMOTE is not set; ERRORSCOPE_SPARK_MASTER (e.g. "local[2]") changes it.
MASTER = "local[*]"
#: Settings of a local session: small queries want few shuffle partitions; no web UI, nothing bound but loopback.
LOCAL_CONF = {
    "spark.sql.shuffle.partitions": "16",
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.memory": os.environ.get("ERRORSCOPE_SPARK_MEMORY", "2g"),
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
}
#: DuckDB's type names (those :mod:`analysis.normalize` reads) as Spark's, for a CSV's schema; others are text.
SPARK_TYPES = {"VARCHAR": "string", "BOOLEAN": "boolean", "TINYINT": "tinyint", "SMALLINT": "smallint",
               "INTEGER": "int", "BIGINT": "bigint", "HUGEINT": "decimal(38,0)", "UTINYINT": "smallint",
               "USMALLINT": "int", "UINTEGER": "bigint", "UBIGINT": "decimal(20,0)", "FLOAT": "float",
               "DOUBLE": "double", "DATE": "date", "TIMESTAMP": "timestamp"}
#: Spark's types of a Parquet schema as DuckDB's names (those :mod:`analysis.normalize` reads).
DUCKDB_TYPES = {"string": "VARCHAR", "boolean": "BOOLEAN", "tinyint": "TINYINT", "smallint": "SMALLINT",
                "int": "INTEGER", "bigint": "BIGINT", "float": "FLOAT", "double": "DOUBLE", "date": "DATE",
                "timestamp": "TIMESTAMP"}
_TEMP_TABLE = re.compile(r"^\s*CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+(\w+)\s+AS\s+(.*)$", re.IGNORECASE | re.DOTALL)
_GROUP_REF = re.compile(r"\\(\d)")

_lock = threading.Lock()
_base = None


def _pyspark():
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        raise ErrorscopeError(INSTALL) from None
    # pyspark 4.3 warns on every conversion that pandas 3 is not yet fully supported; the conversions used here
    # (small results to pandas, Arrow tables to Spark) are checked against DuckDB's by the tests
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated", module="pyspark")
    # pyspark 4 logs each failed query's stack trace as JSON on stderr; errorscope says what failed in one line
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def session(*, master: str | None = None, conf: Mapping[str, str] | None = None):
    """The process's Spark session, started on first use (a few seconds for a local JVM); ``master`` and ``conf``
    apply to a local session started by this call."""
    global _base
    _pyspark()
    from pyspark.sql import SparkSession

    with _lock:
        if _base is None:
            remote = os.environ.get("SPARK_REMOTE")
            if remote:
                _base = SparkSession.builder.remote(remote).getOrCreate()
            else:
                builder = SparkSession.builder.master(master or os.environ.get("ERRORSCOPE_SPARK_MASTER", MASTER))
                for key, value in {**LOCAL_CONF, **(conf or {})}.items():
                    builder = builder.config(key, value)
                try:
                    _base = builder.appName("errorscope").getOrCreate()
                except Exception as exc:  # no Java, or one too old: pyspark says so in its own words
                    raise ErrorscopeError(f"could not start Spark ({first_line(exc)}); {INSTALL}") from exc
                _base.sparkContext.setLogLevel("ERROR")
        return _base


def stop() -> None:
    """Stop the process's session (the next engine starts a new one)."""
    global _base
    with _lock:
        if _base is not None:
            _base.stop()
            _base = None


def spark_sql(sql: str) -> str:
    """DuckDB's SQL of errorscope's queries in Spark's dialect (sqlglot), with ``regexp_replace``'s group references
    written ``$1`` as Java's regular expressions want, DuckDB's ``quantile_cont(x, q)`` as Spark's
    ``percentile(x, q)`` (both interpolate linearly between the two nearest values), a sum of BIGINT casts as
    one of DECIMAL(38, 0) (DuckDB's sum of BIGINT never overflows), and a list read by index, ``l[i]``, counted from
    1 in DuckDB and from 0 in Spark's brackets, as ``element_at(l, i)``.

    >>> spark_sql("SELECT regexp_replace(trim(\\"a b\\"), '^0*([0-9])', '\\\\1') AS x FROM t WHERE y = ?")
    "SELECT REGEXP_REPLACE(TRIM(`a b`), '^0*([0-9])', '$1') AS x FROM t WHERE y = ?"
    >>> spark_sql("SELECT [a, b][i + 1] AS x FROM t")
    'SELECT ELEMENT_AT(ARRAY(a, b), i + 1) AS x FROM t'
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    for node in tree.find_all(exp.RegexpReplace):
        replacement = node.args.get("replacement")
        if isinstance(replacement, exp.Literal) and replacement.is_string:
            replacement.replace(exp.Literal.string(_GROUP_REF.sub(r"$\1", replacement.this)))
    for node in tree.find_all(exp.Sum):  # DuckDB sums BIGINT into a HUGEINT; Spark would overflow past 2**63
        if isinstance(node.this, exp.Cast) and node.this.to.this == exp.DataType.Type.BIGINT:
            node.this.set("to", exp.DataType.build("DECIMAL(38, 0)"))
    for node in list(tree.find_all(exp.PercentileCont)):
        node.replace(exp.Anonymous(this="percentile", expressions=[node.this, node.expression]))
    for node in list(tree.find_all(exp.Bracket)):
        node.replace(exp.Anonymous(this="element_at", expressions=[node.this, *node.expressions]))
    return tree.sql(dialect="spark")


def _errors() -> tuple[type[BaseException], ...]:
    from pyspark.errors import PySparkException

    found: list[type[BaseException]] = [PySparkException]
    try:
        from py4j.protocol import Py4JJavaError

        found.append(Py4JJavaError)
    except ImportError:  # a Spark Connect client without the JVM bridge
        pass
    return tuple(found)


class Spark:
    """A Spark session of its own and what errorscope asks of it (:class:`analysis.engine.Engine`)."""

    name = "spark"

    def __init__(self) -> None:
        base = session()
        self.remote = bool(os.environ.get("SPARK_REMOTE"))
        try:
            self.spark = base.newSession()  # its own temporary views; the JVM (or the server) and cache shared
        except Exception:  # a Spark Connect client before 4.3 has none: share the one session
            self.spark = base
        self.own = self.spark is not base
        self.errors = _errors()
        self._tables: dict[tuple[str, bool], str] = {}
        self._cached: list[str] = []

    def __enter__(self) -> Spark:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for name in self._cached:
            self.spark.sql(f"UNCACHE TABLE IF EXISTS {name}")
        for name in [*self._cached, *self._tables.values()]:
            self.spark.catalog.dropTempView(name)
        if self.remote and self.own:  # free the server's session (stop() would also stop a local server)
            self.spark.client.release_session()
            self.spark.client.close()

    def describe(self, path: Path | Uri, fmt: str) -> tuple[list[str], list[str]]:
        """The names and types DuckDB reads from a local file's header and first rows, or its Parquet schema
        (Spark's own inference of a CSV's types reads the whole file). A URI's schema is Spark's: a Parquet
        schema's types, a CSV's header with every column read as text (the numbers are cast where they are used)."""
        if isinstance(path, Uri):
            try:
                if fmt == "parquet":
                    fields = self.spark.read.parquet(path).schema.fields
                    return [f.name for f in fields], [DUCKDB_TYPES.get(f.dataType.simpleString(),
                                                                       f.dataType.simpleString().upper())
                                                      for f in fields]
                names = self.spark.read.options(header="true", inferSchema="false").csv(path).columns
                return names, ["VARCHAR"] * len(names)
            except self.errors as exc:
                raise _read_error(path, exc) from exc
        from analysis.engine.duckdb import DuckDB

        with DuckDB() as duck:
            return duck.describe(path, fmt)

    def _reader(self, source: Source):
        """Spark's DataFrame of the file, a CSV read with the types the source gives its columns."""
        path = str(source.path)
        if source.format == "parquet":
            return self.spark.read.parquet(path)
        names, types = source.names, source.types
        if source.cut is not None:  # a task's columns are computed from the file's: read the file's own
            names, types = self.describe(source.path, source.format)
            pinned = source.read_types()
            types = [pinned.get(n, t) for n, t in zip(names, types, strict=True)]
        schema = ", ".join(f"`{n.replace('`', '``')}` {SPARK_TYPES.get(t, _decimal(t))}"
                           for n, t in zip(names, types, strict=True))
        return (self.spark.read.schema(schema)
                .options(header="true", quote='"', escape='"', mode="FAILFAST", encoding="UTF-8",
                         multiLine="false", enforceSchema="true")
                .csv(path))

    def table(self, source: Source, *, numbered: bool = True) -> str:
        key = (str(source.path), numbered, source.cut and tuple(sorted(source.read_types().items())))
        if key not in self._tables:
            from pyspark.sql import functions as F

            df = self._reader(source)
            if numbered and source.format == "parquet":
                df = df.select("*", (F.col("_metadata.row_index") + 1).alias("__row"))
            elif numbered:
                df = _numbered_csv(df)
            name = f"__file{len(self._tables)}"
            df.createOrReplaceTempView(name)
            self._tables[key] = name
        read = self._tables[key]
        return source.cut.sql(read, numbered=numbered) if source.cut else read  # one task of a multi-task file

    def grouped(self, source: Source, aggregates: Sequence[Aggregate]) -> list[Aggregate]:
        """Every aggregate rides in the one grouped scan."""
        return list(aggregates)

    def scan(self, source: Source, sql: str, apart: Sequence[Aggregate], raw: str) -> dict[str, list]:
        try:
            return self._collect(sql)
        except self.errors as exc:
            raise _read_error(source.path, exc) from exc

    def fetch(self, sql: str) -> dict[str, list]:
        return self._collect(sql)

    def duplicate_ids(self, source: Source, groups: Mapping[str, list]) -> int:
        """Ids counted distinct: integers as they are, other ids normalized to text."""
        distinct = ident(source.columns.id) if integer_ids(source) else id_sql(source)
        read = self.table(source, numbered=source.columns.id is None)
        return self._collect(f"SELECT count(*) - count(DISTINCT {distinct}) AS n FROM {read}")["n"][0]

    def arrays(self, sql: str) -> dict[str, np.ndarray]:
        frame = self.frame(sql)
        return {name: frame[name].to_numpy() for name in frame.columns}

    def register(self, name: str, columns: Mapping[str, np.ndarray]) -> None:
        import pyarrow as pa

        self._view(name, pa.table(dict(columns)))

    def _view(self, name: str, value: object) -> None:
        """A small pandas or Arrow table as a temporary view ``name``, dropped with the engine."""
        self.spark.createDataFrame(_arrow(value)).createOrReplaceTempView(name)
        self._tables[("frame", name)] = name

    def frame(self, sql: str, params: Sequence[object] = (), *, frames: Mapping[str, object] | None = None,
              views: Mapping[str, str] | None = None) -> pd.DataFrame:
        try:
            for name, value in (frames or {}).items():
                self._view(name, value)
            for name, query in (views or {}).items():
                self.spark.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {spark_sql(query)}")
                self._tables[("view", name)] = name
            return self._run(sql, params).toPandas()
        except self.errors as exc:
            raise InputError(_message(exc)) from exc

    def _run(self, sql: str, params: Sequence[object] = ()):
        """A DataFrame of ``sql``; ``CREATE TEMP TABLE t AS q`` caches ``q`` under the name ``t`` at once."""
        temp = _TEMP_TABLE.match(sql)
        if temp:
            name, query = temp.groups()
            self.spark.sql(f"CACHE TABLE {name} AS {spark_sql(query)}", list(params) or None)
            self._cached.append(name)
            return self.spark.sql("SELECT 1 AS done WHERE false")
        return self.spark.sql(spark_sql(sql), list(params) or None)

    def _collect(self, sql: str) -> dict[str, list]:
        df = self._run(sql)
        rows = df.collect()
        return {name: [row[i] for row in rows] for i, name in enumerate(df.columns)}


def _decimal(sql_type: str) -> str:
    """A DuckDB DECIMAL(p, s) as Spark's; text for a type Spark's CSV reader has no counterpart of."""
    return sql_type.lower() if sql_type.startswith("DECIMAL") else "string"


def _numbered_csv(df):
    """``df`` with ``__row``, each row's 1-based place in the file: its place in its partition (the partitions of a
    file are its consecutive byte ranges, in order) after the rows of the partitions before it, counted once."""
    from pyspark.sql import functions as F

    counts = sorted((r["p"], r["n"]) for r in df.groupBy(F.spark_partition_id().alias("p"))
                    .agg(F.count(F.lit(1)).alias("n")).collect())
    offsets, before = [], 0
    for part, n in counts:
        offsets += [F.lit(part), F.lit(before)]
        before += n
    offset = F.element_at(F.create_map(*offsets), F.spark_partition_id()) if offsets else F.lit(0)
    place = F.monotonically_increasing_id() - F.shiftleft(F.spark_partition_id().cast("bigint"), 33)
    return df.select("*", (place + offset + 1).alias("__row"))


def _arrow(value: object):
    """A small pandas or Arrow table as Arrow, columns of no known type (all missing) as text."""
    import pyarrow as pa

    table = value if isinstance(value, pa.Table) else pa.Table.from_pandas(value, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    return table


def _message(exc: BaseException) -> str:
    """The first line of a Spark error without its class name and error-class tag."""
    text = first_line(exc)
    return re.sub(r"^\[[A-Z_.]+\]\s*", "", text)


def _read_error(path: Path | Uri, exc: BaseException) -> InputError:
    """A clear message for a file Spark could not read through (:func:`analysis.diagnose.spark_read_error`)."""
    return InputError(f"{path}: {spark_read_error(getattr(path, 'scheme', None), str(exc), _message(exc))}")
