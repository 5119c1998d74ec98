import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from e2elab.experiments.cells import class_scores, count_parameters, model_bytes, transcript_scores


class WithModule(BaseEstimator):
    def __init__(self, width=3):
        self.width = width

    def fit(self):
        self.module_ = torch.nn.Linear(4, self.width)  # 4 * 3 + 3 = 15 parameters
        self.scaler_ = LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])  # coef (1, 4) + intercept (1,)
        self.classes_ = np.array(["a", "b"])  # not numbers: not counted
        self._cache = np.zeros(1000)  # private: not learned state
        return self


def test_count_parameters_of_torch_modules_and_sklearn_parts():
    model = WithModule().fit()
    expected_sklearn = sum(v.size for k, v in vars(model.scaler_).items() if isinstance(v, np.ndarray) and v.dtype.kind in "fiuc")
    assert count_parameters(model) == 15 + expected_sklearn
    assert expected_sklearn >= 5


class Hmm:
    def __init__(self):
        self.means = np.zeros((5, 3))  # 15 numbers
        self.shared = self.means  # the same array again: counted once


def test_count_parameters_walks_plain_objects():
    model = WithModule()
    model.hmms_ = [Hmm(), Hmm()]
    assert count_parameters(model) == 30


def test_a_pipelines_own_count_wins():
    model = WithModule().fit()
    model.n_parameters_ = 42
    assert count_parameters(model) == 42


def test_model_bytes_is_none_for_a_model_that_cannot_be_saved():
    from e2elab.base import PipelineMixin

    class Unsaveable(PipelineMixin, BaseEstimator):
        pass

    assert model_bytes(Unsaveable()) is None


def test_class_scores_count_the_confusions():
    scores = class_scores(["a", "a", "b", "c"], ["a", "b", "b", "d"], ["a", "b", "c"])
    assert scores["metric"] == pytest.approx(0.5) and scores["accuracy"] == pytest.approx(0.5)
    assert scores["confusion"]["labels"] == ["a", "b", "c", "d"]
    assert scores["confusion"]["matrix"][0] == [1, 1, 0, 0]
    assert scores["confusion"]["matrix"][2] == [0, 0, 0, 1]


def test_transcript_scores_count_substitutions_deletions_and_insertions():
    scores = transcript_scores(["one two three", "four five"], ["one too three", "four five six"])
    assert scores["metric"] == pytest.approx(2 / 5)
    counts = scores["confusion"]
    assert counts["two"] == {"too": 1}
    assert counts["one"] == {"one": 1}
    assert counts["<ins>"] == {"six": 1}
    scores = transcript_scores(["seven eight"], ["seven"])
    assert scores["confusion"]["eight"] == {"<del>": 1}
