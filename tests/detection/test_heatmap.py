import numpy as np
import torch

from e2elab.detection.heatmap import REGRESSION_FLOOR, decode, detection_loss, encode, encode_batch, focal_loss

STRIDE = 4
BOXES = np.array([[10.0, 20.0, 24.0, 16.0], [60.0, 8.0, 9.0, 30.0], [30.0, 70.0, 40.0, 40.0]])


def test_heat_target_peaks_at_box_centres_only():
    heat, _, _ = encode(BOXES, (32, 32), STRIDE)
    centres = {(int((y + h / 2) // STRIDE), int((x + w / 2) // STRIDE)) for x, y, w, h in BOXES}
    assert set(zip(*np.nonzero(heat == 1.0))) == centres
    assert heat.min() >= 0 and heat.max() == 1.0
    # The Gaussian falls off from each centre: the wide, short box spreads further along x than y.
    row, col = int((20 + 8) // STRIDE), int((10 + 12) // STRIDE)
    assert heat[row, col + 1] > heat[row + 1, col] > 0


def test_decode_of_encoded_targets_recovers_the_boxes():
    heat, box, _ = encode(BOXES, (32, 32), STRIDE)
    peaks = decode(torch.from_numpy(heat)[None, None], torch.from_numpy(box)[None], STRIDE, k=10)[0]
    assert len(peaks.boxes) == len(BOXES)
    order = np.lexsort((peaks.boxes[:, 1], peaks.boxes[:, 0]))
    np.testing.assert_allclose(peaks.boxes[order], BOXES[np.lexsort((BOXES[:, 1], BOXES[:, 0]))], atol=1e-4)
    np.testing.assert_allclose(peaks.scores, 1.0)


def test_box_targets_cover_the_gaussian_core_weighted_by_it():
    heat, box, weight = encode(BOXES[:1], (32, 32), STRIDE)
    assert np.all((weight > 0) == (heat >= REGRESSION_FLOOR))
    np.testing.assert_allclose(weight[weight > 0], heat[weight > 0])
    rows, cols = np.nonzero(weight)
    # Every regressing cell points at the same centre and size.
    np.testing.assert_allclose((cols + box[0, rows, cols]) * STRIDE, 10 + 12)
    np.testing.assert_allclose((rows + box[1, rows, cols]) * STRIDE, 20 + 8)
    np.testing.assert_allclose(np.exp(box[2:, rows, cols]) * STRIDE, [[24.0] * len(rows), [16.0] * len(rows)], rtol=1e-5)


def test_a_small_box_keeps_its_centre_inside_a_large_one():
    large, small = [0.0, 0.0, 64.0, 64.0], [26.0, 26.0, 8.0, 8.0]  # both centred in cell (7, 7)
    heat, box, _ = encode(np.array([small, large]), (16, 16), STRIDE)
    assert heat[7, 7] == 1.0
    np.testing.assert_allclose(np.exp(box[2:, 7, 7]) * STRIDE, [8.0, 8.0], rtol=1e-5)


def test_boxes_centred_outside_the_grid_are_left_out():
    heat, _, weight = encode(np.array([[200.0, 10.0, 20.0, 20.0]]), (16, 16), STRIDE)
    assert heat.sum() == 0 and weight.sum() == 0


def test_the_loss_is_lower_for_a_prediction_that_matches_the_targets():
    targets = encode_batch([BOXES], (32, 32), STRIDE)
    logits_right = torch.logit(targets.heat.clamp(1e-3, 1 - 1e-3))
    logits_wrong = torch.logit((1 - targets.heat).clamp(1e-3, 1 - 1e-3))
    assert focal_loss(logits_right, targets.heat) < 0.1 * focal_loss(logits_wrong, targets.heat)
    right = detection_loss(logits_right, targets.box, targets)
    shifted = detection_loss(logits_right, targets.box + 0.5, targets)
    assert shifted - right > 0.5 * 4 - 1e-4  # the L1 box loss of a 0.5 error in each of 4 channels


def test_decode_returns_no_more_than_k_and_only_local_maxima():
    heat = torch.zeros(1, 1, 8, 8)
    heat[0, 0, 2, 2], heat[0, 0, 2, 3], heat[0, 0, 6, 6] = 0.9, 0.5, 0.7  # (2, 3) is not a local maximum
    peaks = decode(heat, torch.zeros(1, 4, 8, 8), STRIDE, k=5)[0]
    np.testing.assert_allclose(peaks.scores, [0.9, 0.7])
    np.testing.assert_array_equal(peaks.cells, [[2, 2], [6, 6]])
    assert len(decode(heat, torch.zeros(1, 4, 8, 8), STRIDE, k=1)[0].scores) == 1
