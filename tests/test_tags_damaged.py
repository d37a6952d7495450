"""Tag stores in a bad state: deleted or replaced while open, damaged, read-only. Real SQLite files throughout."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.errors import TagError
from analysis.tags import open_store
from analysis.tags.sqlite import SQLiteTagStore

DS = "pets"
PREDICTIONS = "id,split,y_true,y_pred\n" + "".join(f"{i},dev,cat,{'dog' if i % 2 else 'cat'}\n" for i in range(300))


def _filled(path: Path, n: int = 300) -> None:
    with open_store(path, user="t", synchronous="NORMAL") as store:
        store.add_category(DS, "blurry")
        store.merge(DS, [{"id": str(i), "categories": {"blurry": True}, "note": "x" * 200} for i in range(n)])


def _one_error_line(capsys, args: list[str], *parts: str) -> str:
    status = main(args)
    captured = capsys.readouterr()
    assert status == 2 and captured.out == "", captured
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


# --- deleted or replaced while open ------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_an_edit_after_the_file_went_away_is_refused_not_lost(tmp_path: Path, how: str) -> None:
    db = tmp_path / "tags.db"
    store = SQLiteTagStore(db, user="t")
    store.add_category(DS, "blurry")
    store.edit(DS, "1", note="kept")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if how == "replaced":
        SQLiteTagStore(db).close()
    with pytest.raises(TagError, match="was deleted or replaced while errorscope had it open; this change was not"):
        store.edit(DS, "2", note="would be lost")
    with pytest.raises(TagError, match="deleted or replaced"):
        store.merge(DS, [{"id": "3", "note": "lost too"}])
    store.close()
    with SQLiteTagStore(db) as fresh:  # what the next start opens: no edit was acknowledged that is not here
        assert fresh.tags(DS).empty


# --- damaged files -------------------------------------------------------------------------------------------


def _garble(db: Path) -> bytes:
    """Keep the header page, overwrite every later page with garbage."""
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = bytes((i * 37 + 11) % 256 for i in range(len(data) - page))
    db.write_bytes(bytes(data))
    return bytes(data)


@pytest.fixture
def damaged(tmp_path: Path) -> tuple[Path, Path, bytes]:
    db = tmp_path / "tags.db"
    _filled(db)
    preds = tmp_path / "preds.csv"
    preds.write_text(PREDICTIONS)
    return db, preds, _garble(db)


@pytest.mark.parametrize("args", [
    ["tags", "export", "--db", "{db}", "--dataset", DS],
    ["tags", "import", "{preds}", "{sheet}", "--db", "{db}", "--dataset", DS],
    ["tallies", "{preds}", "--db", "{db}", "--dataset", DS],
])
def test_a_damaged_file_gives_one_clear_error(damaged, tmp_path, capsys, args) -> None:
    db, preds, before = damaged
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("id,blurry\n1,1\n")
    values = {"db": str(db), "preds": str(preds), "sheet": str(sheet)}
    line = _one_error_line(capsys, [a.format(**values) for a in args], str(db))
    assert "damaged" in line or "malformed" in line
    assert db.read_bytes() == before  # left as it was, for a recovery tool


def test_a_damaged_file_errors_in_the_store_are_tag_errors(damaged) -> None:
    db, _, _ = damaged
    with pytest.raises(TagError, match="damaged"):
        with SQLiteTagStore(db) as store:
            store.tags(DS)
            store.edit(DS, "1", note="x")


def test_a_negative_schema_version_is_a_damaged_file(tmp_path: Path, capsys) -> None:
    db = tmp_path / "tags.db"
    _filled(db, 3)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = -5")
    conn.close()
    with pytest.raises(TagError, match=r"damaged \(schema version -5"):
        SQLiteTagStore(db)
    _one_error_line(capsys, ["tags", "export", "--db", str(db), "--dataset", DS], "damaged", "-5")


# --- read-only files -----------------------------------------------------------------------------------------


def _lock(path: Path, locked: bool = True) -> None:
    """Make a file or folder read-only for this process: chmod, and as root (whom chmod does not stop)
    the immutable attribute."""
    if locked:
        path.chmod(0o555 if path.is_dir() else 0o444)
    if os.geteuid() == 0:
        result = subprocess.run(["chattr", "+i" if locked else "-i", str(path)], capture_output=True)
        if result.returncode:
            pytest.skip(f"cannot make a file immutable here: {result.stderr!r}")
    if not locked:
        path.chmod(0o755)


@pytest.fixture
def locked(tmp_path: Path):
    paths: list[Path] = []

    def lock(path: Path) -> None:
        paths.append(path)
        _lock(path)

    yield lock
    for path in reversed(paths):
        _lock(path, locked=False)


@pytest.mark.parametrize("folder_writable", [True, False])
def test_a_read_only_file_can_be_read_and_says_why_it_cannot_be_edited(tmp_path, locked, capsys,
                                                                      folder_writable) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db, preds, sheet = folder / "tags.db", folder / "preds.csv", folder / "sheet.csv"
    _filled(db, 5)
    preds.write_text(PREDICTIONS)
    sheet.write_text("id,blurry\n1,0\n")
    locked(db)
    if not folder_writable:
        locked(folder)
    before = db.read_bytes()
    assert main(["tags", "export", "--db", str(db), "--dataset", DS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "id,blurry,mislabeled,corrected_label,note" and len(out) == 6
    assert main(["tallies", str(preds), "--db", str(db), "--dataset", DS, "--json"]) == 0
    assert '"reviewed_errors": 2' in capsys.readouterr().out
    _one_error_line(capsys, ["tags", "import", str(preds), str(sheet), "--db", str(db), "--dataset", DS],
                    "read-only", str(db))
    with SQLiteTagStore(db) as store:
        assert store.read_only is not None and len(store.tags(DS)) == 5
        with pytest.raises(TagError, match="read-only; tags can be read but not changed"):
            store.edit(DS, "1", note="x")
    assert db.read_bytes() == before
