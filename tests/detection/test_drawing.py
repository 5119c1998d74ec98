import numpy as np

from e2elab.detection.drawing import (
    PREDICTED_COLOUR,
    TRUE_COLOUR,
    draw_boxes,
    save_drawing,
)


def test_boxes_are_outlined_on_a_copy_with_true_boxes_underneath(tmp_path):
    gray = np.full((60, 80), 100, dtype=np.uint8)
    drawn = draw_boxes(gray, [[10.4, 20, 30, 20]], [0.9], true_boxes=[[10, 20, 30, 20], [50, 5, 10, 10]])
    assert drawn.shape == (60, 80, 3) and gray.max() == 100  # the photo itself is untouched
    assert tuple(drawn[30, 10]) == PREDICTED_COLOUR  # the prediction is drawn over the true box it matches
    assert tuple(drawn[10, 50]) == TRUE_COLOUR  # the missed face stays visible
    assert tuple(drawn[30, 25]) == (100, 100, 100)  # inside a box: the photo
    assert (np.abs(drawn[:20, 10:40].astype(int) - 100).sum(axis=2) > 0).any()  # the score's label above the box


def test_low_scores_can_be_left_out_and_drawings_saved(tmp_path):
    photo = np.zeros((40, 40, 3), dtype=np.uint8)
    drawn = draw_boxes(photo, [[5, 5, 10, 10], [20, 20, 10, 10]], [0.8, 0.1], min_score=0.5)
    assert tuple(drawn[10, 5]) == PREDICTED_COLOUR and tuple(drawn[25, 20]) == (0, 0, 0)
    path = save_drawing(tmp_path / "out" / "photo.png", drawn)
    from PIL import Image

    np.testing.assert_array_equal(np.asarray(Image.open(path)), drawn)
