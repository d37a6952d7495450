"""A team tagging one dataset at once: several people, processes and sheet imports on one tag store.

Run on both backends where the test is about the interface (SQLite file, PostgreSQL server; see the
``store_backend`` fixture of conftest.py), and on PostgreSQL alone for the many-writer load a team puts on a
shared server. Every process here is a real one, killed for real where the test says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.errors import TagError
from analysis.tags import open_store
from tests.conftest import postgres_schema_url
from tests.test_app import app  # noqa: F401 - a fixture
from tests.test_tags import ROOT, next_line, start  # noqa: F401 - start is a fixture

DS = "digits"
SCRIPT = Path(sys.executable).with_name("errorscope")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "analysis.cli"]


@pytest.fixture
def target(tmp_path: Path, store_backend: str, request) -> str:
    """Where a new tag store of the backend under test lives: a file's path or a server schema's URL."""
    if store_backend == "sqlite":
        return str(tmp_path / "tags.db")
    return postgres_schema_url(request.getfixturevalue("postgres_server"), str(tmp_path))


def _preds_and_sheet(folder: Path, ids: range, sheet_name: str, category: str) -> tuple[Path, Path]:
    preds = folder / "preds.csv"
    if not preds.exists():
        preds.write_text("id,split,y_true,y_pred\n" + "".join(f"{i},dev,cat,dog\n" for i in ids))
    sheet = folder / sheet_name
    sheet.write_text(f"id,{category},note\n" + "".join(f"{i},1,{sheet_name} {i}\n" for i in ids))
    return preds, sheet


def _import(preds: Path, sheet: Path, target: str, *, create: bool = True) -> subprocess.Popen:
    command = [*COMMAND, "tags", "import", str(preds), str(sheet), "--db", target, "--dataset", DS]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(command + ["--create-categories"] * create, cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ------------------------------------------------------------------------------------------------------------
# Both backends
# ------------------------------------------------------------------------------------------------------------


def test_undo_undoes_ones_own_last_edit_not_another_persons(new_store) -> None:
    ana, ben = new_store(user="ana"), new_store(user="ben")
    ana.add_category(DS, "blurry")
    ana.edit(DS, "1", categories={"blurry": True})
    ana.edit(DS, "1", note="ana's note")
    ben.edit(DS, "2", note="ben's note")
    ben.edit(DS, "1", mislabeled=True)  # ben's latest edit touches ana's example

    assert ana.undo(DS) == "undid ana's edit of example '1' (note)"
    frame = ana.tags(DS).set_index("id")
    assert frame.loc["1", "note"] is None and frame.loc["1", "mislabeled"] and frame.loc["1", "blurry"]
    assert frame.loc["2", "note"] == "ben's note"  # ben's edits stay
    assert ben.undo(DS) == "undid ben's edit of example '1' (mislabeled)"
    assert ben.undo(DS) == "undid ben's edit of example '2' (reviewed, note)"
    assert ben.undo(DS) is None  # ana's first edit is hers to undo
    assert ana.tags(DS)["id"].tolist() == ["1"] and ana.tags(DS)["blurry"].all()
    history = ana.history(DS)
    assert set(history.loc[history["kind"] == "undo", "user"]) == {"ana", "ben"}


def test_the_same_field_edited_by_two_people_keeps_the_last_and_both_in_history(new_store) -> None:
    ana, ben = new_store(user="ana"), new_store(user="ben")
    ana.edit(DS, "7", note="ana says blurry")
    ben.edit(DS, "7", note="ben says dark")
    assert ana.tags(DS).loc[0, ["note", "updated_by"]].tolist() == ["ben says dark", "ben"]
    notes = ana.history(DS).query("field == 'note'")
    assert notes[["user", "old", "new"]].values.tolist() == [
        ["ben", "ana says blurry", "ben says dark"], ["ana", None, "ana says blurry"]]
    assert notes["at"].is_monotonic_decreasing  # who changed what, and when


def test_a_merge_uses_a_category_another_import_added_meanwhile(new_store) -> None:
    """The race of two sheet imports adding one category: the second finds it added by the first."""
    first, second = new_store(user="ana"), new_store(user="ben")
    first.merge(DS, [{"id": "1", "categories": {"glare": True}}], new_categories=["glare"])
    assert second.merge(DS, [{"id": "2", "categories": {"glare": True}}], new_categories=["glare"]) == 1
    assert second.categories(DS) == ["glare"]
    assert second.tags(DS)["glare"].tolist() == [True, True]
    with pytest.raises(TagError, match="already has the category 'glare'"):  # another letter case: refused
        second.merge(DS, [{"id": "3"}], new_categories=["Glare"])


@contextlib.contextmanager
def _writes_held(target: str):
    """Hold the store's write lock (SQLite: the file's; PostgreSQL: the dataset's row) until the block ends."""
    if "://" not in target:
        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import psycopg

    with psycopg.connect(target) as conn:
        conn.execute("SELECT 1 FROM datasets WHERE name = %s FOR UPDATE", (DS,))
        yield
        conn.rollback()


def _waiting(target: str, procs: list[subprocess.Popen]) -> bool:
    """Whether every process waits for the write lock (PostgreSQL: on a lock; SQLite: idle in its busy wait)."""
    if "://" in target:
        import psycopg

        with psycopg.connect(target) as conn:
            row = conn.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted").fetchone()
        return bool(row) and row[0] >= len(procs)

    def cpu() -> list[int]:
        return [sum(map(int, Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]))
                for p in procs]

    before = cpu()
    time.sleep(0.5)
    return cpu() == before


def test_two_sheet_imports_adding_one_category_at_once_both_land(tmp_path: Path, target: str) -> None:
    """Both imports read the categories before either adds "glare" (the write lock is held meanwhile); the one
    that writes second finds it added and uses it."""
    preds, sheet_a = _preds_and_sheet(tmp_path, range(300), "a.csv", "glare")
    _, sheet_b = _preds_and_sheet(tmp_path, range(300, 600), "b.csv", "glare")
    preds.write_text("id,split,y_true,y_pred\n" + "".join(f"{i},dev,cat,dog\n" for i in range(600)))
    with open_store(target, user="ana") as store:
        store.add_category(DS, "dark")
    with _writes_held(target):
        runs = [_import(preds, sheet, target) for sheet in (sheet_a, sheet_b)]
        deadline = time.monotonic() + 60
        while not _waiting(target, runs):
            assert all(proc.poll() is None for proc in runs), [proc.communicate() for proc in runs]
            assert time.monotonic() < deadline, "the imports never reached the write lock"
            time.sleep(0.1)
    outcomes = [(proc.wait(timeout=60), proc.stderr.read()) for proc in runs]  # type: ignore[union-attr]
    for proc in runs:
        proc.stdout.close(), proc.stderr.close()  # type: ignore[union-attr]
    assert outcomes == [(0, ""), (0, "")]
    with open_store(target) as store:
        assert store.categories(DS) == ["dark", "glare"]
        frame = store.tags(DS)
        assert len(frame) == 600 and frame["glare"].all()
        assert sorted(set(frame["note"].str.split().str[0])) == ["a.csv", "b.csv"]


def _writing(target: str) -> bool:
    """Whether another connection holds an open write transaction on the store."""
    if "://" not in target:
        conn = sqlite3.connect(target, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.rollback()
            return False
        except sqlite3.OperationalError as exc:  # "database is locked": the import is writing
            return "locked" in str(exc)
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(target.split("?")[0], autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                           "AND application_name = 'errorscope'").fetchone()
    return bool(row and row[0])


def test_a_killed_import_leaves_nothing_half_applied(tmp_path: Path, target: str) -> None:
    with open_store(target, user="ana") as store:
        store.edit(DS, "5", note="before the import")
    preds, sheet = _preds_and_sheet(tmp_path, range(10_000), "big.csv", "glare")
    proc = _import(preds, sheet, target)
    deadline = time.monotonic() + 60
    while not _writing(target):  # kill it inside its write transaction, not before or after
        assert proc.poll() is None, f"the import ended before it could be killed: {proc.communicate()}"
        assert time.monotonic() < deadline, "the import never began writing"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    proc.stdout.close(), proc.stderr.close()  # type: ignore[union-attr]

    deadline = time.monotonic() + 30
    while _writing(target):  # the server rolls the dead client's transaction back
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with open_store(target, user="ana") as store:
        assert store.categories(DS) == []
        assert store.tags(DS)[["id", "note"]].values.tolist() == [["5", "before the import"]]
        assert store.history(DS)["kind"].tolist() == ["edit", "edit"]  # reviewed and note of that one edit
        assert main(["tags", "import", str(preds), str(sheet), "--db", target, "--dataset", DS,
                     "--create-categories"]) == 0  # and the import runs again whole
        assert len(store.tags(DS)) == 10_000


# ------------------------------------------------------------------------------------------------------------
# PostgreSQL: a team on one server
# ------------------------------------------------------------------------------------------------------------

EDIT_500 = """
import sys
from analysis.tags import open_store
store = open_store(sys.argv[1], user=f"p{sys.argv[2]}")
print("ready", flush=True)
sys.stdin.readline()
for i in range(500):
    store.edit("digits", f"e{i}", categories={f"c{sys.argv[2]}": True}, note=f"p{sys.argv[2]} {i}")
print("done", flush=True)
"""


def test_four_processes_of_500_edits_each_on_one_dataset_lose_none(tmp_path: Path, postgres_server: str,
                                                                    start) -> None:  # noqa: F811
    url = postgres_schema_url(postgres_server, str(tmp_path))
    with open_store(url, user="setup") as store:
        for p in range(4):
            store.add_category(DS, f"c{p}")
    children = [start(EDIT_500, url, str(p), stdin=subprocess.PIPE) for p in range(4)]
    deadline = time.monotonic() + 120
    for proc, lines in children:
        assert next_line(proc, lines, deadline) == "ready"
    for proc, _ in children:  # all at once, on the same 500 examples in the same order
        proc.stdin.write("go\n"), proc.stdin.flush()  # type: ignore[union-attr]
    for proc, lines in children:
        assert next_line(proc, lines, deadline) == "done", proc.stderr.read()  # type: ignore[union-attr]

    with open_store(url) as store:
        frame = store.tags(DS).set_index("id")
        history = store.history(DS)
    assert len(frame) == 500
    assert frame[[f"c{p}" for p in range(4)]].all().all()  # edits of different fields of one example all stay
    assert (history["field"].str.fullmatch("c[0-3]")).sum() == 2000
    notes = history[history["field"] == "note"]
    assert len(notes) == 2000 and notes["change_id"].is_unique  # same field: every edit is in the history...
    last = notes.sort_values("change_id").groupby("id")["new"].last()
    assert frame["note"].to_dict() == last.to_dict()  # ...and the last one wins
    assert ("e" + frame["note"].str.split().str[1] == frame.index).all()


def test_an_unreachable_server_or_another_database_is_a_clear_error(tmp_path: Path, capsys) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TagError, match=rf"cannot reach the tag store postgresql://ana:\*\*\*@127.0.0.1:{port}/tags"):
        open_store(f"postgresql://ana:secret@127.0.0.1:{port}/tags")
    with pytest.raises(TagError, match="not a tag store"):
        open_store("mysql://ana@127.0.0.1/tags")
    preds, sheet = _preds_and_sheet(tmp_path, range(3), "s.csv", "glare")
    assert main(["tags", "import", str(preds), str(sheet), "--db", f"postgresql://ana:secret@127.0.0.1:{port}/t",
                 "--dataset", DS]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the tag store") and "secret" not in err and err.count("\n") == 1


def test_a_newer_schema_and_other_programs_tables_are_refused(postgres_server: str, tmp_path: Path) -> None:
    import psycopg

    newer = postgres_schema_url(postgres_server, f"{tmp_path}/newer")
    open_store(newer).close()
    with psycopg.connect(newer) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(TagError, match="schema version 99.*upgrade errorscope"):
        open_store(newer)
    other = postgres_schema_url(postgres_server, f"{tmp_path}/other")
    with psycopg.connect(other) as conn:
        conn.execute("CREATE TABLE examples (x int)")
    with pytest.raises(TagError, match="tables of some other program"):
        open_store(other)
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                            "current_schema()").fetchone() == (1,)  # nothing was created beside it


def test_an_edit_waiting_for_a_category_removal_is_refused_by_name(postgres_server: str, tmp_path: Path) -> None:
    import threading

    import psycopg

    url = postgres_schema_url(postgres_server, str(tmp_path))
    with open_store(url, user="ana") as store:
        store.add_category(DS, "glare")
        store.add_category(DS, "dark")
        outcome: list[BaseException | None] = []

        def tick() -> None:
            try:
                store.edit(DS, "1", categories={"glare": True})
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - checked below
                outcome.append(exc)

        with psycopg.connect(url) as conn:  # another session removes "glare" while the edit waits for it
            conn.execute("SELECT 1 FROM datasets WHERE name = %s FOR UPDATE", (DS,))
            thread = threading.Thread(target=tick)
            thread.start()
            deadline = time.monotonic() + 30
            while not conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
                assert time.monotonic() < deadline, "the edit never waited"
                time.sleep(0.02)
            conn.execute("DELETE FROM categories WHERE name = 'glare'")
        thread.join(timeout=30)
        assert isinstance(outcome[0], TagError) and "unknown category 'glare'" in str(outcome[0])
        assert store.tags(DS).empty and store.categories(DS) == ["dark"]


def test_the_cli_finds_a_postgresql_store_in_errorscope_db(postgres_server: str, tmp_path: Path, capsys,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    url = postgres_schema_url(postgres_server, str(tmp_path))
    preds, sheet = _preds_and_sheet(tmp_path, range(3), "s.csv", "glare")
    monkeypatch.setenv("ERRORSCOPE_DB", url)
    monkeypatch.chdir(tmp_path)  # no errorscope.db here: the URL is used, not a file
    assert main(["tags", "import", str(preds), str(sheet), "--dataset", DS, "--create-categories"]) == 0
    assert "3 example(s) changed" in capsys.readouterr().out
    assert main(["tags", "export", "--dataset", DS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("id,") and len(out) == 4 and "s.csv 2" in out[-1]
    assert not (tmp_path / "errorscope.db").exists()
    assert main(["tags", "export", "--dataset", "typo"]) == 2
    assert "dataset 'typo' has no categories and no tags" in capsys.readouterr().err


def test_review_shows_who_changed_what_from_a_postgresql_store(app, postgres_server: str, tmp_path: Path,  # noqa: F811
                                                               demo_config, monkeypatch) -> None:
    url = postgres_schema_url(postgres_server, str(tmp_path))
    dataset = demo_config["dataset"]
    with open_store(url, user="ana") as ana, open_store(url, user="ben") as ben:
        ana.edit(dataset, "d0186", note="smudged")
        ben.edit(dataset, "d0186", mislabeled=True)
    monkeypatch.setenv("ERRORSCOPE_DB", url.replace("errorscope@", "errorscope:secret@"))
    at = app("review")
    history = next(frame.value for frame in at.dataframe if "user" in frame.value.columns)
    assert history[["user", "id", "field"]].values.tolist() == [
        ["ben", "d0186", "mislabeled"], ["ana", "d0186", "note"], ["ana", "d0186", "reviewed"]]
    at.switch_page("views/data.py").run()
    shown = " ".join(t.value for t in at.text)
    assert "postgresql://errorscope:***@" in shown and "secret" not in shown


def test_stores_opened_at_once_on_a_new_database_create_its_tables_once(postgres_server: str, tmp_path: Path) -> None:
    url = postgres_schema_url(postgres_server, str(tmp_path))
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda user: open_store(url, user=user), ["a", "b", "c", "d"]))
    for store in stores:
        store.edit(DS, store.user, note="here")
        store.close()
    with open_store(url) as store:
        assert store.tags(DS)["id"].tolist() == ["a", "b", "c", "d"]


def test_errorscope_user_names_who_edits(new_store, monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.tags.store import login_name

    monkeypatch.setenv("ERRORSCOPE_USER", " carla ")
    assert login_name() == "carla"
    store = new_store(user=None)
    store.edit(DS, "1", note="mine")
    assert store.tags(DS)["updated_by"].tolist() == ["carla"]
    assert store.undo(DS) == "undid carla's edit of example '1' (reviewed, note)"


@pytest.mark.parametrize("page", ["review", "data", "tallies"])
def test_an_unreachable_server_gives_one_clear_message_on_each_page(app, monkeypatch, page) -> None:  # noqa: F811
    import socket

    from tests.test_app import _page_errors

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ERRORSCOPE_DB", f"postgresql://ana:secret@127.0.0.1:{port}/tags")
    shown = _page_errors(app(page))
    assert "cannot reach the tag store postgresql://ana:***@" in shown and "secret" not in shown


def test_without_the_postgres_extra_the_store_says_how_to_install_it(monkeypatch, capsys) -> None:
    import analysis.tags.postgres as postgres_module

    monkeypatch.setattr(postgres_module, "sa", None)  # as when SQLAlchemy is not installed
    with pytest.raises(TagError, match=r"pip install 'errorscope\[postgres\]'"):
        open_store("postgresql://ana@127.0.0.1/tags")
    assert main(["tags", "export", "--db", "postgresql://ana@127.0.0.1/tags", "--dataset", DS]) == 2
    assert "errorscope[postgres]" in capsys.readouterr().err


def test_an_older_postgresql_schema_is_migrated_when_opened(postgres_server: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The migration steps run in order, once, and keep the data (a step of a future version 3 stands in)."""
    import psycopg

    import analysis.tags.postgres as postgres_module

    url = postgres_schema_url(postgres_server, str(tmp_path))
    with open_store(url, user="ana") as store:
        store.edit(DS, "1", note="kept")
    monkeypatch.setattr(postgres_module, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(postgres_module, "_MIGRATIONS", {2: ["ALTER TABLE examples ADD COLUMN source text"]})
    with ThreadPoolExecutor(2) as pool:  # two processes' worth of stores opening it at once: one migrates
        stores = list(pool.map(lambda user: open_store(url, user=user), ["a", "b"]))
    assert [s.tags(DS)["note"].tolist() for s in stores] == [["kept"], ["kept"]]
    for store in stores:
        store.close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
                            "AND table_name = 'examples' AND column_name = 'source'").fetchone() == (1,)
