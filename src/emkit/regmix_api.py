"""flexmix() and stepflexmix(): finite mixtures of regressions from a formula."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import patsy
from tqdm.auto import tqdm

from . import engine
from ._validation import check_int, check_number
from .regmix_design import build_design
from .regmix_fit import RegmixEM, fit_components, order_components, reorder
from .regmix_results import FlexmixResults, StepFlexmixResults

__all__ = ["flexmix", "stepflexmix"]


def _fit_one(design, formula, K, *, concomitant, n_init, rng, tol, max_iter, accelerate,
             minprior, n_threads, progress):
    model = RegmixEM(design, K, n_threads)
    rules = engine.StoppingRules(rtol=tol, max_iter=max_iter)
    best, records = fit_components(model, n_init, rng, rules, accelerate, progress)
    if best is None:
        reasons = "; ".join(sorted({r.error for r in records}))
        raise engine.DegenerateFitError(f"all {n_init} starts with k = {K} degenerated: "
                                        f"{reasons}")
    params = reorder(best.params, order_components(model, best.params))
    post, unit_post, loglik = model.posteriors(params)
    return FlexmixResults(model, params, best, records, formula, concomitant, minprior,
                          post, unit_post, loglik)


def _check_k(k, n_units: int) -> int:
    K = check_int(k, "k", 1)
    if K > n_units:
        raise ValueError(f"k = {K} components cannot be fitted to {n_units} rows (or groups)")
    return K


def _warn_about(res: FlexmixResults) -> None:
    if not res.converged:
        warnings.warn(f"EM did not converge in {res.n_iter} iterations (k = {res.k}); raise "
                      "max_iter or loosen tol", engine.ConvergenceWarning, stacklevel=3)
    if res.small_components:
        warnings.warn(
            f"component(s) {res.small_components} of k = {res.k} have prior below minprior = "
            f"{res.minprior} ({', '.join(f'{res.prior.iloc[j - 1]:.3g}' for j in res.small_components)}); "
            "flexmix would drop them, emkit keeps all k (see small_components): consider "
            "fewer components", UserWarning, stacklevel=3)


def _common(formula, data, family, concomitant, groups, weights, offset, n_init, tol,
            max_iter, minprior, missing, n_threads, eval_env):
    design = build_design(formula, data, family=family, weights=weights, offset=offset,
                          groups=groups, concomitant=concomitant, missing=missing,
                          eval_env=eval_env)
    check_int(n_init, "n_init", 1)
    check_number(tol, "tol", 0.0)
    check_int(max_iter, "max_iter", 1)
    check_number(minprior, "minprior", 0.0)
    check_int(n_threads, "n_threads", 0)
    return design


def flexmix(formula: str, data: pd.DataFrame, k: int, *, family: str = "gaussian",
            concomitant: str | None = None, groups=None, weights=None, offset=None,
            n_init: int = 10, random_state=None, tol: float = 1e-12, max_iter: int = 1000,
            accelerate: bool = True, minprior: float = 0.05, missing: str = "drop",
            n_threads: int = 0, verbose: bool = False) -> FlexmixResults:
    """Fit a finite mixture of k regressions by EM, as R's ``flexmix``.

    Parameters
    ----------
    formula : str
        A patsy formula, ``"y ~ x + I(x**2)"``.  For the binomial family the
        response is 0/1, or two count columns ``"successes + failures ~ x"``.
    data : DataFrame
        Rows with missing values in any variable used are dropped (and
        counted in the summary), or refused with ``missing="raise"``.
    k : int
        Number of components.
    family : {"gaussian", "poisson", "binomial"}
        Identity, log and logit links.
    concomitant : str, optional
        A one-sided formula ``"~ z"``: the mixing proportions follow a
        multinomial logit in z (flexmix's ``FLXPmultinom``).
    groups : column name or array, optional
        Rows with the same label belong to the same component (flexmix's
        ``y ~ x | id``); weights and concomitant variables must be constant
        within a group.
    weights : column name or array, optional
        Case (frequency) weights; ``nobs`` and BIC then use their sum.
    offset : column name or array, optional
        Added to every component's linear predictor (e.g. log exposure).
    n_init : int
        Starts: the first from k-means on the standardised response and
        covariates, the others from random partitions (as flexmix).  The
        start with the highest log-likelihood is kept.
    random_state : None, int or Generator
        Makes the starts, and so the result, reproducible.
    tol : float
        Stop when the relative change of the log-likelihood,
        ``|l_t - l_(t-1)| / (1 + |l_t|)``, falls to ``tol``.
    max_iter : int
        M-steps per start at most.
    accelerate : bool
        SQUAREM acceleration (monotone); False runs plain EM.
    minprior : float
        Components whose prior ends below this are reported (warning and
        ``small_components``), never dropped.
    n_threads : int
        OpenMP threads (0: all).  Results do not depend on it.
    verbose : bool
        Show a progress bar over the starts.

    Returns
    -------
    FlexmixResults

    Notes
    -----
    The Gaussian sigma is the maximum-likelihood estimate; flexmix uses a
    degrees-of-freedom corrected sigma in its M-step, which makes its EM stop
    slightly below the maximum of the likelihood (e.g. -642.5452 against
    -642.5320 on NPreg).  Standard errors come from the observed information
    at the maximum (flexmix needs ``refit()`` for them).
    """
    design = _common(formula, data, family, concomitant, groups, weights, offset, n_init, tol,
                     max_iter, minprior, missing, n_threads, patsy.EvalEnvironment.capture(1))
    K = _check_k(k, design.n_units)
    rng = engine.check_random_state(random_state)
    with tqdm(total=n_init, desc=f"flexmix k={K}", disable=not verbose) as bar:
        res = _fit_one(design, formula, K, concomitant=concomitant, n_init=n_init, rng=rng,
                       tol=tol, max_iter=max_iter, accelerate=accelerate, minprior=minprior,
                       n_threads=n_threads, progress=bar)
    _warn_about(res)
    return res


def stepflexmix(formula: str, data: pd.DataFrame, k=range(1, 5), *, family: str = "gaussian",
                concomitant: str | None = None, groups=None, weights=None, offset=None,
                n_init: int = 10, random_state=None, tol: float = 1e-12, max_iter: int = 1000,
                accelerate: bool = True, minprior: float = 0.05, missing: str = "drop",
                n_threads: int = 0, verbose: bool = True) -> StepFlexmixResults:
    """Fit :func:`flexmix` for each k and tabulate loglik, df, AIC, BIC and ICL
    (R's ``stepFlexmix``).  A k whose starts all degenerate gets NaN criteria
    and a reason instead of an error.  Arguments as for :func:`flexmix`;
    ``k`` is an iterable of component counts; ``verbose`` shows a progress bar.

    Returns
    -------
    StepFlexmixResults: ``print()`` it for the table; ``.best("bic")`` is
    the chosen model and ``.models[k]`` every fit.
    """
    design = _common(formula, data, family, concomitant, groups, weights, offset, n_init, tol,
                     max_iter, minprior, missing, n_threads, patsy.EvalEnvironment.capture(1))
    ks = [_check_k(K, design.n_units) for K in (k if np.iterable(k) else [k])]
    if not ks:
        raise ValueError("k is empty")
    rng = engine.check_random_state(random_state)
    rows, models = [], {}
    with tqdm(total=n_init * len(ks), desc="stepflexmix", disable=not verbose) as bar:
        for K in ks:
            try:
                res = _fit_one(design, formula, K, concomitant=concomitant, n_init=n_init,
                               rng=rng, tol=tol, max_iter=max_iter, accelerate=accelerate,
                               minprior=minprior, n_threads=n_threads, progress=bar)
            except engine.DegenerateFitError as err:
                rows.append(dict(k=K, loglik=np.nan, df=np.nan, AIC=np.nan, BIC=np.nan,
                                 ICL=np.nan, iter=0, converged=False, failed_starts=n_init,
                                 reason=str(err)))
                continue
            _warn_about(res)
            models[K] = res
            rows.append(dict(k=K, loglik=res.loglik, df=res.df, AIC=res.aic, BIC=res.bic,
                             ICL=res.icl, iter=res.n_iter, converged=res.converged,
                             failed_starts=sum(r.error is not None for r in res.starts),
                             reason=None))
    return StepFlexmixResults(pd.DataFrame(rows), models)
