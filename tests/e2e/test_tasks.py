"""A multi-task file in the browser: Tox21's tasks side by side, a task picked in the sidebar, a confusion cell of
that task clicked through to its examples."""

from __future__ import annotations

import pytest

from analysis.metrics import confusion_matrix
from analysis.tasks import load_tasks
from tests.conftest import TOX21, _benchmark
from tests.e2e.conftest import Server, cell, click_matrix_cell, go, poll, wait_idle

TASK = "SR-MMP"


@pytest.fixture(scope="module")
def tox21_server(browser, tmp_path_factory):
    path = _benchmark("tox21_predictions.csv", TOX21)
    folder = tmp_path_factory.mktemp("tox21-server")
    server = Server(["app", str(path), "--data-root", str(path.parent)], folder / "tags.db", folder).start()
    yield server
    server.stop()


def test_pick_a_task_and_click_a_confusion_cell(page, tox21_server):
    tasks = load_tasks(_benchmark("tox21_predictions.csv", TOX21))
    go(page, tox21_server, "Overview")
    page.get_by_role("heading", name="Tasks (12)").wait_for()
    assert page.get_by_role("heading", name=f"Task {tasks.names[0]}").is_visible()

    picker = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox")
    picker.click()
    page.get_by_role("option", name=TASK, exact=True).click()
    wait_idle(page)
    page.get_by_role("heading", name=f"Task {TASK}").wait_for()

    page.reload()  # the picked task is kept in the address
    wait_idle(page)
    page.get_by_role("heading", name=f"Task {TASK}").wait_for()
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Confusion matrix", exact=True).click()
    page.get_by_role("heading", name="Confusion matrix").wait_for()
    m = confusion_matrix(tasks.task(TASK).counts).matrix  # no split column: every row is dev
    click_matrix_cell(page, 2, 0, 1)  # the task's false positives
    page.get_by_role("heading", name="True 0, predicted 1").wait_for()
    assert page.get_by_text(f"{m[0, 1]:,} mistakes").first.is_visible()
    shown = page.locator("[data-testid=stDataFrame]").last
    shown.locator("#glide-cell-0-0").wait_for(state="attached")
    first_id = cell(shown, 0, 0)
    wrong = tasks.task(TASK).query("SELECT id FROM preds WHERE y_true = '0' AND y_pred = '1'")["id"]
    poll(lambda: first_id in set(wrong), what="an example of the task's cell")
