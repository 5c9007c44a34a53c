# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Finite mixtures of regressions (Gaussian, Poisson, binomial): one pass over row blocks.

Row i has a design row x_i, a response y_i (successes for the binomial, with
m_i trials), an offset o_i, a case weight w_i and, for component k, the linear
predictor eta_ik = x_i' beta_k + o_i and a log-density log f_ik:

- Gaussian:  -(y - eta)^2 / (2 sigma_k^2) - log sigma_k - log sqrt(2 pi)
- Poisson:   y eta - exp(eta) + c_i                       (c_i = -log y!)
- binomial:  y eta - m log(1 + exp(eta)) + c_i           (c_i = log choose(m, y))

Per component a pass accumulates, with c_ik = w_i tau_ik (tau the posterior):

    N_k = sum c_ik                 Q_k = sum c_ik log f_ik
    S_k = sum c_ik r_ik^2          (Gaussian residuals y - eta; 0 otherwise)
    g_k = sum c_ik s_ik x_i        H_k = sum c_ik v_ik x_i x_i'

with the score s = y - mean and the variance weight v (1 for the Gaussian,
mu for the Poisson, m p (1 - p) for the binomial): the weighted least
squares, or the Newton (= IRLS, canonical links) step of each component's
M-step.  Modes:

- FUSED: tau from log-sum-exp of log prior + log f (the E-step); the
  posteriors are written to ``post`` and the statistics taken with them.
  Returns the log-likelihood sum w_i log sum_k exp(log prior_ik + log f_ik).
- GIVEN: tau read from ``post`` (an M-step's inner Newton steps, grouped
  data); returns sum_k Q_k.
- DENSITY: log f_ik written to ``post``; nothing accumulated (grouped data).

The design is column-major, so every loop runs over a block's rows and
vectorises: the linear predictors, the densities, log-sum-exp
and each statistic as a dot product over the block (_blockmath.pxd, shared
with the Gaussian mixture kernel).  Rows are split into fixed chunks that depend on the problem size only, each
accumulating its own sums, which are added in chunk order: the result is
bit-identical for any number of threads (BLAS single-threaded, see
emkit._threads).
"""
import numpy as np
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, calloc, free
from libc.math cimport log, log1p, exp

from _blockmath cimport dot8, responsibilities, sum8
from _omp cimport emkit_max_threads, emkit_thread_num

cdef extern from "weighted_cross.h":
    void emkit_weighted_cross(const double* xT, long ld, const double* c, const double* s,
                              long nb, long p, double* H, double* g) noexcept nogil

cdef enum:
    GAUSSIAN = 0
    POISSON = 1
    BINOMIAL = 2
    FUSED = 0
    GIVEN = 1
    DENSITY = 2
    BLOCK = 256
    MAX_CHUNKS = 64
    SERIAL_ROWS = 4096       # below this, one thread: waking threads costs more

cdef double LOG_SQRT_2PI = 0.91893853320467274178

FAMILIES = {"gaussian": GAUSSIAN, "poisson": POISSON, "binomial": BINOMIAL}
MODES = {"fused": FUSED, "given": GIVEN, "density": DENSITY}


def n_outputs(Py_ssize_t K, Py_ssize_t p):
    """Length of ``out``: N, Q, S (K each), then per component g (p) and H (p x p)."""
    return 3 * K + K * (p + p * p)


cdef inline double _log1pexp(double t) noexcept nogil:
    if t > 0.0:
        return t + log1p(exp(-t))
    return log1p(exp(t))


def regmix_pass(const double[::1, :] X, const double[::1] y, const double[::1] trials,
                const double[::1] yconst, const double[::1] offset, const double[::1] w,
                const double[:, ::1] logprior, const double[:, ::1] beta,
                const double[::1] sigma, int family, int mode, double[:, ::1] post,
                double[::1] out, int n_threads=0):
    """One pass over the rows; see the module docstring.

    Parameters
    ----------
    X : (n, p) design, column-major (Fortran order): a block's columns are read in place.  y : (n,) response (successes for the binomial).
    trials : (n,) binomial trials, or None.  yconst : (n,) the log-density's
        data-only term (Poisson, binomial), or None.  offset : (n,) or None.
    w : (n,) case weights.
    logprior : (n, K) or (1, K) log mixing proportions (read by FUSED only).
    beta : (K, p) coefficients.  sigma : (K,) Gaussian scales (else unused).
    family : 0 Gaussian, 1 Poisson, 2 binomial.  mode : 0 FUSED, 1 GIVEN, 2 DENSITY.
    post : (n, K) posteriors (written by FUSED, read by GIVEN) or log f (DENSITY);
        FUSED may be given None when they are not wanted.
    out : (n_outputs(K, p),) statistics, overwritten (not by DENSITY):
        N, Q, S (K each), then per component g_k (p) and H_k (p x p, row-major).
    n_threads : OpenMP threads; 0 for the OpenMP default.

    Returns the log-likelihood (FUSED), sum_k Q_k (GIVEN) or 0 (DENSITY).
    """
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1], K = beta.shape[0]
    if n == 0 or p == 0 or K == 0:
        raise ValueError("regmix_pass needs at least one row, one column and one component")
    if beta.shape[1] != p or y.shape[0] != n or w.shape[0] != n or sigma.shape[0] != K:
        raise ValueError("y and w need one entry per row, beta (K, p) and sigma (K,)")
    if post is None and mode != FUSED:
        raise ValueError("post is needed except by FUSED")
    if post is not None and (post.shape[0] != n or post.shape[1] != K):
        raise ValueError("post must be (n, K)")
    if family not in (GAUSSIAN, POISSON, BINOMIAL) or mode not in (FUSED, GIVEN, DENSITY):
        raise ValueError("unknown family or mode")
    if family == BINOMIAL and (trials is None or trials.shape[0] != n):
        raise ValueError("the binomial needs trials, one per row")
    if family != GAUSSIAN and (yconst is None or yconst.shape[0] != n):
        raise ValueError("the Poisson and binomial need yconst, one per row")
    if offset is not None and offset.shape[0] != n:
        raise ValueError("offset needs one entry per row")
    if mode == FUSED and (logprior.shape[1] != K or logprior.shape[0] not in (1, n)):
        raise ValueError("logprior must be (1, K) or (n, K)")
    cdef Py_ssize_t per_comp = p + p * p
    cdef Py_ssize_t nout = n_outputs(K, p)
    if mode != DENSITY and out.shape[0] != nout:
        raise ValueError(f"out needs {nout} entries")
    cdef Py_ssize_t k
    for k in range(K):
        if family == GAUSSIAN and not sigma[k] > 0:
            raise ValueError("sigma must be positive")

    cdef Py_ssize_t nch = max(1, min((n + BLOCK - 1) // BLOCK, <Py_ssize_t> MAX_CHUNKS))
    cdef Py_ssize_t rows_per_chunk = (n + nch - 1) // nch
    cdef Py_ssize_t stride = 1 + nout
    cdef double* acc = <double*> calloc(nch * stride, sizeof(double))
    if acc == NULL:
        raise MemoryError("cannot allocate the accumulators")
    cdef int nthr = n_threads if n_threads > 0 else emkit_max_threads()
    if n < SERIAL_ROWS:
        nthr = 1
    nthr = <int> min(<Py_ssize_t> nthr, nch)
    # per thread, each (something x BLOCK): linear
    # predictors then joint log-densities then posteriors (K), log-densities
    # (K), scores (K), variance weights (K), and four row vectors
    cdef Py_ssize_t per_thread = (4 * K + 4) * BLOCK
    cdef double* buffers = <double*> malloc(nthr * per_thread * sizeof(double))
    if buffers == NULL:
        free(acc)
        raise MemoryError("cannot allocate the block buffers")
    cdef double* inv_var = <double*> malloc(2 * K * sizeof(double))
    cdef double* lnorm = inv_var + K
    for k in range(K):
        if family == GAUSSIAN:
            inv_var[k] = 1.0 / (sigma[k] * sigma[k])
            lnorm[k] = -log(sigma[k]) - LOG_SQRT_2PI
        else:
            inv_var[k] = 1.0
            lnorm[k] = 0.0

    cdef const double* trials_p = &trials[0] if trials is not None else NULL
    cdef const double* yconst_p = &yconst[0] if yconst is not None else NULL
    cdef const double* offset_p = &offset[0] if offset is not None else NULL
    cdef Py_ssize_t lp_stride = K if logprior.shape[0] == n else 0
    cdef const double* lp = &logprior[0, 0]
    cdef const double* B = &beta[0, 0]
    cdef double* post_p = &post[0, 0] if post is not None else NULL
    cdef Py_ssize_t c, r0, r1, b0, nb, i, j, a, b
    cdef double *mine
    cdef const double *xT
    cdef double *L
    cdef double *LF
    cdef double *SC
    cdef double *VW
    cdef double *lse
    cdef double *sm
    cdef double *cw
    cdef double *cs
    cdef double *lk
    cdef double *fk
    cdef double *sk
    cdef double *vk
    cdef double *stats
    cdef double bkj, eta, yi, mi, mu, pr, lnk, ivk
    cdef bint fused = mode == FUSED, given = mode == GIVEN, dens = mode == DENSITY
    with nogil, parallel(num_threads=nthr):
        L = buffers + emkit_thread_num() * per_thread
        LF = L + K * BLOCK
        SC = LF + K * BLOCK
        VW = SC + K * BLOCK
        lse = VW + K * BLOCK
        sm = lse + BLOCK
        cw = sm + BLOCK
        cs = cw + BLOCK
        for c in prange(nch, schedule='dynamic'):
            mine = acc + c * stride
            r0 = c * rows_per_chunk
            r1 = min(n, r0 + rows_per_chunk)
            b0 = r0
            while b0 < r1:
                nb = min(<Py_ssize_t> BLOCK, r1 - b0)
                xT = &X[b0, 0]   # column j of the block starts at xT + j * n
                # linear predictors, then each family's log-density, score and weight
                for k in range(K):
                    lk = L + k * nb
                    for i in range(nb):
                        lk[i] = 0.0 if offset_p == NULL else offset_p[b0 + i]
                    for j in range(p):
                        bkj = B[k * p + j]
                        for i in range(nb):
                            lk[i] += bkj * xT[j * n + i]
                    fk = LF + k * nb
                    sk = SC + k * nb
                    vk = VW + k * nb
                    if family == GAUSSIAN:
                        lnk = lnorm[k]
                        ivk = inv_var[k]
                        for i in range(nb):
                            sk[i] = y[b0 + i] - lk[i]
                            fk[i] = lnk - 0.5 * ivk * sk[i] * sk[i]
                    elif family == POISSON:
                        for i in range(nb):
                            eta = lk[i]
                            yi = y[b0 + i]
                            mu = exp(eta)
                            fk[i] = yi * eta - mu + yconst_p[b0 + i]
                            sk[i] = yi - mu
                            vk[i] = mu
                    else:
                        for i in range(nb):
                            eta = lk[i]
                            yi = y[b0 + i]
                            mi = trials_p[b0 + i]
                            fk[i] = yi * eta - mi * _log1pexp(eta) + yconst_p[b0 + i]
                            pr = 1.0 / (1.0 + exp(-eta))
                            sk[i] = yi - mi * pr
                            vk[i] = mi * pr * (1.0 - pr)
                if dens:
                    for i in range(nb):
                        for k in range(K):
                            post_p[(b0 + i) * K + k] = LF[k * nb + i]
                    b0 = b0 + nb
                    continue
                if fused:
                    for k in range(K):
                        lk = L + k * nb
                        fk = LF + k * nb
                        for i in range(nb):
                            lk[i] = fk[i] + lp[(b0 + i) * lp_stride + k]
                    mine[0] += responsibilities(L, lse, sm, &w[b0], nb, K)
                    for i in range(nb if post_p != NULL else 0):
                        for k in range(K):
                            post_p[(b0 + i) * K + k] = L[k * nb + i]
                else:
                    for i in range(nb):
                        for k in range(K):
                            L[k * nb + i] = post_p[(b0 + i) * K + k]
                for k in range(K):
                    lk = L + k * nb
                    fk = LF + k * nb
                    sk = SC + k * nb
                    vk = VW + k * nb
                    for i in range(nb):
                        cw[i] = w[b0 + i] * lk[i]
                        cs[i] = cw[i] * sk[i]
                    mine[1 + k] += sum8(cw, nb)
                    mine[1 + K + k] += dot8(cw, fk, nb)
                    if family == GAUSSIAN:
                        mine[1 + 2 * K + k] += dot8(cs, sk, nb)
                    else:
                        for i in range(nb):
                            cw[i] = cw[i] * vk[i]
                    stats = mine + 1 + 3 * K + k * per_comp
                    emkit_weighted_cross(xT, n, cw, cs, nb, p, stats + p, stats)
                b0 = b0 + nb
    free(buffers)
    free(inv_var)

    cdef double total = 0.0
    if not dens:
        for j in range(nout):
            out[j] = 0.0
        for c in range(nch):
            mine = acc + c * stride
            total += mine[0]
            for j in range(nout):
                out[j] += mine[1 + j]
        for k in range(K):
            stats = &out[3 * K + k * per_comp] + p
            for a in range(p):
                for b in range(a + 1, p):
                    stats[b * p + a] = stats[a * p + b]
        if given:
            total = 0.0
            for k in range(K):
                total += out[K + k]
    free(acc)
    return total

