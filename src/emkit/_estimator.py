"""scikit-learn's estimator protocol (get_params / set_params / repr) for
emkit's estimator classes, without depending on scikit-learn."""
from __future__ import annotations

import inspect

import numpy as np


class EstimatorParams:
    """Constructor arguments as the estimator's parameters."""

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep=True):
        """Constructor arguments as a dict (scikit-learn's protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments (scikit-learn's protocol)."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters are {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {p.name: p.default for p in
                    inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for k, v in self.get_params().items():
            d = defaults[k]
            same = v is d or (np.isscalar(v) and np.isscalar(d) and type(v) is type(d)
                              and v == d)
            if not same:
                changed.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` (a ValueError and an AttributeError,
    as scikit-learn's)."""
