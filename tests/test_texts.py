"""Texts in a second file, joined to the predictions on id."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import InputError
from analysis.texts import read_texts


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_texts_are_matched_by_id_as_the_predictions_ids_are(tmp_path, suffix):
    frame = pd.DataFrame({"id": [7, 8, 9, 8], "text": ["seven, with a comma", "eight", None, "eight again"]})
    path = tmp_path / f"texts.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    # "7" and 7.0 name the same example; 10 is not in the file; of a repeated id, the first row's text
    assert read_texts(path, ["7", 8.0, 10, 9]) == {"7": "seven, with a comma", "8": "eight"}
    assert read_texts(path, []) == {}


def test_a_texts_file_without_id_or_text_is_refused_naming_what_it_has(tmp_path, demo_path):
    with pytest.raises(InputError, match=r"digits.csv: a texts file needs the columns id and text; it lacks text "
                                         r"\(it has id, split"):
        read_texts(demo_path, ["d0001"])
    with pytest.raises(InputError, match="missing.csv"):
        read_texts(tmp_path / "missing.csv", ["1"])
