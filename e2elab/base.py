"""The contract every pipeline keeps, beyond scikit-learn's own, and the behaviour they share.

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

What every pipeline does the same way lives here, once: the not-fitted check (``_check_fitted``),
what ``on_error`` does with a bad item (``_skip_or_raise``) and how the skipped ones are counted
(``_record_skipped``), leaving out classes too small to learn and validate
(``_drop_small_classes``), and whether progress bars show (``_show_progress``).
``tests/test_contract.py`` holds every registered pipeline to all of it.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .errors import DataError

STAGE_KINDS = ("input", "hand-crafted", "learned", "fixed", "output")
LISTED_SKIPS = 5  # skipped items a warning names; the rest are counted


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


def progress_wanted(progress: bool | None) -> bool:
    """Whether to draw progress bars: `progress` when it is True or False; when None, whenever
    someone is likely watching: stderr is a terminal, or the code runs in a Jupyter kernel (whose
    stderr is a pipe, but where ``tqdm.auto`` draws widget bars)."""
    if progress is not None:
        return bool(progress)
    isatty = getattr(sys.stderr, "isatty", None)  # stderr may be None or a stand-in without isatty
    return bool(isatty and isatty()) or _in_jupyter_kernel()


def _in_jupyter_kernel() -> bool:
    if "ipykernel" not in sys.modules:  # no kernel without it, and importing IPython to ask would be slow
        return False
    from ipykernel.zmqshell import ZMQInteractiveShell
    from IPython import get_ipython

    return isinstance(get_ipython(), ZMQInteractiveShell)


class PipelineMixin:
    """Shared behaviour of the pipelines. Subclasses also derive from BaseEstimator."""

    task: ClassVar[str]
    kind: ClassVar[str]
    # {parameter: [allowed, ...]} in scikit-learn's vocabulary; a parameter left out is not checked,
    # so every pipeline lists all of its own (tests/test_contract.py holds every pipeline to it).
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

    # ---- the contract's shared behaviour ---------------------------------------------------------

    def _check_fitted(self) -> None:
        """Raise scikit-learn's NotFittedError unless `fit` (or e2elab.load) has given the pipeline
        its learned attributes, rather than fail later on a missing one."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, msg=f"This {type(self).__name__} ({self.task} {self.kind} pipeline) is not fitted "
                                  "yet: call fit(X, y) first, or load a fitted one with e2elab.load.")

    def _show_progress(self) -> bool:
        """Whether this pipeline draws progress bars (its `progress` parameter; None: see progress_wanted)."""
        return progress_wanted(self.progress)

    def _skip_or_raise(self, error: DataError, skipped: list[tuple[str, str]], item: str | None = None) -> None:
        """Act on a bad item as `on_error` says: raise `error` ("raise"), or add (item, reason) to
        `skipped` ("skip"). `item` names it where the error does not."""
        if self.on_error != "skip":
            if error.source is None and item is not None:
                raise type(error)(item, error.reason) from None
            raise error
        skipped.append((error.source or item or "an item", error.reason))

    def _record_skipped(self, skipped: list[tuple[str, str]], noun: str | None = None) -> None:
        """Keep what fit left out: ``skipped_``, (item, reason) pairs, and ``n_skipped_``, their count.

        In `fit`, `noun` says what an item is ("training clip") and a warning names the first few
        skipped; a model being loaded passes none, as its skips were reported when it was trained.
        """
        self.skipped_ = [(str(item), str(reason)) for item, reason in skipped]
        self.n_skipped_ = len(self.skipped_)
        if noun and self.skipped_:
            listed = "; ".join(f"{item}: {reason}" for item, reason in self.skipped_[:LISTED_SKIPS])
            more = " ..." if self.n_skipped_ > LISTED_SKIPS else ""
            warnings.warn(f"skipped {self.n_skipped_} {noun}(s) (on_error='skip'): {listed}{more}", stacklevel=3)

    def _drop_small_classes(self, y: np.ndarray, skipped: list[tuple[str, str]],
                            noun: str = "item") -> tuple[np.ndarray, list[tuple[str, str]]]:
        """Indices of the items to train on, leaving out every class with a single item (`noun`),
        and `skipped` extended with the classes left out.

        A single-item class can be neither both learned and validated nor split by stratification:
        it is a DataError under on_error="raise", and under "skip" is left out with a warning naming
        it (the model will never predict it). Fewer than two classes left is a DataError either way.
        """
        labels = [str(label) for label in np.asarray(y).tolist()]
        single = sorted(label for label, n in Counter(labels).items() if n < 2)
        named = ", ".join(map(repr, single))
        if single and self.on_error != "skip":
            raise DataError(None, f"class {named} has a single {noun}; training needs at least two per class "
                                  f"(add {noun}s, or fit with on_error='skip' to leave them out)")
        keep = np.array([i for i, label in enumerate(labels) if label not in single], dtype=int)
        classes = sorted({labels[i] for i in keep})
        if len(classes) < 2:
            raise DataError(None, f"need {noun}s of at least two classes to train a classifier, got {len(classes)}"
                                  f" ({', '.join(classes) or 'none'})")
        if single:
            warnings.warn(f"left out class {named}: a single training {noun} each, so the model will never "
                          "predict it", stacklevel=3)
        return keep, skipped + [(f"class {label!r}", f"a single {noun}") for label in single]

    # ---- what each pipeline provides ------------------------------------------------------------

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
