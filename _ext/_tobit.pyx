# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Censored and truncated normal regression: one pass over row blocks.

Each row i has a linear predictor eta_i = x_i' beta, a scale sigma, an
observation interval [lo_i, hi_i] (lo == hi: observed exactly; an infinite end:
censored on one side) and a truncation window (tlo_i, thi_i) outside which
rows were never sampled.  One pass gives, as asked:

- the observed-data log-likelihood;
- EM's completed statistics about the current fit: sum w n_i, sum w r1_i x_i
  and sum w r2_i, where r1, r2 are E[y* - eta] and E[(y* - eta)^2] over the row
  and, with truncation, over the expected draws that were never sampled
  (n_i = 1/P_i of them in all; Dempster, Laird & Rubin 1977, sec. 4.6);
- the weighted Gram matrix sum w n_i x_i x_i' (EM with truncation, or once
  without it);
- the gradient and Hessian of the log-likelihood in (beta, log sigma), from
  the same conditional moments (Louis' identity, row by row).

Far tails: one-sided intervals use the inverse Mills ratio through erfcx,
and beyond 5 standard deviations its continued fraction, which gives
lambda - t and the conditional variance without cancellation; log Phi comes
from log_ndtr.  Neither 1 - Phi nor a ratio of tiny probabilities is formed.

Rows are split into fixed chunks that depend on the problem size only, each
accumulating its own sums, which are added in chunk order: the result is
bit-identical for any number of threads (BLAS is kept single-threaded by the
caller, see emkit._threads).
"""
import numpy as np
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, calloc, free
from libc.math cimport log, log1p, exp, expm1, sqrt, isinf
from scipy.linalg.cython_blas cimport dgemv, dsyrk
from scipy.special.cython_special cimport erfcx, log_ndtr

from _omp cimport emkit_max_threads, emkit_thread_num

cdef enum:
    WANT_EM = 1        # completed statistics
    WANT_GRAM = 2      # sum w n_i x x'
    WANT_NEWTON = 4    # gradient and Hessian
    BLOCK = 256
    MAX_CHUNKS = 64
    CHUNK_BUDGET = 4194304   # doubles of per-chunk sums in all (32 MB)
    SERIAL_ROWS = 4096       # below this, one thread: waking threads costs more
    CF_TERMS = 32            # continued-fraction depth: full precision for t > 5

cdef double NARROW = 1e-5   # standardised width below which an interval is a near-point

cdef double LOG_SQRT_2PI = 0.91893853320467274178
cdef double SQRT_2_OVER_PI = 0.79788456080286535588
cdef double INV_SQRT2 = 0.70710678118654752440

cdef struct Terms:
    # for z ~ N(0, 1) restricted to [a, b]:
    double logZ    # log P(a <= z <= b)
    double m1      # E[z]
    double m2      # E[z^2]
    double delta   # 1 - Var(z), formed without cancellation in the tails
    double k12     # Cov(z, z^2) - 2 E[z]: sigma * d2 logZ / d eta d log sigma
    double k22     # Var(z^2) - 2 E[z^2]:  d2 logZ / d (log sigma)^2


cdef inline void _upper_bound(double b, Terms* T) noexcept nogil:
    """z <= b.  With t = -b and lam = phi(t) / Q(t), the inverse Mills ratio."""
    cdef double t = -b, lam, c, d, f, E
    cdef int k
    if t > 5.0:
        # lam = t + c, c = 1/(t + 2/(t + 3/(t + ...))), d = 2/(t + 3/(t + ...))
        f = 0.0
        for k in range(CF_TERMS, 1, -1):
            f = k / (t + f)
        d = f
        c = 1.0 / (t + d)
        lam = t + c
        T.logZ = -0.5 * t * t - LOG_SQRT_2PI - log(lam)
        T.delta = lam * c
    else:
        # Q(t) = erfcx(t / sqrt 2) exp(-t^2 / 2) / 2: one erfcx gives both
        E = erfcx(t * INV_SQRT2)
        lam = SQRT_2_OVER_PI / E
        if t > -5.0:
            T.logZ = log(0.5 * E) - 0.5 * t * t
        else:
            T.logZ = log1p(-0.5 * erfcx(-t * INV_SQRT2) * exp(-0.5 * t * t))
        c = lam - t
        T.delta = lam * c
    T.m1 = -lam
    T.m2 = 1.0 + t * lam
    T.k12 = lam + t * T.delta
    T.k22 = -t * T.k12


cdef inline void _interval(double a, double b, Terms* T) noexcept nogil:
    """a <= z <= b; either end may be infinite, a < b."""
    cdef bint flip
    cdef double la, lb, logZ, A, B, q1, q2, q3, m1, m2, m3, m4
    if isinf(a) and isinf(b):
        T.logZ = 0.0
        T.m1 = 0.0
        T.m2 = 1.0
        T.delta = 0.0
        T.k12 = 0.0
        T.k22 = 0.0
        return
    if isinf(a):
        _upper_bound(b, T)
        return
    if isinf(b):
        # z >= a is -z <= -a: even moments keep, odd ones change sign
        _upper_bound(-a, T)
        T.m1 = -T.m1
        T.k12 = -T.k12
        return
    if b - a < NARROW:
        # P = (b - a) phi(mid) (1 + O(w^2)): the moments of a near-point mass,
        # where the general formulas below would cancel to nothing
        _narrow(0.5 * (a + b), b - a, T)
        return
    # a finite interval: work on the side where Phi(b) is not close to 1
    flip = a > 0.0
    if flip:
        a, b = -b, -a
    la = log_ndtr(a)
    lb = log_ndtr(b)
    logZ = lb + log(-expm1(la - lb))
    A = exp(-0.5 * a * a - LOG_SQRT_2PI - logZ)
    B = exp(-0.5 * b * b - LOG_SQRT_2PI - logZ)
    # E[z^k] = (k-1) E[z^(k-2)] + (a^(k-1) phi(a) - b^(k-1) phi(b)) / Z; an
    # end whose density underflowed adds nothing (even if a^3 overflows)
    q1 = (a * A if A != 0.0 else 0.0) - (b * B if B != 0.0 else 0.0)
    q2 = (a * a * A if A != 0.0 else 0.0) - (b * b * B if B != 0.0 else 0.0)
    q3 = (a * a * a * A if A != 0.0 else 0.0) - (b * b * b * B if B != 0.0 else 0.0)
    m1 = A - B
    m2 = 1.0 + q1
    m3 = 2.0 * m1 + q2
    m4 = 3.0 * m2 + q3
    T.logZ = logZ
    T.m1 = -m1 if flip else m1
    T.m2 = m2
    T.delta = m1 * m1 - q1
    T.k12 = m3 - m1 * m2 - 2.0 * m1
    if flip:
        T.k12 = -T.k12
    T.k22 = m4 - m2 * m2 - 2.0 * m2


cdef inline void _narrow(double m, double w, Terms* T) noexcept nogil:
    """z in an interval of width w < NARROW around m: nearly uniform there,
    with mean m and variance v = w^2 / 12, to relative order w^2."""
    cdef double v = w * w / 12.0
    T.logZ = log(w) - 0.5 * m * m - LOG_SQRT_2PI
    T.m1 = m
    T.m2 = m * m + v
    T.delta = 1.0 - v
    T.k12 = 2.0 * m * v - 2.0 * m
    T.k22 = 4.0 * m * m * v - 2.0 * T.m2


def interval_moments(const double[::1] a, const double[::1] b):
    """For z ~ N(0, 1) restricted to [a_i, b_i] (a_i < b_i, either end may be
    infinite): a (6, n) array of log P, E z, E z^2, 1 - Var z,
    Cov(z, z^2) - 2 E z and Var(z^2) - 2 E z^2, row by row."""
    cdef Py_ssize_t n = a.shape[0], i
    if b.shape[0] != n:
        raise ValueError("a and b must have the same length")
    for i in range(n):
        if not a[i] < b[i]:
            raise ValueError(f"need a < b, got [{a[i]}, {b[i]}] at position {i}")
    out = np.empty((6, n))
    cdef double[:, ::1] o = out
    cdef Terms T
    with nogil:
        for i in range(n):
            _interval(a[i], b[i], &T)
            o[0, i] = T.logZ
            o[1, i] = T.m1
            o[2, i] = T.m2
            o[3, i] = T.delta
            o[4, i] = T.k12
            o[5, i] = T.k22
    return out


def tobit_pass(const double[:, ::1] X, const double[::1] lo, const double[::1] hi,
               const double[::1] tlo, const double[::1] thi, const double[::1] w,
               const double[::1] beta, double sigma, int want,
               double[::1] vec=None, double[:, ::1] mat=None, int n_threads=0):
    """One pass over the rows; returns the weighted log-likelihood.

    Parameters
    ----------
    X : (n, p) design; lo, hi : (n,) observation intervals (lo == hi: exact);
    tlo, thi : (n,) truncation windows, or None for none; w : (n,) weights;
    beta : (p,); sigma : the scale.
    want : bit mask.  1: EM statistics into vec[:p + 2] = (sum w r1 x,
        sum w r2, sum w n).  2: the Gram matrix sum w n x x' into mat[:p, :p].
        4: gradient into vec[:p + 1] and Hessian into mat (p + 1, p + 1), in
        (beta, log sigma).  4 cannot be combined with 1 or 2.  0: only the
        log-likelihood.
    n_threads : OpenMP threads; 0 for the OpenMP default.
    """
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1]
    if n == 0 or p == 0:
        raise ValueError("tobit_pass needs at least one row and one column")
    cdef bint trunc = tlo is not None
    cdef bint em = want & WANT_EM, gram = want & WANT_GRAM, newton = want & WANT_NEWTON
    if newton and (em or gram):
        raise ValueError("the Newton pass cannot be combined with EM statistics")
    if lo.shape[0] != n or hi.shape[0] != n or w.shape[0] != n or beta.shape[0] != p:
        raise ValueError("lo, hi and w need one entry per row and beta one per column")
    if trunc and (thi is None or tlo.shape[0] != n or thi.shape[0] != n):
        raise ValueError("tlo and thi need one entry per row")
    if not sigma > 0:
        raise ValueError("sigma must be positive")
    cdef Py_ssize_t q = p + 1 if newton else p
    cdef Py_ssize_t nvec = (p + 2) if em else (p + 1) if newton else 0
    cdef Py_ssize_t nmat = q * q if (gram or newton) else 0
    if nvec and (vec is None or vec.shape[0] < nvec):
        raise ValueError(f"vec needs {nvec} entries")
    if nmat and (mat is None or mat.shape[0] != q or mat.shape[1] != q):
        raise ValueError(f"mat must be ({q}, {q})")

    cdef Py_ssize_t stride = 1 + nvec + nmat
    cdef Py_ssize_t nch = max(1, min((n + BLOCK - 1) // BLOCK, <Py_ssize_t> MAX_CHUNKS,
                                     max(1, CHUNK_BUDGET // stride)))
    cdef Py_ssize_t rows_per_chunk = (n + nch - 1) // nch
    cdef double* acc = <double*> calloc(nch * stride, sizeof(double))
    if acc == NULL:
        raise MemoryError("cannot allocate the Tobit accumulators")
    cdef int nthr = n_threads if n_threads > 0 else emkit_max_threads()
    if n < SERIAL_ROWS:
        nthr = 1
    nthr = <int> min(<Py_ssize_t> nthr, nch)
    # per thread: coefficients a (row weights for the vector sums), g (the
    # Gram/Hessian row weights), h (Hessian beta-log sigma), e (eta) and a
    # scaled block
    cdef Py_ssize_t per_thread = 4 * BLOCK + BLOCK * p + 2 * (sizeof(Terms) // sizeof(double))
    cdef double* buffers = <double*> malloc(nthr * per_thread * sizeof(double))
    if buffers == NULL:
        free(acc)
        raise MemoryError("cannot allocate the Tobit block buffers")

    cdef const double* tlo_p = &tlo[0] if trunc else NULL
    cdef const double* thi_p = &thi[0] if trunc else NULL
    cdef double log_sigma = log(sigma)
    cdef Py_ssize_t c, r0, r1, b0, nb, i, j, k
    cdef double *mine
    cdef double *a
    cdef double *g
    cdef double *h
    cdef double *S
    cdef double *e
    cdef const double* xi
    cdef double eta, wi, za, zb, ll, n_i, r1i, r2i, inv_p
    cdef Terms* R
    cdef Terms* Tw
    with nogil, parallel(num_threads=nthr):
        a = buffers + emkit_thread_num() * per_thread
        g = a + BLOCK
        h = g + BLOCK
        e = h + BLOCK
        S = e + BLOCK
        R = <Terms*> (S + BLOCK * p)
        Tw = R + 1
        for c in prange(nch, schedule='dynamic'):
            mine = acc + c * stride
            r0 = c * rows_per_chunk
            r1 = min(n, r0 + rows_per_chunk)
            b0 = r0
            while b0 < r1:
                nb = min(<Py_ssize_t> BLOCK, r1 - b0)
                _gemv_block(False, &X[b0, 0], &beta[0], nb, p, 0.0, e)
                for i in range(nb):
                    eta = e[i]
                    wi = w[b0 + i]
                    if wi == 0.0:
                        a[i] = 0.0
                        g[i] = 0.0
                        h[i] = 0.0
                        continue
                    za = (lo[b0 + i] - eta) / sigma
                    if lo[b0 + i] == hi[b0 + i]:
                        # observed exactly: E[z] = z, Var z = 0
                        R.logZ = -0.5 * za * za - LOG_SQRT_2PI - log_sigma
                        R.m1 = za
                        R.m2 = za * za
                        R.delta = 1.0
                        R.k12 = -2.0 * za
                        R.k22 = -2.0 * za * za
                    elif hi[b0 + i] - lo[b0 + i] < NARROW * sigma:
                        # the width from the data, not from za - zb (which can round to 0)
                        _narrow((0.5 * lo[b0 + i] + 0.5 * hi[b0 + i] - eta) / sigma,
                                (hi[b0 + i] - lo[b0 + i]) / sigma, R)
                    else:
                        zb = (hi[b0 + i] - eta) / sigma
                        _interval(za, zb, R)
                    ll = R.logZ
                    n_i = 1.0
                    r1i = R.m1
                    r2i = R.m2
                    if trunc:
                        _interval((tlo_p[b0 + i] - eta) / sigma, (thi_p[b0 + i] - eta) / sigma,
                                  Tw)
                        ll = ll - Tw.logZ
                        if newton:
                            R.m1 = R.m1 - Tw.m1
                            R.m2 = R.m2 - Tw.m2 + 1.0
                            R.delta = R.delta - Tw.delta
                            R.k12 = R.k12 - Tw.k12
                            R.k22 = R.k22 - Tw.k22
                        else:
                            # the never-sampled draws: 1/P - 1 of them, with
                            # sum z = -E_T[z] and sum z^2 = 1/P - E_T[z^2]
                            inv_p = exp(-Tw.logZ)
                            n_i = inv_p
                            r1i = r1i - Tw.m1
                            r2i = r2i + inv_p - Tw.m2
                    mine[0] += wi * ll
                    if em:
                        a[i] = wi * sigma * r1i
                        mine[1 + p] += wi * sigma * sigma * r2i
                        mine[2 + p] += wi * n_i
                    # the Gram and Hessian blocks are sums of s * g_i^2 x_i x_i'
                    if gram:
                        g[i] = sqrt(wi * n_i)
                    if newton:
                        a[i] = wi * R.m1 / sigma
                        mine[1 + p] += wi * (R.m2 - 1.0)
                        # 1 - Var z >= 0, and with truncation Var z shrinks on
                        # the narrower interval; max() only catches round-off
                        g[i] = sqrt(wi * max(R.delta, 0.0)) / sigma
                        h[i] = wi * R.k12 / sigma
                        mine[1 + p + 1 + p * q + p] += wi * R.k22
                if em or newton:
                    _gemv_block(True, &X[b0, 0], a, nb, p, 1.0, mine + 1)
                if gram or newton:
                    for i in range(nb):
                        xi = &X[b0 + i, 0]
                        for j in range(p):
                            S[i * p + j] = g[i] * xi[j]
                    _add_syrk(S, nb, p, q, -1.0 if newton else 1.0, mine + 1 + nvec)
                if newton:
                    # the beta-log sigma column, for now in row p
                    _gemv_block(True, &X[b0, 0], h, nb, p, 1.0, mine + 1 + nvec + p * q)
                b0 = b0 + nb
    free(buffers)

    cdef double total = 0.0
    for k in range(nvec):
        vec[k] = 0.0
    cdef double* mp = &mat[0, 0] if nmat else NULL
    for k in range(nmat):
        mp[k] = 0.0
    for c in range(nch):
        mine = acc + c * stride
        total += mine[0]
        for k in range(nvec):
            vec[k] += mine[1 + k]
        for k in range(nmat):
            mp[k] += mine[1 + nvec + k]
    free(acc)
    # mirror the lower triangle (the beta-log sigma entries sit in row p)
    if nmat:
        for j in range(q):
            for k in range(j + 1, q):
                mp[j * q + k] = mp[k * q + j]
    return total


cdef inline void _gemv_block(bint transpose, const double* X, const double* v,
                             Py_ssize_t nb, Py_ssize_t p, double beta,
                             double* out) noexcept nogil:
    """For a row-major (nb x p) block X: out = X' v + beta out (transpose) or
    out = X v + beta out.  Column-major BLAS sees X as p x nb."""
    cdef char tr = b'N' if transpose else b'T'
    cdef int m = <int> p, n = <int> nb, one = 1
    cdef double alpha = 1.0
    dgemv(&tr, &m, &n, &alpha, <double*> X, &m, <double*> v, &one, &beta, out, &one)


cdef inline void _add_syrk(const double* S, Py_ssize_t nb, Py_ssize_t p, Py_ssize_t q,
                           double sign, double* out) noexcept nogil:
    """The lower triangle of out[:p, :p] (row-major, leading dimension q) +=
    sign * S' S for a row-major (nb x p) block S."""
    # column-major, S is p x nb and out's upper triangle is row-major's lower
    cdef char uplo = b'U', tr = b'N'
    cdef int n = <int> p, k = <int> nb, lda = <int> p, ldc = <int> q
    cdef double beta = 1.0
    dsyrk(&uplo, &tr, &n, &k, &sign, <double*> S, &lda, &beta, out, &ldc)
