"""Feature selection: keep the columns that best separate the classes, learnt per fit.

Inside the scikit-learn Pipeline, so cross-validation refits it on each training fold and never
selects with the test fold's labels.

* ``"chi2"``: the chi-squared statistic of each non-negative feature against the class.
* ``"mutual_info"``: mutual information between each feature and the class (k-NN estimate).
* ``"l1"``: the features an L1-penalised linear SVM gives non-zero weight, ranked by weight.
* ``None``: keep everything.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

METHODS = (None, "chi2", "mutual_info", "l1")


class FeatureSelector(TransformerMixin, BaseEstimator):
    """Keep the `k` best columns by `method` (all of them when k is "all" or exceeds the width)."""

    _saved_arrays = ("support_", "scores_")

    def __init__(self, method=None, k=1000, C=0.1, seed=0):
        self.method = method
        self.k = k
        self.C = C
        self.seed = seed

    def fit(self, X, y):
        if self.method not in METHODS:
            raise ValueError(f"selection must be one of {METHODS}, not {self.method!r}")
        X = np.asarray(X, dtype=np.float32)
        self.n_features_in_ = X.shape[1]
        if self.method is None:
            self.scores_ = np.ones(X.shape[1], dtype=np.float32)
        elif self.method == "chi2":
            from sklearn.feature_selection import chi2

            if (X < 0).any():
                raise ValueError("chi2 selection needs non-negative features (bag-of-words histograms, HOG); "
                                 "use 'mutual_info' or 'l1' with VLAD or Fisher encodings")
            self.scores_ = np.nan_to_num(chi2(X, y)[0]).astype(np.float32)
        elif self.method == "mutual_info":
            from sklearn.feature_selection import mutual_info_classif

            self.scores_ = mutual_info_classif(X, y, random_state=self.seed).astype(np.float32)
        else:
            from sklearn.svm import LinearSVC

            model = LinearSVC(penalty="l1", dual=False, C=self.C, random_state=self.seed, max_iter=5000).fit(X, y)
            self.scores_ = np.abs(model.coef_).max(axis=0).astype(np.float32)
        keep = X.shape[1] if self.k == "all" or self.method is None else min(int(self.k), X.shape[1])
        if self.method == "l1":
            keep = min(keep, max(1, int((self.scores_ > 0).sum())))
        order = np.argsort(-self.scores_, kind="stable")[:keep]
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[order] = True
        return self

    def transform(self, X):
        return np.asarray(X, dtype=np.float32)[:, self.support_]

    def get_support(self, indices: bool = False):
        return np.flatnonzero(self.support_) if indices else self.support_
