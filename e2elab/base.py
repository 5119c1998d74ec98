"""The contract every pipeline keeps, beyond scikit-learn's own.

A pipeline is a scikit-learn estimator (parameters stored unchanged in ``__init__``, learned
attributes ending in ``_``) that also

* lists its ``stages`` (name, hand-crafted or learned, what it outputs) so that reports,
  diagrams and explanations are built from the pipeline itself, not from special cases;
* returns the intermediate output of every stage for one raw item (``stage_outputs``);
* turns itself into plain JSON plus arrays (``_get_state``) and back (``_from_state``), which
  :mod:`e2elab.io` writes as ``e2elab.json`` + ``weights.safetensors`` (+ skops files);
* declares the type and range of every parameter (``_parameter_constraints``, scikit-learn's
  convention, built from :mod:`e2elab.params`) and checks them all (``_validate_params``) before
  any data is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

STAGE_KINDS = ("input", "hand-crafted", "learned", "fixed", "output")


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline, as a report draws it."""

    name: str
    kind: str  # one of STAGE_KINDS
    output: str  # what the stage outputs, for a person: "MFCC + deltas, (T, 39)"

    def __post_init__(self):
        if self.kind not in STAGE_KINDS:
            raise ValueError(f"stage kind must be one of {STAGE_KINDS}, not {self.kind!r}")


@dataclass
class ModelState:
    """A fitted pipeline taken apart into safe, plain pieces.

    meta: JSON-serialisable values (vocabulary, class names, sizes, ...).
    arrays: named NumPy arrays (network weights, GMM means, ...), saved with safetensors.
    sklearn: named scikit-learn objects, saved with skops.
    """

    meta: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    sklearn: dict[str, Any] = field(default_factory=dict)


class PipelineMixin:
    """Shared behaviour of the four pipelines. Subclasses also derive from BaseEstimator."""

    task: ClassVar[str]
    kind: ClassVar[str]
    # {parameter: [allowed, ...]} in scikit-learn's vocabulary; a parameter left out is not checked,
    # so every pipeline lists all of its own (tests/test_params.py holds the four first pipelines to it).
    _parameter_constraints: ClassVar[dict[str, list]] = {}

    def _validate_params(self) -> None:
        """Check every parameter's type and range; raise ParameterError naming the first bad one.

        Called at the start of `fit`, before any data is read, and by the command line right after
        building the pipeline, so that a typo fails in a second rather than after an hour of
        feature extraction. A pipeline with checks the constraints cannot express extends this.
        """
        from .params import check_device_available, validate_constraints

        params = self.get_params(deep=False)
        validate_constraints(self._parameter_constraints, params, self._caller())
        if "device" in params:
            check_device_available(self._caller(), params["device"])

    def _caller(self) -> str:
        return f"the {self.task} {self.kind} pipeline ({type(self).__name__})"

    def _invalid_param(self, name: str, allowed: str):
        """A ParameterError for parameter `name`, worded like the constraint checks' own."""
        from .params import invalid

        return invalid(self._caller(), name, getattr(self, name), allowed)

    @property
    def stages(self) -> list[Stage]:
        raise NotImplementedError(f"{type(self).__name__} must list its stages")

    def stage_outputs(self, item) -> dict[str, Any]:
        """The output of every stage (keyed by stage name) for one raw item."""
        raise NotImplementedError(f"{type(self).__name__} must return its stage outputs")

    def _get_state(self) -> ModelState:
        raise NotImplementedError(f"{type(self).__name__} cannot be saved yet")

    @classmethod
    def _from_state(cls, params: dict[str, Any], state: ModelState):
        raise NotImplementedError(f"{cls.__name__} cannot be loaded yet")


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus word error rate: word edits over reference words, as jiwer counts them."""
    import jiwer

    references = [r if r.strip() else "<empty>" for r in references]
    hypotheses = [h if h is not None else "" for h in hypotheses]
    return float(jiwer.wer(list(references), list(hypotheses)))


class SpeechRecognizerMixin(PipelineMixin):
    """`score` is 1 - WER, so that higher is better as scikit-learn expects."""

    def score(self, X, y) -> float:
        return 1.0 - word_error_rate(list(y), self.predict(X))
