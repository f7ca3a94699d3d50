"""The Preprocessor: imputation, standardisation and one-hot encoding."""

import numpy as np
import pandas as pd
import pytest

from _tables import make_frame
from underdog.data import (
    MISSING_LEVEL,
    Preprocessor,
)
from underdog.exceptions import DataError


def test_preprocessor_fits_on_training_rows_only():
    frame = make_frame()
    train, test = frame.iloc[:80], frame.iloc[80:]
    pre = Preprocessor.fit(train.drop(columns="label"))
    x2 = train["x2"].to_numpy()
    assert pre.medians[1] == pytest.approx(np.nanmedian(x2))
    assert pre.numeric == ["x1", "x2"] and pre.categorical == ["color"]
    out = pre.transform(test)
    assert out.shape == (40, 2 + len(pre.levels[0])) and out.dtype == np.float32
    assert np.isfinite(out).all()
    imputed = pre.transform(pd.DataFrame({"x1": [0.0], "x2": [np.nan], "color": ["red"]}))
    assert imputed[0, 1] == pytest.approx((pre.medians[1] - pre.means[1]) / pre.scales[1])
    # standardised on the training rows
    assert pre.transform(train)[:, 0].mean() == pytest.approx(0, abs=1e-6)


def test_preprocessor_categorical_levels_and_round_trip():
    train = pd.DataFrame({"c": ["x", "y", None, "x"], "n": [1.0, np.inf, 3.0, 4.0]})
    pre = Preprocessor.fit(train)
    assert pre.levels == [sorted(["x", "y", MISSING_LEVEL])]
    unseen = pre.transform(pd.DataFrame({"c": ["zzz"], "n": [1.0]}))
    assert unseen[0, 1:].tolist() == [0.0, 0.0, 0.0]  # unseen level: all zeros
    assert pre.medians == [3.0]  # inf is missing
    again = Preprocessor.from_dict(pre.to_dict())
    np.testing.assert_array_equal(again.transform(train), pre.transform(train))
    with pytest.raises(DataError, match="lacks the feature column"):
        pre.transform(pd.DataFrame({"c": ["x"]}))
