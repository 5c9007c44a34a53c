"""emkit: latent-variable models fitted by the EM algorithm, with compiled kernels.

The building blocks:

- :func:`mclust` -- mclust's model-based clustering (14 covariance models,
  hierarchical starts, BIC/ICL), with :func:`mclust_bic` and :func:`mclust_icl`;
- :func:`tobit` -- censored (Tobit), interval-censored and truncated regression
  with patsy formulas and standard errors, as R's ``AER::tobit``;
- :func:`flexmix` -- finite mixtures of Gaussian, Poisson and binomial
  regressions (concomitant models, grouped data), as R's ``flexmix``, with
  :func:`stepflexmix` over k;
- :class:`GaussianMixture` -- a scikit-learn-compatible Gaussian mixture;
- :class:`GaussianHMM`, :class:`PoissonHMM`, :class:`CategoricalHMM`,
  :class:`GMMHMM` -- hidden Markov models with hmmlearn's interface, and
  :func:`markov_switching` -- Hamilton's regime-switching regression;
- :mod:`emkit.engine` -- the EM loop every model shares;
- :mod:`emkit.datasets` -- bundled data sets.
"""
from . import datasets, engine
from ._gaussian import max_threads
from .engine import ConvergenceWarning, DegenerateFitError, LikelihoodDecreaseWarning
from .hmm_discrete import CategoricalHMM, PoissonHMM
from .hmm_gaussian import GMMHMM, GaussianHMM
from .markov_switching import markov_switching
from .mclust_fit import mclust, mclust_bic, mclust_icl
from .mixture import GaussianMixture
from .regmix_api import flexmix, stepflexmix
from .tobit_fit import tobit

__version__ = "0.1.0"
__all__ = [
    "CategoricalHMM",
    "GMMHMM",
    "GaussianHMM",
    "PoissonHMM",
    "ConvergenceWarning",
    "DegenerateFitError",
    "GaussianMixture",
    "LikelihoodDecreaseWarning",
    "datasets",
    "engine",
    "flexmix",
    "markov_switching",
    "max_threads",
    "mclust",
    "mclust_bic",
    "mclust_icl",
    "stepflexmix",
    "tobit",
]
