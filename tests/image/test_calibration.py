"""Temperature scaling recovers a known temperature; ECE is zero when confidence matches accuracy."""

import numpy as np
import torch

from e2elab.image.calibration import calibration_report, expected_calibration_error, fit_temperature


def test_fit_temperature_recovers_overconfidence():
    g = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 5, generator=g) * 2
    labels = torch.multinomial(torch.softmax(true_logits, 1), 1, generator=g)[:, 0]
    temperature = fit_temperature(true_logits * 3, labels)  # a network three times too confident
    assert abs(temperature - 3) < 0.3
    report = calibration_report(true_logits * 3, labels, temperature)
    assert report["nll_after"] < report["nll_before"] and report["ece_after"] < report["ece_before"]


def test_ece():
    labels = np.array([0, 0, 1, 1])
    perfect = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert expected_calibration_error(perfect, labels) == 0.0
    wrong = perfect[:, ::-1]
    assert expected_calibration_error(wrong, labels) == 1.0
    assert fit_temperature(torch.zeros(0, 3), torch.zeros(0)) == 1.0


def test_no_errors_do_not_drive_temperature_to_zero():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]] * 50)
    labels = torch.tensor([0, 1] * 50)
    assert fit_temperature(logits, labels) == 0.5
