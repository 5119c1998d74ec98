"""PNG figures of explanations, made for a person to read.

Every figure shows the input, what the explanation says about it (an overlay with a colour bar,
coloured keypoints, or segments under a waveform), the model's answer with its probability, and
the scores of the explanation (deletion / insertion against random, the randomisation check) in
a footer, with a plain-language verdict. Drawn with Matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path

SIGNED_CMAP = "RdBu_r"  # red: pushes towards the answer; blue: pushes away
POSITIVE_CMAP = "inferno"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def score_lines(scores: dict | None) -> list[str]:
    """The footer: the scores as short sentences."""
    if not scores:
        return []
    lines = []
    if scores.get("deletion_auc") is not None:
        lines.append(f"deletion AUC {scores['deletion_auc']:.3g} (random {scores['deletion_auc_random']:.3g}; lower is better)   "
                     f"insertion AUC {scores['insertion_auc']:.3g} (random {scores['insertion_auc_random']:.3g}; higher is better)")
    if scores.get("randomisation_spearman") is not None:
        rho = scores["randomisation_spearman"]
        lines.append(f"map vs map of weight-randomised model: Spearman {rho:.2f} "
                     f"({'changes with the weights' if rho <= scores.get('threshold', 0.5) else 'barely changes: suspect'})")
    if "trustworthy" in scores:
        lines.append("verdict: " + ("trustworthy" if scores["trustworthy"] else "NOT to be trusted") +
                     (f" ({scores['reason']})" if scores.get("reason") else ""))
    return lines


def _finish(fig, title: str, scores: dict | None, path: Path) -> Path:
    lines = score_lines(scores)
    fig.suptitle(title, fontsize=11)
    if lines:
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=7.5, va="bottom", ha="left", family="monospace")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # colour bars shared by several axes are not tight_layout-compatible
        fig.tight_layout(rect=(0, 0.04 + 0.035 * len(lines), 1, 0.95))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=110, format=path.suffix.lstrip(".") or "png")
    _pyplot().close(fig)
    return path


def _show_image(ax, image: np.ndarray):
    image = np.asarray(image)
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _limits(values: np.ndarray, signed: bool) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    top = float(np.percentile(np.abs(values), 99.5)) if values.size else 1.0
    top = top if top > 0 else 1.0
    return (-top, top) if signed else (0.0, top)


def render_image_map(path: Path, image: np.ndarray, relevance: np.ndarray, title: str, method: str,
                     scores: dict | None = None) -> Path:
    """Input | relevance map over the (greyed) input, with a colour bar.

    image: (H, W) or (H, W, 3) uint8 as the person sees it; relevance: (H, W) in the same grid.
    """
    plt = _pyplot()
    signed = bool(np.any(relevance < 0))
    low, high = _limits(relevance, signed)
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 4.2))
    _show_image(axes[0], image)
    axes[0].set_title("input", fontsize=9)
    grey = image if image.ndim == 2 else np.asarray(image, dtype=np.float64).mean(axis=2)
    axes[1].imshow(grey, cmap="gray", interpolation="nearest")
    shown = axes[1].imshow(relevance, cmap=SIGNED_CMAP if signed else POSITIVE_CMAP, vmin=low, vmax=high,
                           alpha=0.6, interpolation="bilinear")
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    axes[1].set_title(f"{method.replace('_', ' ')}", fontsize=9)
    bar = fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04)
    bar.set_label("relevance for the answer" + (" (red: for, blue: against)" if signed else ""), fontsize=8)
    return _finish(fig, title, scores, path)


def render_keypoints(path: Path, image: np.ndarray, points: np.ndarray, contributions: np.ndarray, title: str,
                     method: str, scores: dict | None = None) -> Path:
    """Input | keypoints coloured by how much their visual words pushed the decision.

    points: (N, 2) as (x, y) pixel positions; contributions: (N,) signed.
    """
    plt = _pyplot()
    low, high = _limits(contributions, signed=True)
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 4.2))
    _show_image(axes[0], image)
    axes[0].set_title("input", fontsize=9)
    grey = image if image.ndim == 2 else np.asarray(image, dtype=np.float64).mean(axis=2)
    axes[1].imshow(grey, cmap="gray", interpolation="nearest", alpha=0.6)
    order = np.argsort(np.abs(contributions))  # strongest drawn on top
    size = 900.0 / max(image.shape[:2])
    shown = axes[1].scatter(points[order, 0], points[order, 1], c=contributions[order], cmap=SIGNED_CMAP, vmin=low,
                            vmax=high, s=12 + size * 4 * np.abs(contributions[order]) / max(high, 1e-12),
                            edgecolors="black", linewidths=0.3)
    axes[1].set_xlim(-0.5, image.shape[1] - 0.5)
    axes[1].set_ylim(image.shape[0] - 0.5, -0.5)
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    axes[1].set_title(f"{len(points)} keypoints, {method.replace('_', ' ')}", fontsize=9)
    bar = fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04)
    bar.set_label("push towards the answer (red) or away (blue)", fontsize=8)
    return _finish(fig, title, scores, path)


def spectrogram(waveform: np.ndarray, sample_rate: int, hop: int, n_fft: int = 512) -> np.ndarray:
    """A log-power spectrogram for display.  # (F, T)"""
    from scipy.signal import stft

    _, _, spec = stft(waveform, fs=sample_rate, nperseg=min(n_fft, len(waveform)), noverlap=min(n_fft, len(waveform)) - hop,
                      boundary=None, padded=True)
    return 10 * np.log10(np.abs(spec) ** 2 + 1e-10)


def render_speech(path: Path, waveform: np.ndarray, sample_rate: int, title: str, method: str,
                  words: list[dict], time_relevance: np.ndarray | None = None, frame_seconds: float | None = None,
                  tf_relevance: np.ndarray | None = None, segments: list[dict] | None = None,
                  scores: dict | None = None) -> Path:
    """Waveform with word spans | spectrogram (with a time-frequency map over it) | relevance in time.

    words/segments: [{"label", "start", "end" (seconds), optional "value"}]; segments are drawn as
    a second row of spans (characters or phones). time_relevance: (T,) one value per frame of
    `frame_seconds`; tf_relevance: (F, T) over 0..Nyquist and the clip's duration.
    """
    plt = _pyplot()
    duration = len(waveform) / sample_rate
    rows = 3 if time_relevance is not None else 2
    fig, axes = plt.subplots(rows, 1, figsize=(9, 2.1 * rows + 0.6), sharex=True)
    t = np.arange(len(waveform)) / sample_rate
    axes[0].plot(t, waveform, color="0.25", linewidth=0.5)
    colours = plt.get_cmap("tab10")
    for i, word in enumerate(words):
        axes[0].axvspan(word["start"], word["end"], color=colours(i % 10), alpha=0.2)
        label = word["label"] + (f"\n{word['value']:+.2f}" if word.get("value") is not None else "")
        axes[0].text((word["start"] + word["end"]) / 2, 0.95, label, transform=axes[0].get_xaxis_transform(),
                     ha="center", va="top", fontsize=9, weight="bold")
    for segment in segments or []:
        axes[0].axvline(segment["start"], color="0.5", linewidth=0.4, linestyle=":")
        axes[0].text((segment["start"] + segment["end"]) / 2, 0.03, segment["label"], transform=axes[0].get_xaxis_transform(),
                     ha="center", va="bottom", fontsize=7, color="0.2")
    axes[0].set_ylabel("waveform")
    axes[0].set_xlim(0, duration)
    hop = max(1, sample_rate // 100)
    spec = spectrogram(waveform, sample_rate, hop)
    extent = (0, duration, 0, sample_rate / 2)
    axes[1].imshow(spec, origin="lower", aspect="auto", extent=extent, cmap="gray_r")
    if tf_relevance is not None:
        low, high = _limits(tf_relevance, signed=True)
        shown = axes[1].imshow(tf_relevance, origin="lower", aspect="auto", extent=extent, cmap=SIGNED_CMAP, vmin=low,
                               vmax=high, alpha=0.55, interpolation="nearest")
        # One colour bar beside all rows keeps their time axes aligned.
        fig.colorbar(shown, ax=list(axes), fraction=0.03, pad=0.01).set_label("relevance (time x frequency)", fontsize=7)
    axes[1].set_ylabel("frequency (Hz)")
    if time_relevance is not None:
        centres = (np.arange(len(time_relevance)) + 0.5) * frame_seconds
        values = np.asarray(time_relevance, dtype=np.float64)
        axes[2].bar(centres, values, width=frame_seconds, color=np.where(values >= 0, "#c0392b", "#2c7fb8"))
        axes[2].axhline(0, color="0.4", linewidth=0.5)
        axes[2].set_ylabel(f"{method.replace('_', ' ')}\nper frame", fontsize=8)
    axes[-1].set_xlabel("time (s)")
    return _finish(fig, title, scores, path)
