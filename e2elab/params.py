"""Constraints on pipeline parameters, in scikit-learn's ``_parameter_constraints`` vocabulary.

scikit-learn's own constraints are used as they are, with the narrowings a pipeline needs:

* :class:`Int` and :class:`Real` refuse ``True``/``False``: ``bool`` is an ``int`` to Python, so
  scikit-learn's ``Interval(Integral, 1, None)`` takes ``epochs=True`` as one epoch;
* :class:`IntOptions` refuses them for the same reason (``True in {1, 3}`` is true);
* :data:`DEVICE` takes ``"cuda:N"`` besides a fixed set of names;
* :class:`Choice` lists its strings in a fixed order, so that an error message reads the same every run.

Every failure becomes a :class:`~e2elab.errors.ParameterError` whose one-line message names the
pipeline, the parameter, the bad value and what is allowed.

Related settings are grouped into one immutable value, a :class:`Settings` (``init_from=FineTuning(
"model", freeze_epochs=2)``), so that a pipeline keeps to the parameters users need. Each field of
such a value keeps a *flat name* (``freeze_epochs``): :func:`fold_flat_params` folds flat names
into the parameter that holds them, which lets ``--param freeze_epochs=2`` and the parameters of
models saved before the grouping keep working, and :func:`flat_params` spells a pipeline's
parameters out in flat names again.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from numbers import Integral
from numbers import Real as RealNumber
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError, Interval, Options, StrOptions
from sklearn.utils._param_validation import validate_parameter_constraints as _sklearn_validate

from .errors import ParameterError

__all__ = ["DEVICE", "Choice", "Int", "IntOptions", "Real", "Settings", "check_device_available", "flat_params",
           "fold_flat_params", "invalid", "params_from_saved", "settings_parameters", "validate_constraints"]


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


class Settings:
    """Base of a frozen dataclass that groups related parameters of a pipeline into one value.

    The pipeline parameter that holds one lists the class in its constraints and also takes a
    plain value, which stands for the field `PLAIN_FIELD` (``init_from="m"`` is
    ``FineTuning(source="m")``). Every field has a flat name, its own unless `FLAT_NAMES` gives
    another. A subclass declares its fields' constraints in `_constraints`, checked on creation.
    """

    PLAIN_FIELD: ClassVar[str]
    FLAT_NAMES: ClassVar[dict[str, str]] = {}
    _constraints: ClassVar[dict]

    def __post_init__(self):
        validate_constraints(self._constraints, self.to_dict(), type(self).__name__)

    @classmethod
    def of(cls, value):
        """The settings a parameter's value stands for: itself, or its plain value's (None stays None)."""
        return value if value is None or isinstance(value, cls) else cls(**{cls.PLAIN_FIELD: value})

    def plain(self):
        """The plain value that stands for these settings, or the settings themselves when another
        field differs from its default (how folded flat names are stored: ``validation=0.2``)."""
        defaults = _field_defaults(type(self))
        others = {name: value for name, value in self.to_dict().items() if name != self.PLAIN_FIELD}
        return getattr(self, self.PLAIN_FIELD) if all(defaults[n] == v for n, v in others.items()) else self

    @classmethod
    def flat_names(cls) -> dict[str, str]:
        """Flat name -> field, for every field."""
        return {cls.FLAT_NAMES.get(f.name, f.name): f.name for f in dataclasses.fields(cls)}

    def to_dict(self) -> dict:
        """The fields as plain values (how e2elab.json stores the settings)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: dict):
        return cls(**fields)


def _field_defaults(settings: type[Settings]) -> dict:
    return {f.name: None if f.default is dataclasses.MISSING else f.default for f in dataclasses.fields(settings)}


def settings_parameters(estimator_class) -> dict[str, type[Settings]]:
    """The parameters of `estimator_class` that hold a Settings, and its class."""
    constraints_of = getattr(estimator_class, "_parameter_constraints", {})
    return {name: kind for name, constraints in constraints_of.items() for kind in constraints
            if isinstance(kind, type) and issubclass(kind, Settings)}


def fold_flat_params(estimator_class, params: dict) -> dict:
    """`params` with every flat name of a settings field folded into the parameter holding it.

    ``{"init_from": "m", "freeze_epochs": 2}`` -> ``{"init_from": FineTuning("m", freeze_epochs=2)}``;
    ``{"validation_fraction": 0.2}`` -> ``{"validation": 0.2}`` (the plainest form that says the
    same). A flat value for a parameter that is None is refused unless it is the field's default:
    models saved before the grouping hold every flat name, at its default where unused.
    """
    params = dict(params)
    signature = inspect.signature(estimator_class.__init__).parameters
    for name, kind in settings_parameters(estimator_class).items():
        flat = {field: params.pop(flat_name) for flat_name, field in kind.flat_names().items()
                if flat_name in params and flat_name != name}
        if not flat:
            continue
        plain_name = next(n for n, field in kind.flat_names().items() if field == kind.PLAIN_FIELD)
        if kind.PLAIN_FIELD in flat and name in params:
            raise ParameterError(f"{name}={params[name]!r} and {plain_name}={flat[kind.PLAIN_FIELD]!r} say the same "
                                 "thing; give one of them")
        base = kind.of(params.get(name, signature[name].default))
        if base is None:
            defaults = _field_defaults(kind)
            changed = [f"{flat_name}={flat[field]!r}" for flat_name, field in kind.flat_names().items()
                       if field in flat and flat[field] != defaults[field]]
            if changed:
                raise ParameterError(f"{', '.join(changed)} {'is a setting' if len(changed) == 1 else 'are settings'} "
                                     f"of {name} ({kind.__name__}), which is None; set {name} too")
            continue
        params[name] = dataclasses.replace(base, **flat).plain()
    return params


def flat_params(estimator) -> dict:
    """`estimator`'s parameters with every settings value spelled out in flat names (a None
    setting as its fields' defaults): the inverse of :func:`fold_flat_params`."""
    params = estimator.get_params(deep=False)
    for name, kind in settings_parameters(type(estimator)).items():
        value = kind.of(params.pop(name))
        fields = _field_defaults(kind) if value is None else value.to_dict()
        params.update({flat_name: fields[field] for flat_name, field in kind.flat_names().items()})
    return params


def params_from_saved(estimator_class, params: dict) -> dict:
    """Constructor arguments from the parameters an e2elab.json holds: settings stored as dicts
    of their fields become objects again, and flat names of older files are folded."""
    kinds = settings_parameters(estimator_class)
    params = {name: kinds[name].from_dict(value) if name in kinds and isinstance(value, dict) else value
              for name, value in params.items()}
    return fold_flat_params(estimator_class, params)
