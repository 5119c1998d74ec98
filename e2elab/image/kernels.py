"""A support vector machine with the exponential chi-squared kernel, the classic kernel for
bag-of-words histograms (Zhang, Marszalek, Lazebnik & Schmid 2007):

    k(x, y) = exp(-gamma * sum_i (x_i - y_i)^2 / (x_i + y_i))

with gamma = 1 / (the mean chi-squared distance between training vectors) unless given.
scikit-learn's SVC accepts a precomputed kernel; this class computes it, keeps only the support
vectors (all that prediction needs) and exposes the usual classifier interface, probabilities
included (Platt scaling on cross-validated decision values).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


def chi2_distances(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Chi-squared distances between the rows of non-negative X (n, d) and Y (m, d): (n, m)."""
    from sklearn.metrics.pairwise import additive_chi2_kernel

    return -additive_chi2_kernel(np.asarray(X, np.float64), np.asarray(Y, np.float64))


class PlattScaledClassifier(ClassifierMixin, BaseEstimator):
    """A classifier whose decisions are its own and whose probabilities are Platt-scaled.

    Sigmoid scaling is fitted on decision values from up to 5-fold cross-validation (the folds
    shrink with the smallest class, at least 2 images each), then the estimator is refit on all
    the data, as SVC(probability=True) did. `predict` keeps the estimator's own decision:
    on a few dozen images the cross-validated sigmoids can be poor, and they should not change
    which class wins.
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        from collections import Counter

        from sklearn.base import clone
        from sklearn.calibration import CalibratedClassifierCV

        folds = max(2, min(5, min(Counter(np.asarray(y).tolist()).values())))
        self.calibration_ = CalibratedClassifierCV(clone(self.estimator), method="sigmoid", cv=folds, ensemble=False)
        self.calibration_.fit(X, y)
        self.estimator_ = self.calibration_.calibrated_classifiers_[0].estimator
        self.classes_ = self.calibration_.classes_
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def decision_function(self, X):
        return self.estimator_.decision_function(X)

    def predict_proba(self, X):
        return self.calibration_.predict_proba(X)

    @property
    def coef_(self):
        """The linear weights, where the estimator is linear (for explanations)."""
        return self.estimator_.coef_

    @property
    def intercept_(self):
        return self.estimator_.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = getattr(self.estimator, "kernel", None) == "precomputed"
        return tags


class Chi2SVC(ClassifierMixin, BaseEstimator):
    """SVC on the exponential chi-squared kernel of non-negative features (histograms)."""

    _saved_arrays = ("support_vectors_", "support_")

    def __init__(self, C=10.0, gamma="auto", probability=True, seed=0):
        self.C = C
        self.gamma = gamma
        self.probability = probability
        self.seed = seed

    def fit(self, X, y):
        from sklearn.svm import SVC

        X = self._check_input(X)
        distances = chi2_distances(X, X)  # (n, n)
        if self.gamma == "auto":
            mean = distances[np.triu_indices(len(X), 1)].mean() if len(X) > 1 else 1.0
            self.gamma_ = float(1.0 / mean) if mean > 0 else 1.0
        else:
            self.gamma_ = float(self.gamma)
        svc = SVC(C=self.C, kernel="precomputed", random_state=self.seed)
        self.svc_ = PlattScaledClassifier(svc) if self.probability else svc
        self.svc_.fit(np.exp(-self.gamma_ * distances), y)
        self.classes_ = self.svc_.classes_
        self.n_train_ = int(len(X))
        self.support_ = self._final_svc().support_
        self.support_vectors_ = X[self.support_].astype(np.float32)
        self.n_features_in_ = X.shape[1]
        return self

    def _check_input(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"expected a 2-D feature matrix, got shape {X.shape}")
        if (X < 0).any():
            raise ValueError("the chi-squared kernel needs non-negative features (histograms); "
                             "use the 'l1' normalisation with the 'bovw' encoding, or another classifier")
        return X

    def _final_svc(self):
        return self.svc_.estimator_ if self.probability else self.svc_

    def _kernel(self, X) -> np.ndarray:
        """The kernel against the training set, zero outside the support vectors: (n, n_train)."""
        X = self._check_input(X)
        kernel = np.zeros((len(X), self.n_train_))
        kernel[:, self.support_] = np.exp(-self.gamma_ * chi2_distances(X, self.support_vectors_))
        return kernel

    def decision_function(self, X):
        return self._final_svc().decision_function(self._kernel(X))

    def predict(self, X):
        return self.svc_.predict(self._kernel(X))

    def predict_proba(self, X):
        if not self.probability:
            raise AttributeError("predict_proba needs probability=True")
        return self.svc_.predict_proba(self._kernel(X))
