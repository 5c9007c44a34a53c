# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fused Gaussian-mixture E-step: densities, responsibilities, log-likelihood
and weighted sufficient statistics in one pass over row blocks.

Rows are split into a fixed set of chunks that depends only on the problem
size; each chunk accumulates its own statistics, and the chunks are summed in
order afterwards, so results are bit-identical for any number of threads.
All data are centred on ``shift`` inside the block, so the second moments
returned are about ``shift`` (the caller chooses it close to the data mean to
avoid cancellation).
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, calloc, free
from libc.math cimport log
from scipy.linalg.cython_blas cimport dgemm

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int _omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int _omp_max_threads(void) { return 1; }
    #endif
    """
    int _omp_max_threads() noexcept nogil


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* exp(x) for x <= 0, within ~1 ulp of libm, written without branches or
       calls so that loops over it vectorise.  Below -700 it returns 0: such
       responsibilities are negligible, and letting them (and products with
       them) go subnormal slows every later operation on the block. */
    static inline double _exp_nonpos(double x) {
        const double log2e = 1.4426950408889634, shifter = 6755399441055744.0;
        const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
        const double keep = x < -700.0 ? 0.0 : 1.0;
        x = x < -700.0 ? -700.0 : x;
        double t = x * log2e + shifter;
        double nf = t - shifter;
        double r = (x - nf * ln2hi) - nf * ln2lo;
        double p = 1.0 / 6227020800.0;
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        uint64_t bits;
        memcpy(&bits, &t, sizeof bits);
        bits = (bits + 1023) << 52;
        double scale;
        memcpy(&scale, &bits, sizeof scale);
        return keep * (p * scale);
    }
    """
    double _exp_nonpos(double x) noexcept nogil

cdef enum:
    # density layouts
    DENS_FULL = 0   # one Cholesky factor of the precision per component
    DENS_TIED = 1   # one Cholesky factor shared by all components
    DENS_DIAG = 2   # a diagonal precision per component
    # second-moment layouts
    SM_FULL = 0     # S2[k] = sum_i w_i r_ik x_i x_i'      (K*d, d)
    SM_POOLED = 1   # S2 = sum_i w_i x_i x_i'               (d, d)
    SM_DIAG = 2     # S2[k, j] = sum_i w_i r_ik x_ij^2      (K, d)
    SM_NONE = 3     # no statistics (scoring only)
    BLOCK = 256     # rows per block: the block's temporaries stay in L2
    MAX_CHUNKS = 64
    CHUNK_BUDGET = 4194304  # doubles of per-chunk statistics in all (32 MB)

DENSITY = {"full": DENS_FULL, "tied": DENS_TIED, "diag": DENS_DIAG}
MOMENTS = {"full": SM_FULL, "pooled": SM_POOLED, "diag": SM_DIAG, "none": SM_NONE}


cdef inline void gemm_rm(char ta, char tb, int m, int n, int k, double alpha,
                         const double* a, int lda, const double* b, int ldb,
                         double beta, double* c, int ldc) noexcept nogil:
    """Row-major C (m x n) = alpha op(A) op(B) + beta C through column-major BLAS."""
    dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
          &beta, c, &ldc)


def n_chunks(Py_ssize_t n, Py_ssize_t stat_size):
    """Number of row chunks: a function of the problem size only, never of threads."""
    cdef Py_ssize_t by_rows = (n + BLOCK - 1) // BLOCK
    cdef Py_ssize_t by_memory = max(1, CHUNK_BUDGET // max(1, stat_size))
    return max(1, min(by_rows, MAX_CHUNKS, by_memory))


def estep(const double[:, ::1] X, const double[::1] w, const double[::1] shift,
          str density, const double[:, ::1] P, const double[:, ::1] mP,
          const double[::1] cst, str moments,
          double[::1] N, double[:, ::1] S1, double[:, ::1] S2,
          double[:, ::1] resp=None, double[::1] logprob=None, int n_threads=0):
    """One fused E-step over all rows.

    Parameters
    ----------
    X : (n, d) data; w : (n,) case weights; shift : (d,) centring point.
    density : "full", "tied" or "diag".  Full: P is (d, K*d), the precision
        Cholesky factors U_k side by side, and mP[k] = (mu_k - shift) @ U_k.
        Tied: P is the shared (d, d) factor, mP as for full.  Diag: P is
        (K, d), the precisions, and mP[k] = mu_k - shift.
    cst : (K,) log pi_k + log det U_k - d/2 log(2 pi).
    moments : "full", "pooled", "diag" or "none": which second moments to
        accumulate into S2 (see module constants).
    N, S1, S2 : outputs, overwritten: sum_i w_i r_ik, sum_i w_i r_ik (x_i -
        shift), and the second moments of (x_i - shift).
    resp, logprob : optional per-row outputs (n, K) and (n,).
    n_threads : OpenMP threads; 0 for the OpenMP default.

    Returns
    -------
    float : sum_i w_i log p(x_i), the weighted observed log-likelihood.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = cst.shape[0]
    cdef int dens = DENSITY[density], smode = MOMENTS[moments]
    cdef Py_ssize_t nY = K * d if dens == DENS_FULL else d if dens == DENS_TIED else 0
    cdef Py_ssize_t nZ = (K * d if smode == SM_FULL else d if smode != SM_NONE else 0)
    cdef Py_ssize_t s2size = (K * d * d if smode == SM_FULL else
                              d * d if smode == SM_POOLED else
                              K * d if smode == SM_DIAG else 0)
    _check_shapes(X, w, shift, dens, P, mP, K, smode, N, S1, S2, s2size, resp, logprob)

    cdef Py_ssize_t stride = 1 + K + K * d + s2size
    cdef Py_ssize_t nch = n_chunks(n, stride)
    cdef Py_ssize_t rows_per_chunk = (n + nch - 1) // nch
    cdef bint want_resp = resp is not None, want_lp = logprob is not None
    cdef double* acc = <double*> calloc(nch * stride, sizeof(double))
    if acc == NULL:
        raise MemoryError("cannot allocate the E-step accumulators")

    cdef Py_ssize_t c, r0, r1, b0, nb, i, j, k
    cdef double *xT
    cdef double *Y
    cdef double *L
    cdef double *Z
    cdef double *lse
    cdef double *mine
    cdef double* resp_p = &resp[0, 0] if want_resp else NULL
    cdef double* lp_p = &logprob[0] if want_lp else NULL
    cdef int nthr = n_threads if n_threads > 0 else _omp_max_threads()

    with nogil, parallel(num_threads=nthr):
        # per-thread block buffers, all laid out (something x BLOCK) so that
        # every inner loop runs over the block's rows and vectorises
        xT = <double*> malloc(d * BLOCK * sizeof(double))
        Y = <double*> malloc((nY + 1) * BLOCK * sizeof(double))
        L = <double*> malloc(K * BLOCK * sizeof(double))
        Z = <double*> malloc((nZ + 1) * BLOCK * sizeof(double))
        lse = <double*> malloc(2 * BLOCK * sizeof(double))
        for c in prange(nch, schedule='dynamic'):
            mine = acc + c * stride
            r0 = c * rows_per_chunk
            r1 = min(n, r0 + rows_per_chunk)
            b0 = r0
            while b0 < r1:
                nb = min(BLOCK, r1 - b0)
                for i in range(nb):
                    for j in range(d):
                        xT[j * nb + i] = X[b0 + i, j] - shift[j]
                _log_densities(xT, &P[0, 0], &mP[0, 0], &cst[0], Y, L, nb, d, K, dens)
                mine[0] += _responsibilities(L, lse, lse + BLOCK, &w[b0], nb, K)
                if want_lp:
                    for i in range(nb):
                        logprob[b0 + i] = lse[i]
                if want_resp:
                    for k in range(K):
                        for i in range(nb):
                            resp_p[(b0 + i) * K + k] = L[k * nb + i]
                if smode != SM_NONE:
                    _accumulate(xT, L, Z, &w[b0], nb, d, K, smode, mine + 1)
                b0 = b0 + nb
        free(xT)
        free(Y)
        free(L)
        free(Z)
        free(lse)

    # fixed-order reduction over chunks
    cdef double ll = 0.0
    N[:] = 0.0
    S1[:, :] = 0.0
    if s2size:
        S2[:, :] = 0.0
    cdef double* s2p = &S2[0, 0] if s2size else NULL
    for c in range(nch):
        mine = acc + c * stride
        ll += mine[0]
        for k in range(K):
            N[k] += mine[1 + k]
            for j in range(d):
                S1[k, j] += mine[1 + K + k * d + j]
        for j in range(s2size):
            s2p[j] += mine[1 + K + K * d + j]
    free(acc)
    return ll


cdef void _log_densities(const double* xT, const double* P, const double* mP,
                         const double* cst, double* Y, double* L, Py_ssize_t nb,
                         Py_ssize_t d, Py_ssize_t K, int dens) noexcept nogil:
    """L[k, i] = cst[k] - Mahalanobis(x_i, component k) / 2 for one block."""
    cdef Py_ssize_t i, j, k, nY = K * d if dens == DENS_FULL else d
    cdef double* lk
    cdef const double* src
    if dens != DENS_DIAG:
        # Y (nY x nb) = P' x': every component's whitened rows in one product
        gemm_rm(b'T', b'N', <int> nY, <int> nb, <int> d, 1.0, P, <int> nY, xT, <int> nb,
                0.0, Y, <int> nb)
    for k in range(K):
        lk = L + k * nb
        for i in range(nb):
            lk[i] = 0.0
        # the whitened (or centred) coordinates of component k, rows contiguous
        src = xT if dens == DENS_DIAG else Y + (k * d if dens == DENS_FULL else 0) * nb
        j = 0
        while j < d:
            # four coordinates per sweep over the block: a quarter of the L traffic
            if j + 4 <= d:
                _add_sq4(lk, src + j * nb, nb, &mP[k * d + j],
                         &P[k * d + j] if dens == DENS_DIAG else NULL)
                j = j + 4
            else:
                _add_sq1(lk, src + j * nb, nb, mP[k * d + j],
                         P[k * d + j] if dens == DENS_DIAG else 1.0)
                j = j + 1
        for i in range(nb):
            lk[i] = cst[k] - 0.5 * lk[i]


cdef inline void _add_sq4(double* acc, const double* x, Py_ssize_t nb, const double* m,
                          const double* p) noexcept nogil:
    """acc[i] += sum_{j<4} p_j (x[j, i] - m_j)^2, with p = 1 when NULL."""
    cdef Py_ssize_t i
    cdef double t0, t1, t2, t3
    cdef double p0 = 1.0, p1 = 1.0, p2 = 1.0, p3 = 1.0
    cdef double m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3]
    cdef const double* x1 = x + nb
    cdef const double* x2 = x + 2 * nb
    cdef const double* x3 = x + 3 * nb
    if p != NULL:
        p0, p1, p2, p3 = p[0], p[1], p[2], p[3]
    for i in range(nb):
        t0 = x[i] - m0
        t1 = x1[i] - m1
        t2 = x2[i] - m2
        t3 = x3[i] - m3
        acc[i] += (p0 * t0 * t0 + p1 * t1 * t1) + (p2 * t2 * t2 + p3 * t3 * t3)


cdef inline void _add_sq1(double* acc, const double* x, Py_ssize_t nb, double m,
                          double p) noexcept nogil:
    cdef Py_ssize_t i
    cdef double t
    for i in range(nb):
        t = x[i] - m
        acc[i] += p * t * t


cdef double _responsibilities(double* L, double* lse, double* sm, const double* w,
                              Py_ssize_t nb, Py_ssize_t K) noexcept nogil:
    """Log-sum-exp over components, in place.

    On return L[k, i] = r_ik, lse[i] = log p(x_i); returns sum_i w_i lse[i].
    """
    cdef Py_ssize_t i, k
    cdef double ll = 0.0
    cdef double* lk
    for i in range(nb):
        lse[i] = L[i]
    for k in range(1, K):
        lk = L + k * nb
        for i in range(nb):
            lse[i] = lk[i] if lk[i] > lse[i] else lse[i]
    for k in range(K):
        lk = L + k * nb
        for i in range(nb):
            lk[i] = _exp_nonpos(lk[i] - lse[i])
    for i in range(nb):
        sm[i] = L[i]
    for k in range(1, K):
        lk = L + k * nb
        for i in range(nb):
            sm[i] += lk[i]
    for i in range(nb):
        lse[i] += log(sm[i])
        ll += w[i] * lse[i]
        sm[i] = 1.0 / sm[i]
    for k in range(K):
        lk = L + k * nb
        for i in range(nb):
            lk[i] *= sm[i]
    return ll


cdef void _accumulate(const double* xT, double* L, double* Z, const double* w,
                      Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K, int smode,
                      double* out) noexcept nogil:
    """Add one block's statistics to a chunk's accumulator [N, S1, S2].

    L holds r_ik (K x nb) on entry and w_i r_ik on return.
    """
    cdef Py_ssize_t i, j, k
    cdef double* Nk = out
    cdef double* S1 = out + K
    cdef double* S2 = out + K + K * d
    cdef double* lk
    cdef double* z
    cdef const double* xj
    cdef double total
    for k in range(K):
        lk = L + k * nb
        total = 0.0
        for i in range(nb):
            lk[i] *= w[i]
            total += lk[i]
        Nk[k] += total
    # S1 (K x d) += R x
    gemm_rm(b'N', b'T', <int> K, <int> d, <int> nb, 1.0, L, <int> nb, xT, <int> nb,
            1.0, S1, <int> d)
    if smode == SM_FULL:
        # Z[k*d + j, i] = w_i r_ik x_ij, then S2 (K*d x d) += Z x in one product
        for k in range(K):
            lk = L + k * nb
            for j in range(d):
                z = Z + (k * d + j) * nb
                xj = xT + j * nb
                for i in range(nb):
                    z[i] = lk[i] * xj[i]
        gemm_rm(b'N', b'T', <int> (K * d), <int> d, <int> nb, 1.0, Z, <int> nb,
                xT, <int> nb, 1.0, S2, <int> d)
    elif smode == SM_POOLED:
        for j in range(d):
            for i in range(nb):
                Z[j * nb + i] = w[i] * xT[j * nb + i]
        gemm_rm(b'N', b'T', <int> d, <int> d, <int> nb, 1.0, Z, <int> nb, xT, <int> nb,
                1.0, S2, <int> d)
    elif smode == SM_DIAG:
        for j in range(d):
            for i in range(nb):
                Z[j * nb + i] = xT[j * nb + i] * xT[j * nb + i]
        gemm_rm(b'N', b'T', <int> K, <int> d, <int> nb, 1.0, L, <int> nb, Z, <int> nb,
                1.0, S2, <int> d)


def max_threads():
    """Threads the kernels use by default (OMP_NUM_THREADS or the core count)."""
    return _omp_max_threads()


def _check_shapes(X, w, shift, int dens, P, mP, Py_ssize_t K, int smode,
                  N, S1, S2, Py_ssize_t s2size, resp, logprob):
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    if n == 0 or d == 0 or K == 0:
        raise ValueError("estep needs at least one row, column and component")
    if w.shape[0] != n or shift.shape[0] != d:
        raise ValueError("w must have n entries and shift d entries")
    expect_P = {DENS_FULL: (d, K * d), DENS_TIED: (d, d), DENS_DIAG: (K, d)}[dens]
    if tuple(P.shape[:2]) != expect_P or tuple(mP.shape[:2]) != (K, d):
        raise ValueError(f"P must be {expect_P} and mP ({K}, {d})")
    if N.shape[0] != K or tuple(S1.shape[:2]) != (K, d):
        raise ValueError("N must be (K,) and S1 (K, d)")
    if s2size and S2.shape[0] * S2.shape[1] != s2size:
        raise ValueError(f"S2 must hold {s2size} values")
    if resp is not None and tuple(resp.shape[:2]) != (n, K):
        raise ValueError("resp must be (n, K)")
    if logprob is not None and logprob.shape[0] != n:
        raise ValueError("logprob must be (n,)")
