import types

import cv2
import numpy as np
import pytest

from e2elab.detection import haar
from e2elab.errors import E2elabError


def test_a_build_without_the_cascades_gets_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(cv2, "data", types.SimpleNamespace(haarcascades=str(tmp_path)), raising=False)
    with pytest.raises(E2elabError, match="dropped the Haar cascades"):
        haar.haar_reference([np.zeros((32, 32), np.uint8)])


def test_the_cascade_returns_predict_shaped_detections():
    try:
        haar._cascade()
    except E2elabError as err:
        pytest.skip(str(err))
    result = haar.haar_reference([np.full((64, 64), 128, np.uint8)])
    assert result[0]["boxes"].shape[1] == 4 and len(result[0]["scores"]) == len(result[0]["boxes"])
