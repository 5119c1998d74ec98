"""From a variable number of local descriptors to one fixed-length vector per image.

* A **codebook** of visual words: k-means (MiniBatchKMeans) on a sample of training
  descriptors, or a diagonal Gaussian mixture for Fisher vectors. The sample can be drawn from
  images that arrive chunk by chunk (`FeatureEncoder.fit_chunks`), so that a training set's
  descriptors are never all held at once; it is the same sample either way.
* An **encoding** of each image's descriptors against it: ``"bovw"`` counts the nearest word
  (Csurka 2004), ``"vlad"`` sums residuals to the nearest word (Jegou 2010), ``"fisher"``
  takes the gradient of the mixture's log-likelihood with respect to its means and variances
  (Perronnin 2010).
* A **spatial pyramid** (Lazebnik 2006): the encoding is repeated in every cell of a 1x1,
  2x2 (and optionally 4x4) grid and concatenated, so that layout counts a little.
* **Normalisation**: ``"l1"`` (histograms, for the chi-squared kernel), ``"power-l2"``
  (signed square root then L2: the "improved" Fisher / VLAD normalisation, and the Hellinger
  map of a histogram), ``"l2"`` or ``"none"``.

Whole-image descriptors pass through unchanged beside the encoded local ones. An image with no
descriptors encodes to a zero vector, so it still gets a prediction (from the bias alone).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

ENCODINGS = ("bovw", "vlad", "fisher")
NORMALISATIONS = ("l1", "power-l2", "l2", "none")


def as_float(descriptors: np.ndarray) -> np.ndarray:
    """Stored descriptors (uint8 / float16) as float32."""
    return np.asarray(descriptors, dtype=np.float32)


def sample_descriptors(per_image: list[np.ndarray], max_total: int, seed: int) -> np.ndarray:
    """Up to `max_total` descriptors, drawn evenly from every image with a seeded generator."""
    rng = np.random.default_rng(seed)
    nonempty = [d for d in per_image if len(d)]
    if not nonempty:
        raise ValueError("no local descriptors in the training images; cannot learn a codebook")
    per = max(1, max_total // len(nonempty))
    return as_float(np.concatenate([draw(d, per, rng) for d in nonempty]))


def draw(descriptors: np.ndarray, per: int, rng: np.random.Generator) -> np.ndarray:
    """At most `per` of one image's descriptors, in their order (all of them when they are fewer)."""
    if len(descriptors) <= per:
        return descriptors
    return descriptors[np.sort(rng.choice(len(descriptors), per, replace=False))]


def fit_codebook(descriptors: np.ndarray, size: int, seed: int = 0, kind: str = "kmeans") -> dict[str, np.ndarray]:
    """A codebook learnt from (M, D) descriptors: {"centres"} for k-means, or
    {"weights", "means", "variances"} of a diagonal Gaussian mixture for Fisher vectors.

    The same descriptors and seed give the same codebook.
    """
    size = int(min(size, len(np.unique(descriptors, axis=0))))
    if size < 1:
        raise ValueError("cannot learn a codebook from no descriptors")
    from threadpoolctl import threadpool_limits

    if kind == "kmeans":
        from sklearn.cluster import MiniBatchKMeans

        # Mini-batches are too small for threads to pay; on a busy machine they cost 10-20x.
        with threadpool_limits(1):
            kmeans = MiniBatchKMeans(n_clusters=size, random_state=seed, n_init=3, batch_size=4096,
                                     max_iter=100, reassignment_ratio=0.01)
            kmeans.fit(descriptors)
        return {"centres": kmeans.cluster_centers_.astype(np.float32)}
    if kind == "gmm":
        from sklearn.mixture import GaussianMixture

        gmm = GaussianMixture(n_components=size, covariance_type="diag", random_state=seed, max_iter=50,
                              reg_covar=1e-3)
        gmm.fit(descriptors)
        return {"weights": gmm.weights_.astype(np.float32), "means": gmm.means_.astype(np.float32),
                "variances": gmm.covariances_.astype(np.float32)}
    raise ValueError(f"codebook kind must be 'kmeans' or 'gmm', not {kind!r}")


def assign(descriptors: np.ndarray, centres: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Index of the nearest centre for each descriptor: (N,) int."""
    if len(descriptors) == 0:
        return np.zeros(0, dtype=np.int64)
    centre_norms = (centres**2).sum(axis=1)  # (K,)
    out = np.empty(len(descriptors), dtype=np.int64)
    for start in range(0, len(descriptors), chunk):
        block = descriptors[start:start + chunk]  # (n, D)
        distances = centre_norms[None, :] - 2.0 * block @ centres.T  # (n, K), up to the constant |x|^2
        out[start:start + chunk] = distances.argmin(axis=1)
    return out


def pyramid_cells(positions: np.ndarray, levels: tuple[int, ...]) -> list[tuple[int, np.ndarray]]:
    """For each grid (1, 2, 4, ...) and each of its cells, the indices of the points inside it.

    Returns [(level, mask)] in order: level 1's one cell, then level 2's four cells row by row, ...
    """
    cells = []
    for grid in levels:
        column = np.minimum((positions[:, 0] * grid).astype(int), grid - 1)
        row = np.minimum((positions[:, 1] * grid).astype(int), grid - 1)
        index = row * grid + column
        cells.extend((grid, index == c) for c in range(grid * grid))
    return cells


def encode_bovw(descriptors, codebook) -> np.ndarray:
    """Counts of the nearest visual word: (K,)."""
    centres = codebook["centres"]
    words = assign(descriptors, centres)
    return np.bincount(words, minlength=len(centres)).astype(np.float32)


def encode_vlad(descriptors, codebook) -> np.ndarray:
    """Sum of residuals to the nearest word, per word: (K * D,)."""
    centres = codebook["centres"]
    out = np.zeros_like(centres)  # (K, D)
    if len(descriptors):
        words = assign(descriptors, centres)
        np.add.at(out, words, descriptors - centres[words])
    return out.ravel()


def encode_fisher(descriptors, codebook) -> np.ndarray:
    """Fisher vector: gradients w.r.t. the mixture's means and standard deviations, (2 * K * D,)."""
    weights, means, variances = codebook["weights"], codebook["means"], codebook["variances"]
    count, dims = means.shape
    if len(descriptors) == 0:
        return np.zeros(2 * count * dims, dtype=np.float32)
    stds = np.sqrt(variances)  # (K, D)
    # Posterior of each component for each descriptor, computed in log space.  # (N, K)
    log_prob = (-0.5 * (((descriptors[:, None, :] - means[None]) / stds[None]) ** 2).sum(axis=2)
                - np.log(stds).sum(axis=1)[None] + np.log(weights)[None])
    log_prob -= log_prob.max(axis=1, keepdims=True)
    posterior = np.exp(log_prob)
    posterior /= posterior.sum(axis=1, keepdims=True)
    n = len(descriptors)
    normalised = (descriptors[:, None, :] - means[None]) / stds[None]  # (N, K, D)
    grad_means = (posterior[:, :, None] * normalised).sum(axis=0) / (n * np.sqrt(weights)[:, None])
    grad_stds = (posterior[:, :, None] * (normalised**2 - 1)).sum(axis=0) / (n * np.sqrt(2 * weights)[:, None])
    return np.concatenate([grad_means.ravel(), grad_stds.ravel()]).astype(np.float32)


ENCODERS = {"bovw": encode_bovw, "vlad": encode_vlad, "fisher": encode_fisher}


def normalise(vector: np.ndarray, how: str) -> np.ndarray:
    """Normalise one encoded block (see the module docstring)."""
    if how == "none":
        return vector
    if how == "l1":
        total = np.abs(vector).sum()
        return vector / total if total > 0 else vector
    if how == "power-l2":
        vector = np.sign(vector) * np.sqrt(np.abs(vector))
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


class FeatureEncoder(TransformerMixin, BaseEstimator):
    """Feature dicts -> (n_images, n_features) matrix: local descriptors encoded against a learnt
    codebook over a spatial pyramid, then any whole-image descriptors.

    Learned: ``codebooks_`` {descriptor: {array name: array}}, ``n_features_out_``,
    ``blocks_`` [(name, start, stop)] naming the columns of each descriptor.
    """

    _saved_arrays = ("codebooks_",)

    def __init__(self, encoding="bovw", codebook_size=200, pyramid=(1, 2), normalisation="l1",
                 max_descriptors=100_000, seed=0):
        self.encoding = encoding
        self.codebook_size = codebook_size
        self.pyramid = pyramid
        self.normalisation = normalisation
        self.max_descriptors = max_descriptors
        self.seed = seed

    def _check(self):
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, not {self.encoding!r}")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {NORMALISATIONS}, not {self.normalisation!r}")
        if not self.pyramid or any(int(level) < 1 for level in self.pyramid):
            raise ValueError(f"pyramid must list grid sizes >= 1 such as (1, 2), not {self.pyramid!r}")

    def fit(self, X, y=None):
        self._check()
        features = [f for f in X if f is not None]
        if not features:
            raise ValueError("no images to learn a codebook from")
        samples = {name: sample_descriptors([f["local"][name] for f in features], int(self.max_descriptors),
                                            int(self.seed) + offset)
                   for offset, name in enumerate(sorted(features[0]["local"]))}
        return self._fit_codebooks(samples, features[0])

    def fit_chunks(self, chunks, nonempty: dict[str, int]):
        """Fit on feature dicts that arrive chunk by chunk (an iterable of lists; None for a
        skipped image), holding one chunk's descriptors at a time.

        `nonempty` counts, per local descriptor, the images that have any: with it each image
        gives the share of the sample that `fit` gives it, drawn with the same generator in the
        same order, so both fit the same codebook on the same images.
        """
        self._check()
        names = sorted(nonempty)
        per = {name: max(1, int(self.max_descriptors) // max(1, nonempty[name])) for name in names}
        rngs = {name: np.random.default_rng(int(self.seed) + offset) for offset, name in enumerate(names)}
        drawn: dict[str, list[np.ndarray]] = {name: [] for name in names}
        example = None
        for chunk in chunks:
            for features in (f for f in chunk if f is not None):
                example = example or features
                for name in names:
                    if len(features["local"][name]):
                        drawn[name].append(draw(features["local"][name], per[name], rngs[name]))
        if example is None:
            raise ValueError("no images to learn a codebook from")
        if not all(drawn.values()):
            raise ValueError("no local descriptors in the training images; cannot learn a codebook")
        return self._fit_codebooks({name: as_float(np.concatenate(parts)) for name, parts in drawn.items()}, example)

    def _fit_codebooks(self, samples: dict[str, np.ndarray], example: dict):
        """Codebooks from each local descriptor's sample; the column layout from one image's features."""
        kind = "gmm" if self.encoding == "fisher" else "kmeans"
        self.codebooks_ = {name: fit_codebook(sample, int(self.codebook_size), int(self.seed) + offset, kind)
                           for offset, (name, sample) in enumerate(sorted(samples.items()))}
        self.local_names_ = sorted(self.codebooks_)
        self.global_names_ = sorted(example["global"])
        self.blocks_ = []
        start = 0
        for name in self.local_names_ + self.global_names_:
            width = self._width(name, example)
            self.blocks_.append((name, start, start + width))
            start += width
        self.n_features_out_ = start
        return self

    def _width(self, name: str, example: dict) -> int:
        if name in self.codebooks_:
            cells = sum(int(g) ** 2 for g in self.pyramid)
            return cells * len(ENCODERS[self.encoding](np.zeros((0, _dims(self.codebooks_[name])), np.float32),
                                                       self.codebooks_[name]))
        return len(example["global"][name])

    def encode_one(self, features: dict) -> np.ndarray:
        """The encoded vector of one image: (n_features_out_,) float32."""
        levels = tuple(int(g) for g in self.pyramid)
        cells = pyramid_cells(features["positions"], levels)
        parts = []
        for name in self.local_names_:
            descriptors = as_float(features["local"][name])
            codebook = self.codebooks_[name]
            for level in levels:
                level_parts = [ENCODERS[self.encoding](descriptors[mask], codebook) for grid, mask in cells if grid == level]
                block = np.concatenate(level_parts)
                parts.append(normalise(block, self.normalisation) / len(levels))
        for name in self.global_names_:
            parts.append(np.asarray(features["global"][name], dtype=np.float32))
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)

    def transform(self, X) -> np.ndarray:
        out = np.zeros((len(X), self.n_features_out_), dtype=np.float32)
        for i, features in enumerate(X):
            out[i] = self.encode_one(features)
        return out

    def block_of(self, name: str) -> slice:
        """The columns of descriptor `name` in the output."""
        for block, start, stop in self.blocks_:
            if block == name:
                return slice(start, stop)
        raise KeyError(name)


def _dims(codebook: dict) -> int:
    return codebook["centres"].shape[1] if "centres" in codebook else codebook["means"].shape[1]
