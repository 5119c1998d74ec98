import numpy as np
import pytest

from e2elab.detection.metrics import ap50, average_precision, coco_ap
from e2elab.errors import DataError

TARGETS = [np.array([[0, 0, 10, 10]]), np.array([[20, 20, 10, 10]]), np.zeros((0, 4))]


def _predictions(third_box=(20, 20, 10, 10)):
    return [{"boxes": np.array([[0, 0, 10, 10], [50, 50, 5, 5]]), "scores": np.array([0.9, 0.8])},
            {"boxes": np.array([third_box]), "scores": np.array([0.7])},
            {"boxes": np.zeros((0, 4)), "scores": np.zeros(0)}]


def test_ap50_equals_the_hand_computed_101_point_average_precision():
    # Ranked: TP (P=1, R=.5), FP (P=.5, R=.5), TP (P=2/3, R=1). The interpolated precision is 1 at
    # the 51 recall points 0, .01, ..., .5 and 2/3 at the 50 points .51, ..., 1.
    expected = (51 * 1.0 + 50 * 2 / 3) / 101
    assert ap50(_predictions(), TARGETS) == pytest.approx(expected)


def test_coco_ap_averages_over_iou_thresholds():
    # The second true positive shifted by 2 px: IoU 8*10/(2*100-80) = 2/3, a hit only up to IoU 0.65.
    result = average_precision(_predictions(third_box=(22, 20, 10, 10)), TARGETS)
    low, high = (51 + 50 * 2 / 3) / 101, 51 / 101
    assert result["ap@0.65"] == pytest.approx(low)
    assert result["ap@0.70"] == pytest.approx(high)
    assert result["ap"] == pytest.approx((4 * low + 6 * high) / 10)
    assert coco_ap(_predictions(third_box=(22, 20, 10, 10)), TARGETS) == pytest.approx(result["ap"])


def test_perfect_and_empty_predictions():
    perfect = [{"boxes": t, "scores": np.ones(len(t))} for t in TARGETS]
    assert ap50(perfect, TARGETS) == pytest.approx(1.0)
    assert ap50([{"boxes": np.zeros((0, 4)), "scores": []}] * 3, TARGETS) == 0.0


def test_small_faces_and_many_faces_per_image_all_count():
    # 60 faces of 6x6 px in one image: COCO's default "small" range or a 10-detection cap would lose them.
    faces = np.array([[10 * i, 10 * j, 6, 6] for i in range(10) for j in range(6)], dtype=float)
    assert ap50([{"boxes": faces, "scores": np.linspace(1, 0.5, 60)}], [faces]) == pytest.approx(1.0)


def test_bad_inputs_are_refused():
    with pytest.raises(DataError, match="2 predictions but 3 targets"):
        ap50(_predictions()[:2], TARGETS)
    with pytest.raises(DataError, match="no box"):
        ap50([{"boxes": np.zeros((0, 4)), "scores": []}], [np.zeros((0, 4))])
    with pytest.raises(DataError, match="prediction 0.*2 boxes but 1 scores"):
        ap50([{"boxes": np.zeros((2, 4)), "scores": [1.0]}], [np.ones((1, 4))])
