import numpy as np
import pytest

from e2elab.detection.boxes import clip_boxes, iou, nms, validate_boxes
from e2elab.errors import DataError


def test_iou_matrix_matches_hand_computed_overlaps():
    a = np.array([[0, 0, 10, 10], [100, 100, 5, 5]])
    b = np.array([[5, 0, 10, 10], [0, 0, 10, 10], [50, 50, 1, 1]])
    expected = np.array([[50 / 150, 1.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(iou(a, b), expected)
    assert iou(np.zeros((0, 4)), b).shape == (0, 3)


def test_nms_keeps_the_best_of_each_cluster_and_separate_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10], [0, 1, 10, 10], [52, 50, 10, 10]])
    scores = np.array([0.6, 0.9, 0.8, 0.5, 0.3])
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.5), [1, 2])
    # At 0.75 box 0 (IoU 0.68 with box 1) and box 4 (0.67 with box 2) survive; box 3 (0.82) does not.
    np.testing.assert_array_equal(nms(boxes, scores, iou_threshold=0.75), [1, 2, 0, 4])


def test_nms_of_no_boxes_and_mismatched_scores():
    assert len(nms(np.zeros((0, 4)), np.zeros(0))) == 0
    with pytest.raises(DataError, match="3 boxes but 2 scores"):
        nms(np.zeros((3, 4)), np.zeros(2))


def test_clip_boxes_cuts_to_the_image():
    clipped = clip_boxes([[-5, 2, 10, 10], [95, 95, 10, 10], [200, 0, 5, 5]], width=100, height=100)
    np.testing.assert_allclose(clipped, [[0, 2, 5, 10], [95, 95, 5, 5], [100, 0, 0, 5]])


def test_validate_boxes_clips_drops_and_counts_with_a_warning_naming_the_file():
    boxes = [[90, 10, 20, 20],  # reaches past the right edge: clipped to w=10
             [10, 10, 0, 5],  # zero width
             [10, 10, 5, -3],  # negative height
             [np.nan, 1, 2, 2],  # NaN
             [300, 300, 5, 5],  # wholly outside
             [20, 20, 10, 10],
             [20, 20, 10, 10.1],  # the previous face annotated twice
             [20, 20, 10, 10]]  # the same box with another label is a different annotation
    labels = ["a", "a", "a", "a", "a", "a", "a", "b"]
    with pytest.warns(UserWarning, match="photo7.jpg"):
        check = validate_boxes(boxes, 100, 100, source="photo7.jpg", labels=labels)
    assert (check.clipped, check.invalid, check.duplicates) == (1, 4, 1)
    np.testing.assert_allclose(check.boxes, [[90, 10, 10, 20], [20, 20, 10, 10], [20, 20, 10, 10]])
    assert check.labels.tolist() == ["a", "a", "b"]


def test_validate_boxes_leaves_good_boxes_alone_and_rejects_bad_shapes():
    check = validate_boxes([[1, 2, 3, 4]], 10, 10, warn=True)
    assert not check.changed
    with pytest.raises(DataError, match="img.png.*shape"):
        validate_boxes([[1, 2, 3]], 10, 10, source="img.png")
