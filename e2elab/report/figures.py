"""Matplotlib figures as inline data URIs, and the plots the report draws itself."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PALETTE = {"end-to-end": "#d95f02", "traditional": "#1b9e77"}


def figure_uri(fig) -> str:
    """A figure as a base64 PNG data URI (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def file_uri(path: Path) -> str:
    """A PNG or JPEG file as a data URI, so the report needs no other file."""
    kind = "jpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "png"
    return f"data:image/{kind};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def pixels_uri(pixels: np.ndarray) -> str:
    """An RGB or grayscale uint8 image (H, W[, 3]) as a PNG data URI."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def stage_output_uri(value, title: str = "") -> str | None:
    """Draw one stage's output by its shape: a waveform, an image, a matrix, a vector.

    Returns None for values that are better shown as text (strings, lists of words).
    """
    if isinstance(value, dict) and "image" in value:  # e.g. an image with keypoints to draw
        return _image_with_points(np.asarray(value["image"]), value.get("keypoints"), title)
    if not isinstance(value, np.ndarray):
        try:
            value = np.asarray(value)
        except Exception:
            return None
        if value.dtype == object or value.dtype.kind in "US":
            return None
    value = np.squeeze(value)
    if value.ndim == 0 or value.size == 0:
        return None
    fig, ax = plt.subplots(figsize=(3.2, 1.9))
    if value.ndim == 1:
        if value.size > 2000:  # a waveform
            ax.plot(np.arange(value.size), value, linewidth=0.4, color="#444")
            ax.set_xlim(0, value.size)
        else:
            ax.bar(np.arange(value.size), value, width=1.0, color="#7570b3")
    elif value.ndim == 3 and value.shape[-1] in (3, 4) and value.dtype == np.uint8:
        ax.imshow(value)
        ax.axis("off")
    elif value.ndim == 3:  # feature maps (C, H, W): show the first few side by side
        maps = value[: min(8, value.shape[0])]
        ax.imshow(np.concatenate(list(maps), axis=1), cmap="viridis", aspect="auto")
        ax.axis("off")
    else:
        image = value.astype(float)
        if value.dtype == np.uint8:
            ax.imshow(image, cmap="gray")
            ax.axis("off")
        else:
            # Time runs along the longer axis; draw it horizontally.
            if image.shape[0] > image.shape[1]:
                image = image.T
            ax.imshow(image, aspect="auto", origin="lower", cmap="magma", interpolation="nearest")
            ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)
    return figure_uri(fig)


def _image_with_points(image, keypoints, title):
    fig, ax = plt.subplots(figsize=(2.4, 2.4))
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    if keypoints is not None and len(keypoints):
        points = np.asarray(keypoints, dtype=float)
        ax.scatter(points[:, 0], points[:, 1], s=6, c="#e7298a", linewidths=0)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=8)
    return figure_uri(fig)


def training_curves_uri(histories: dict[str, list[dict]]) -> str | None:
    """Loss (and validation metric) per epoch, one line per run."""
    histories = {name: rows for name, rows in histories.items() if rows}
    if not histories:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
    for name, rows in histories.items():
        epochs = [row.get("epoch", i + 1) for i, row in enumerate(rows)]
        if any("train_loss" in row for row in rows):
            axes[0].plot(epochs, [row.get("train_loss", np.nan) for row in rows], label=f"{name} train")
        if any("val_loss" in row for row in rows):
            axes[0].plot(epochs, [row.get("val_loss", np.nan) for row in rows], linestyle="--", label=f"{name} val")
        others = [k for k in rows[-1] if k.startswith("val_") and k != "val_loss"]
        for key in others[:1]:
            axes[1].plot(epochs, [row.get(key, np.nan) for row in rows], label=f"{name} {key}")
    axes[0].set_title("loss", fontsize=9)
    axes[1].set_title("validation metric", fontsize=9)
    for ax in axes:
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        if ax.lines:
            ax.legend(fontsize=6)
    return figure_uri(fig)


def confusion_uri(matrix, labels, title) -> str:
    matrix = np.asarray(matrix, dtype=float)
    fig, ax = plt.subplots(figsize=(0.32 * len(labels) + 1.6, 0.32 * len(labels) + 1.3))
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, int(count), ha="center", va="center", fontsize=6, color="white" if shown[i, j] > 0.5 else "black")
    ax.set_title(title, fontsize=9)
    return figure_uri(fig)


def size_label(task_name) -> str:
    """The x axis of a task's learning curves, from its report section ("training speakers")."""
    from ..tasks import get_task, task_names

    return get_task(task_name).report.size_label if task_name in task_names() else "training size"


def curve_uri(curve: dict) -> str:
    """Learning curves from curve.json, every pipeline entry (remedies too) on one log-log plot:
    points with intervals, the fitted laws, and the fitted and measured crossovers."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for i, (label, entry) in enumerate(curve.get("pipelines", {}).items()):
        points = [p for p in entry.get("points", []) if p.get("mean") is not None]
        if not points:
            continue
        n = np.array([p["n"] for p in points], dtype=float)
        # A log axis cannot show 0: a perfect score is drawn at a small floor instead.
        mean = np.maximum(np.array([p["mean"] for p in points], dtype=float), 1e-3)
        intervals = [p.get("ci95") or [m, m] for p, m in zip(points, mean)]  # one seed: no interval
        low = np.clip([lo for lo, _ in intervals], 1e-3, mean)
        high = np.maximum([hi for _, hi in intervals], mean)
        color = PALETTE.get(label, f"C{i + 2}")  # remedies: colours apart from the plain pipelines'
        ax.errorbar(n, mean, yerr=[mean - low, high - mean], fmt="o", color=color, label=label, capsize=2, markersize=4)
        law = entry.get("law") or {}
        if all(k in law and law[k] is not None for k in "abc"):
            grid = np.geomspace(n.min(), n.max() * 2, 100)
            ax.plot(grid, law["a"] + law["b"] * grid ** (-law["c"]), color=color, linewidth=1,
                    label=f"{label}: {law['a']:.3f} + {law['b']:.2f}·n^-{law['c']:.2f}")
        check = entry.get("extrapolation_check") or {}
        if check.get("failed"):
            ax.scatter([check["n"]], [max(check["predicted"], 1e-3)], marker="x", color=color, s=50, zorder=5,
                       label=f"{label}: law without largest n (failed)")
    crossover = curve.get("crossover") or {}
    if crossover.get("n"):
        ax.axvline(crossover["n"], color="#666", linestyle=":", label=f"fitted crossover ≈ {crossover['n']:.0f}")
    measured = curve.get("crossover_observed") or {}
    if measured.get("n"):
        ax.axvline(measured["n"], color="#1b9e77", linestyle="--", linewidth=0.8,
                   label=f"measured crossover ≈ {measured['n']:.0f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(size_label(curve.get("task")), fontsize=8)
    ax.set_ylabel(curve.get("metric", "error"), fontsize=8)
    ax.legend(fontsize=6)
    ax.tick_params(labelsize=7)
    return figure_uri(fig)
