"""Calibrated class probabilities: temperature scaling and the expected calibration error.

A network trained with cross-entropy is usually over-confident. Temperature scaling (Guo et al.,
2017) divides the class scores by one scalar T > 0, fitted to minimise the negative
log-likelihood on held-out data; it changes no prediction, only how confident they are. The
expected calibration error (ECE) measures the gap: the confidence of the top class against its
accuracy, averaged over equal-width confidence bins weighted by how many items fall in each.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


MIN_TEMPERATURE, MAX_TEMPERATURE = 0.5, 10.0


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 200,
                    bounds: tuple[float, float] = (MIN_TEMPERATURE, MAX_TEMPERATURE)) -> float:
    """The temperature T in `bounds` minimising NLL(softmax(logits / T), labels) on held-out
    (N, K) logits; 1.0 when there is nothing to fit on.

    Optimised over log T with L-BFGS. The NLL is convex in 1/T, so clipping the free optimum to
    `bounds` gives the bounded optimum. The lower bound matters: when the held-out items are all
    classified correctly the NLL keeps falling as T -> 0, and an unbounded fit would make the
    model claim a certainty that a few hundred correct answers do not prove.
    """
    if len(labels) == 0:
        return 1.0
    logits, labels = logits.detach().float(), labels.detach().long()
    log_t = torch.zeros((), requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimiser.step(closure)
    temperature = float(log_t.detach().exp())
    if not np.isfinite(temperature):
        return 1.0
    return float(min(max(temperature, bounds[0]), bounds[1]))


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE of (N, K) probabilities against integer labels (N,), with `bins` equal-width bins."""
    probabilities, labels = np.asarray(probabilities, dtype=np.float64), np.asarray(labels)
    if len(labels) == 0:
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(confidence[members].mean() - correct[members].mean())
    return float(error)


def calibration_report(logits: torch.Tensor, labels: torch.Tensor, temperature: float, bins: int = 15) -> dict:
    """NLL, ECE and accuracy of held-out logits before and after dividing them by `temperature`."""
    logits, labels = logits.detach().float(), labels.detach().long()
    y = labels.numpy()
    report = {"temperature": float(temperature), "n": int(len(labels)), "bins": bins}
    if len(labels) == 0:
        return report
    for name, t in (("before", 1.0), ("after", temperature)):
        probabilities = F.softmax(logits / t, dim=1)
        report[f"nll_{name}"] = float(F.cross_entropy(logits / t, labels))
        report[f"ece_{name}"] = expected_calibration_error(probabilities.numpy(), y, bins)
    report["accuracy"] = float((logits.argmax(1) == labels).float().mean())
    return report
