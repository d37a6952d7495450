"""The order of a confusion matrix's classes: by name, by error, grouped by name prefix or by a hierarchy."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import recall_score

from analysis import ErrorscopeError, confusion_matrix, load_predictions
from analysis.class_order import ORDERS, order_classes, parse_hierarchy
from tests.many_classes import NEWSGROUPS, predictions


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    frame = predictions(NEWSGROUPS, 3000, seed=1)
    path = tmp_path_factory.mktemp("news") / "news.csv"
    frame.to_csv(path, index=False)
    return frame[frame["split"] == "dev"], load_predictions(path)


def test_by_error_is_the_order_of_scikit_learns_recall(news):
    frame, preds = news
    conf = confusion_matrix(preds.counts.where(split="dev"))
    order = order_classes(conf.labels, conf.matrix, by="error")
    recall = recall_score(frame["y_true"], frame["y_pred"], labels=NEWSGROUPS, average=None)
    expected = sorted(NEWSGROUPS, key=lambda c: (recall[NEWSGROUPS.index(c)], c))  # lowest recall = most error
    assert order.classes == expected
    assert order.boundaries == []


def test_by_prefix_puts_each_newsgroup_family_in_one_block(news):
    _, preds = news
    conf = confusion_matrix(preds.counts.where(split="dev"))
    order = order_classes(conf.labels, conf.matrix, by="prefix")
    assert sorted(order.classes) == sorted(NEWSGROUPS)
    assert order.groups == [c.split(".")[0] for c in order.classes]
    assert order.classes[1:6] == ["comp.graphics", "comp.os.ms-windows.misc", "comp.sys.ibm.pc.hardware",
                                  "comp.sys.mac.hardware", "comp.windows.x"]
    # alt | comp x5 | misc | rec x4 | sci x4 | soc | talk x4
    assert order.boundaries == [1, 6, 7, 11, 15, 16]


def test_grouped_order_shows_the_block_structure_of_the_mistakes(news):
    """Most mistakes of the file stay within a family: the blocks on the diagonal hold them."""
    frame, _ = news
    order = order_classes(NEWSGROUPS, sk_confusion(frame["y_true"], frame["y_pred"], labels=NEWSGROUPS),
                          by="prefix")
    m = sk_confusion(frame["y_true"], frame["y_pred"], labels=order.classes)
    same = np.equal.outer(order.groups, order.groups) & ~np.eye(len(m), dtype=bool)
    assert m[same].sum() > 0.6 * m[~np.eye(len(m), dtype=bool)].sum()


def test_by_name_is_natural_order():
    m = np.eye(3)
    assert order_classes(["10", "2", "b"], m).classes == ["2", "10", "b"]


def test_by_hierarchy_keeps_the_groups_order_and_puts_the_rest_last():
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    hierarchy = parse_hierarchy("vehicle: truck, ship, airplane, automobile\nanimal: cat, dog, horse, deer",
                                classes)
    order = order_classes(classes, np.eye(10), by="hierarchy", hierarchy=hierarchy)
    assert order.classes == ["airplane", "automobile", "ship", "truck", "cat", "deer", "dog", "horse", "bird",
                             "frog"]
    assert order.groups[-2:] == [None, None] and order.boundaries == [4, 8]


@pytest.mark.parametrize("text, message", [
    ("animal cat, dog", "line 1: write it as 'group: class, class'"),
    ("animal: cat\n\nother: cow", "line 3: no class 'cow' in the file"),
    ("a: cat\nb: cat", "line 2: 'cat' is already in group 'a'"),
])
def test_a_bad_hierarchy_names_its_line(text, message):
    with pytest.raises(ErrorscopeError, match=message):
        parse_hierarchy(text, ["cat", "dog"])


def test_bad_orders_and_shapes_are_refused():
    with pytest.raises(ErrorscopeError, match="unknown order 'size'; choose one of name, error, prefix"):
        order_classes(["a", "b"], np.eye(2), by="size")
    with pytest.raises(ErrorscopeError, match="needs one"):
        order_classes(["a", "b"], np.eye(2), by="hierarchy")
    with pytest.raises(ErrorscopeError, match="2 x 2 for 3 classes"):
        order_classes(["a", "b", "c"], np.eye(2))
    assert set(ORDERS) == {"name", "error", "prefix", "hierarchy"}
