"""Constraints on pipeline parameters, in scikit-learn's ``_parameter_constraints`` vocabulary.

scikit-learn's own constraints are used as they are, with the narrowings a pipeline needs:

* :class:`Int` and :class:`Real` refuse ``True``/``False``: ``bool`` is an ``int`` to Python, so
  scikit-learn's ``Interval(Integral, 1, None)`` takes ``epochs=True`` as one epoch;
* :class:`IntOptions` refuses them for the same reason (``True in {1, 3}`` is true);
* :data:`DEVICE` takes ``"cuda:N"`` besides a fixed set of names;
* :class:`Choice` lists its strings in a fixed order, so that an error message reads the same every run.

Every failure becomes a :class:`~e2elab.errors.ParameterError` whose one-line message names the
pipeline, the parameter, the bad value and what is allowed.
"""

from __future__ import annotations

import re
from numbers import Integral
from numbers import Real as RealNumber

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError, Interval, Options, StrOptions
from sklearn.utils._param_validation import validate_parameter_constraints as _sklearn_validate

from .errors import ParameterError

__all__ = ["DEVICE", "Choice", "Int", "IntOptions", "Real", "check_device_available", "invalid", "validate_constraints"]


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


class Int(Interval):
    """An int (not a bool) in [left, right]; a bound of None is unbounded."""

    def __init__(self, left: int | None = None, right: int | None = None):
        # scikit-learn wants an infinite end of an integer interval open.
        closed = {(True, True): "both", (True, False): "left", (False, True): "right"}.get(
            (left is not None, right is not None), "neither")
        super().__init__(Integral, left, right, closed=closed)

    def is_satisfied_by(self, val) -> bool:
        return not _is_bool(val) and super().is_satisfied_by(val)

    def __str__(self) -> str:
        if self.left is None:
            return "an int" if self.right is None else f"an int <= {self.right}"
        return f"an int >= {self.left}" if self.right is None else f"an int in [{self.left}, {self.right}]"


class Real(Interval):
    """A finite real number (not a bool) in the interval; ints are accepted (``lr=1`` is fine)."""

    def __init__(self, left: float | None = None, right: float | None = None, closed: str = "both"):
        super().__init__(RealNumber, left, right, closed=closed)

    def is_satisfied_by(self, val) -> bool:
        return not _is_bool(val) and super().is_satisfied_by(val) and bool(np.isfinite(val))

    def __str__(self) -> str:
        low = "[" if self.closed in ("left", "both") else "("
        high = "]" if self.closed in ("right", "both") else ")"
        if self.left is None and self.right is None:
            return "a finite number"
        if self.right is None:
            return f"a number {'>=' if low == '[' else '>'} {self.left:g}"
        if self.left is None:
            return f"a number {'<=' if high == ']' else '<'} {self.right:g}"
        return f"a number in {low}{self.left:g}, {self.right:g}{high}"


class IntOptions(Options):
    """One of a few ints, bools excluded."""

    def __init__(self, options: set[int]):
        super().__init__(Integral, options)

    def is_satisfied_by(self, val) -> bool:
        return not _is_bool(val) and super().is_satisfied_by(val)

    def __str__(self) -> str:
        return f"one of {', '.join(map(str, sorted(self.options)))}"


class Choice(StrOptions):
    """One of a few strings, listed in the order given (scikit-learn lists a set in hash order)."""

    def __init__(self, *options: str):
        super().__init__(set(options))
        self.ordered = options

    def __str__(self) -> str:
        return f"one of {', '.join(map(repr, self.ordered))}"


class _DeviceName(StrOptions):
    """A torch device name: one of the fixed names, or "cuda:N"."""

    def __init__(self):
        super().__init__({"auto", "cpu", "cuda", "mps"})

    def is_satisfied_by(self, val) -> bool:
        return super().is_satisfied_by(val) or (isinstance(val, str) and re.fullmatch(r"cuda:\d+", val) is not None)

    def __str__(self) -> str:
        return "one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'"


DEVICE = _DeviceName()


def validate_constraints(constraints: dict, params: dict, caller: str) -> None:
    """scikit-learn's check of `params` against `constraints`, failing with a ParameterError."""
    try:
        _sklearn_validate(constraints, params, caller_name=caller)
    except InvalidParameterError as err:
        raise ParameterError(str(err)) from None


def invalid(caller: str, name: str, value, allowed: str) -> ParameterError:
    """A ParameterError worded as scikit-learn words its own, for checks its constraints cannot express."""
    return ParameterError(f"The {name!r} parameter of {caller} must be {allowed}. Got {value!r} instead.")


def check_device_available(caller: str, device: str) -> None:
    """Refuse a device this machine does not have, before any work, rather than fail mid-run."""
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ParameterError(f"The 'device' parameter of {caller} is {device!r}, but CUDA is not available on "
                                 "this machine; use 'auto' or 'cpu'.")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ParameterError(f"The 'device' parameter of {caller} is {device!r}, but this machine has only "
                                 f"{torch.cuda.device_count()} CUDA device(s).")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ParameterError(f"The 'device' parameter of {caller} is 'mps', but MPS is not available on this "
                             "machine; use 'auto' or 'cpu'.")
