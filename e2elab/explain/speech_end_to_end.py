"""Explain the end-to-end (CTC) speech recogniser: alignment, and attribution in time and frequency.

For each clip:

* **alignment** -- the CTC forced alignment of the transcript being explained (by default the
  predicted one) to the network's output frames: which frames emitted which characters and words;
* **attribution** of the transcript's log-probability log p(text | waveform) (CTC, summed over
  all frame paths) to the input, by one of two methods:
  - ``integrated_gradients`` on the raw waveform, summed per 10 ms frame: relevance over time.
    The baseline is white noise at the clip's level, not silence: the network normalises the
    recording level away, so every point of a path from silence is the same clip turned down
    and the gradients along it say nothing (all the change happens in a jump next to zero);
  - ``occlusion`` of time-frequency cells (STFT bands x 50 ms, each cell zeroed and the clip
    resynthesised): relevance over time AND frequency, drawn on the spectrogram. Each cell costs
    a pass over the whole clip, so on a clip long enough to need more than MAX_OCCLUSION_WINDOWS
    cells the cells grow longer instead (the record's "work" says how many and how long);
  both pooled per word of the alignment;
* **scores** -- deletion / insertion over 20 ms frames (a frame is deleted by silencing it), with
  the score the per-character probability of the transcript, exp(log p / characters), so clips of
  any length share one scale; and the cascading randomisation check of the network's layers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .attribution import attribute
from .ctc_alignment import align_transcript
from .progress import StepProgress
from .render import render_speech
from .sanity import THRESHOLD, cascading_randomisation, torch_randomisers
from .scores import deletion_insertion, summarise

SPEECH_METHODS = ("integrated_gradients", "occlusion")
FRAME_SECONDS = 0.01  # attribution shown per 10 ms
UNIT_SECONDS = 0.02  # deletion / insertion remove 20 ms at a time
CELL_SECONDS = 0.05  # occlusion cells: 50 ms ...
N_BANDS = 8  # ... by one of 8 equal frequency bands
MAX_OCCLUSION_WINDOWS = 480  # ... or longer, so that a clip costs about this many passes at most (30 s: 0.5 s cells)


class TranscriptLogProb(torch.nn.Module):
    """waveforms (B, N) -> (B, 1) log p(labels | waveform) under a CTC network.

    `network(waves, lengths)` must return (log_probs (B, T', V), frames (B,)), blank = 0.
    A module itself, so that the randomisation check finds the network's layers inside it.
    """

    def __init__(self, network: torch.nn.Module, labels: list[int]):
        super().__init__()
        self.network = network
        self.labels = [int(label) for label in labels]

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        lengths = torch.full((waves.shape[0],), waves.shape[1], dtype=torch.long)
        log_probs, frames = self.network(waves, lengths)  # (B, T', V)
        targets = torch.tensor(self.labels, dtype=torch.long).repeat(waves.shape[0], 1)  # (B, L)
        if not self.labels:  # the empty transcript: every frame blank
            return log_probs[:, :, 0].sum(dim=1, keepdim=True)
        loss = F.ctc_loss(log_probs.transpose(0, 1), targets, frames.cpu().long(),
                          torch.full((waves.shape[0],), len(self.labels), dtype=torch.long), blank=0,
                          reduction="none", zero_infinity=False)
        return (-loss)[:, None]  # (B, 1)


def noise_baseline(wave: np.ndarray, seed: int = 0) -> np.ndarray:
    """White noise with the clip's RMS level: a content-free reference that a level-normalising network can see.  # (N,)"""
    wave = np.asarray(wave, dtype=np.float32)
    rms = float(np.sqrt(np.mean(wave.astype(np.float64) ** 2))) or 1e-3
    return (np.random.default_rng(seed).standard_normal(len(wave)) * rms).astype(np.float32)


def integrated_gradients_in_time(scorer, wave: np.ndarray, sample_rate: int, n_steps: int,
                                 internal_batch_size: int, seed: int = 0) -> np.ndarray:
    """Integrated gradients of the transcript's log-probability per 10 ms frame, from `noise_baseline`.  # (T,)"""
    x = torch.from_numpy(np.asarray(wave, dtype=np.float32))[None]  # (1, N)
    baseline = torch.from_numpy(noise_baseline(wave, seed))[None]
    per_sample = attribute(scorer, x, "integrated_gradients", target=0, baseline=baseline, n_steps=n_steps,
                           internal_batch_size=internal_batch_size)[0].numpy()  # (N,)
    return pool_frames(per_sample, int(round(FRAME_SECONDS * sample_rate)))


def pool_frames(values: np.ndarray, hop: int) -> np.ndarray:
    """Sums of `values` over consecutive blocks of `hop` (the last one may be shorter).  # (T,)"""
    n = int(np.ceil(len(values) / hop))
    return np.add.reduceat(np.asarray(values, dtype=np.float64), np.arange(n) * hop)


def tf_cells(wave: np.ndarray, sample_rate: int, n_bands: int = N_BANDS,
             cell_seconds: float = CELL_SECONDS) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The clip's STFT and a (F, T) map of cell ids (band x `cell_seconds`) over its bins; plus the STFT settings."""
    from scipy.signal import stft

    n_fft = 256 if sample_rate <= 16000 else 512
    hop = n_fft // 4
    _, _, spec = stft(wave, fs=sample_rate, nperseg=n_fft, noverlap=n_fft - hop)  # (F, T)
    n_freq, n_time = spec.shape
    band = np.minimum(np.arange(n_freq) * n_bands // n_freq, n_bands - 1)
    per_cell = max(1, int(round(cell_seconds * sample_rate / hop)))
    chunk = np.arange(n_time) // per_cell
    n_chunks = int(chunk.max()) + 1
    cells = band[:, None] * n_chunks + chunk[None, :]  # (F, T)
    return spec, cells, (n_fft, hop, n_bands, n_chunks)


def occlusion_cell_seconds(seconds: float, n_bands: int = N_BANDS) -> float:
    """Length of an occlusion cell for a clip of `seconds`: 50 ms, or longer to stay within
    MAX_OCCLUSION_WINDOWS, in whole 10 ms frames so that each cell spreads evenly over the frames it covers."""
    frames = np.ceil(max(CELL_SECONDS, seconds * n_bands / MAX_OCCLUSION_WINDOWS) / FRAME_SECONDS - 1e-9)
    return float(frames * FRAME_SECONDS)


def tf_occlusion(scorer, wave: np.ndarray, sample_rate: int, batch_size: int,
                 cell_seconds: float = CELL_SECONDS) -> np.ndarray:
    """Drop of the log-probability when each band x `cell_seconds` cell is removed.  # (bands, chunks)"""
    from scipy.signal import istft

    spec, cells, (n_fft, hop, n_bands, n_chunks) = tf_cells(wave, sample_rate, cell_seconds=cell_seconds)

    def occluded(cell: int) -> np.ndarray:
        _, audio = istft(np.where(cells == cell, 0, spec), fs=sample_rate, nperseg=n_fft, noverlap=n_fft - hop)
        return np.asarray(audio[: len(wave)], dtype=np.float32)

    n_cells = n_bands * n_chunks
    with torch.no_grad():
        full = float(scorer(torch.from_numpy(np.asarray(wave, dtype=np.float32))[None])[0, 0])
        drops = []
        for start in range(0, n_cells, batch_size):  # resynthesised a batch at a time: memory stays bounded
            batch = torch.from_numpy(np.stack([occluded(c) for c in range(start, min(n_cells, start + batch_size))]))
            drops.append(full - scorer(batch)[:, 0].numpy())
    return np.concatenate(drops).reshape(n_bands, n_chunks)


def deletion_scores(scorer, wave: np.ndarray, sample_rate: int, time_relevance: np.ndarray, n_labels: int,
                    batch_size: int, seed: int) -> dict:
    """Deletion / insertion over 20 ms units (silenced), scored by the per-character probability."""
    unit = int(round(UNIT_SECONDS * sample_rate))
    n_units = int(np.ceil(len(wave) / unit))
    owner = np.minimum(np.arange(len(wave)) // unit, n_units - 1)  # (N,) unit of each sample
    relevance = pool_frames(np.repeat(time_relevance, int(round(FRAME_SECONDS * sample_rate)))[: len(wave)], unit)
    wave32 = np.asarray(wave, dtype=np.float32)

    def score(keep: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for start in range(0, len(keep), batch_size):
                batch = np.where(keep[start:start + batch_size][:, owner], wave32[None], 0.0).astype(np.float32)
                out.append(scorer(torch.from_numpy(batch))[:, 0].numpy())
        return np.exp(np.concatenate(out) / max(1, n_labels))

    return deletion_insertion(score, relevance[:n_units], seed=seed)


def explain_ctc_clip(network: torch.nn.Module, wave: np.ndarray, sample_rate: int, text: str, vocabulary: list[str],
                     encode, samples_per_frame: int, name: str, methods=None, out_dir=None,
                     internal_batch_size: int = 64, n_steps: int = 50, sanity: bool = True, faithfulness: bool = True,
                     seed: int = 0, threshold: float = THRESHOLD, prediction: str | None = None,
                     steps: StepProgress | None = None) -> list[dict]:
    """Records (one per method) explaining why `network` reads `text` in `wave`.

    vocabulary[i] is the character of output i (0: blank); encode(text) -> label ids;
    samples_per_frame: waveform samples per network output frame; prediction: the pipeline's own
    transcript (defaults to `text`); steps: the progress bar to tick (None: none shown).
    """
    methods = check_methods(methods)
    steps = steps or StepProgress(1, len(methods), sanity, faithfulness, progress=False)
    network = network.eval()
    labels = encode(text)
    scorer = TranscriptLogProb(network, labels).eval()
    with torch.no_grad():
        x = torch.from_numpy(np.asarray(wave, dtype=np.float32))[None]
        log_probs, frames = network(x, torch.tensor([len(wave)]))
        log_probs = log_probs[0, : int(frames[0])].double().numpy()  # (T', V)
        log_p = float(scorer(x)[0, 0])
    frame_seconds = samples_per_frame / sample_rate
    aligned = align_transcript(log_probs, text, vocabulary)
    words = [{"word": w.label, "start": round(w.start * frame_seconds, 3), "end": round(w.end * frame_seconds, 3),
              "log_prob": round(w.log_prob, 4)} for w in aligned["words"]]
    characters = [{"char": c.label, "start": round(c.start * frame_seconds, 3), "end": round(c.end * frame_seconds, 3)}
                  for c in aligned["characters"]]

    seconds = len(wave) / sample_rate
    cell_seconds = occlusion_cell_seconds(seconds)

    def time_map(model, method) -> np.ndarray:
        if method == "integrated_gradients":
            return integrated_gradients_in_time(model, wave, sample_rate, n_steps, internal_batch_size, seed)[None]
        return tf_occlusion(model, wave, sample_rate, internal_batch_size, cell_seconds)[None]

    records = []
    for method in methods:
        with steps.step(name, method):
            relevance = time_map(scorer, method)[0]
        tf_map = relevance if method == "occlusion" else None
        work = {"clip_seconds": round(seconds, 3)}
        if method == "occlusion":  # per 10 ms frame: each chunk's total spread over its frames
            work.update(occlusion_windows=int(relevance.size), cell_seconds=round(cell_seconds, 3))
            per_chunk = relevance.sum(axis=0)
            frames_per_chunk = int(round(cell_seconds / FRAME_SECONDS))
            n_frames = int(np.ceil(len(wave) / (FRAME_SECONDS * sample_rate)))
            time_relevance = np.repeat(per_chunk / frames_per_chunk, frames_per_chunk)[:n_frames]
            time_relevance = np.pad(time_relevance, (0, n_frames - len(time_relevance)))
        else:
            work.update(n_steps=n_steps)
            time_relevance = relevance
        for word in words:
            a, b = int(word["start"] / FRAME_SECONDS), max(int(word["start"] / FRAME_SECONDS) + 1, int(np.ceil(word["end"] / FRAME_SECONDS)))
            word["attribution"] = round(float(time_relevance[a:b].sum()), 5)
        spearman = None
        cascade = None
        if sanity:
            with steps.step(name, f"{method} sanity check"):
                check = cascading_randomisation(scorer, lambda m: time_map(m, method), torch_randomisers, seed=seed,
                                                reference=relevance[None], threshold=threshold)
            spearman, cascade = float(check["spearman"][0]), check["cascade"]
        faithful = None
        if faithfulness:
            with steps.step(name, f"{method} deletion / insertion"):
                faithful = deletion_scores(scorer, wave, sample_rate, time_relevance, len(labels), internal_batch_size,
                                           seed)
        scores = summarise(faithful, spearman, threshold)
        if cascade is not None:
            scores["randomisation_cascade"] = [{"layer": c["layer"], "layers_randomised": c["layers_randomised"],
                                                "spearman": round(float(c["spearman"][0]), 4)} for c in cascade]
        record = {"input": name, "method": method, "prediction": prediction if prediction is not None else text,
                  "probability": round(float(np.exp(log_p)), 5), "target": text,
                  "alignment": {"words": [dict(w) for w in words], "characters": characters,
                                "frame_seconds": frame_seconds},
                  "time_relevance": time_relevance, "scores": scores, "work": work}
        if out_dir is not None:
            from .torch_images import _safe

            title = f"{name}: heard \"{record['prediction']}\" (p = {record['probability']:.2f})"
            if record["prediction"] != text:
                title += f"; explaining \"{text}\""
            spans = [{"label": w["word"], "start": w["start"], "end": w["end"], "value": w["attribution"]} for w in words]
            chars = [{"label": c["char"], "start": c["start"], "end": c["end"]} for c in characters if c["char"] != " "]
            png = Path(out_dir) / f"{_safe(name)}.{method}.png"
            render_speech(png, wave, sample_rate, title, method, spans, time_relevance, FRAME_SECONDS, tf_map, chars, scores)
            record["png"] = str(png)
        records.append(record)
    return records


def explain_speech_end_to_end(estimator, items, names, methods=None, out_dir=None, target: str | None = None,
                              max_seconds: float | None = None, progress: bool | None = None,
                              **options) -> list[dict]:
    """Records for every clip of `items` explaining a fitted end-to-end speech pipeline.

    Uses the pipeline's network (``model_``: waveform + lengths -> CTC log-probabilities),
    ``vocabulary_`` and ``sample_rate``; `target` is a transcript to explain instead of the
    predicted one; a clip longer than `max_seconds` (None: the pipeline's own ``max_seconds``) is
    refused before any work. `options` go to :func:`explain_ctc_clip`.
    """
    from ..data.text import normalize_transcript
    from ..speech.clips import read_clip
    from ..speech.end_to_end import MIN_SECONDS

    methods = check_methods(methods)
    rate = int(estimator.sample_rate)
    limit = max_seconds if max_seconds is not None else estimator.max_seconds
    waves = [read_clip(item, rate, limit, name) for item, name in zip(items, names)]  # every clip checked first
    minimum = int(MIN_SECONDS * rate)
    vocabulary = ["<blank>"] + list(estimator.vocabulary_.chars)
    records = []
    with StepProgress(len(waves), len(methods), options.get("sanity", True), options.get("faithfulness", True),
                      progress) as steps:
        for wave, name in zip(waves, names):
            if len(wave) < minimum:  # the pipeline pads short clips with silence the same way
                wave = np.pad(wave, (0, minimum - len(wave)))
            # Decoded from the wave already read, so that an explicit max_seconds above the
            # pipeline's own limit is honoured (predict would read the clip again under that limit).
            prediction = estimator._decode(estimator._posteriors([wave])[0])
            text = normalize_transcript(target, source="--target") if target else prediction
            records += explain_ctc_clip(estimator.model_, wave, rate, text, vocabulary, estimator.vocabulary_.encode,
                                        estimator.model_.samples_per_frame, name, methods, out_dir,
                                        prediction=prediction, steps=steps, **options)
    return records


def check_methods(methods) -> list[str]:
    """`methods` as a list (None: all of SPEECH_METHODS), each one checked."""
    methods = list(methods or SPEECH_METHODS)
    for method in methods:
        if method not in SPEECH_METHODS:
            raise ValueError(f"unknown method {method!r} for an end-to-end speech model; choose from {SPEECH_METHODS}")
    return methods
