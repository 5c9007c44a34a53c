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
from libc.math cimport exp, log, INFINITY
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
    BLOCK = 128     # rows per block: the block's temporaries stay in L2
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
    density : "full" (P is (d, K*d), the K precision Cholesky factors side by
        side, mP[k] = (mu_k - shift) @ P_k), "tied" (P is (d, d), mP as for
        full) or "diag" (P is (K, d) precisions, mP[k] = mu_k - shift).
    cst : (K,) log pi_k + log det P_k - d/2 log(2 pi).
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
    cdef Py_ssize_t ncolP = K * d if dens == DENS_FULL else d
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

    cdef Py_ssize_t c, r0, r1, b0, nb, i, j, k, off, zcols
    cdef double *xc
    cdef double *Y
    cdef double *lpk
    cdef double *Z
    cdef double *mine
    cdef double s, t, mx, sm, lse, wi, inv
    cdef double* Pp = &P[0, 0]
    cdef int nthr = n_threads if n_threads > 0 else _omp_max_threads()
    zcols = K * d if smode == SM_FULL else d

    with nogil, parallel(num_threads=nthr):
        xc = <double*> malloc(BLOCK * d * sizeof(double))
        Y = <double*> malloc(BLOCK * ncolP * sizeof(double))
        lpk = <double*> malloc(BLOCK * K * sizeof(double))
        Z = <double*> malloc(BLOCK * zcols * sizeof(double))
        for c in prange(nch, schedule='dynamic'):
            mine = acc + c * stride
            r0 = c * rows_per_chunk
            r1 = min(n, r0 + rows_per_chunk)
            b0 = r0
            while b0 < r1:
                nb = min(BLOCK, r1 - b0)
                for i in range(nb):
                    for j in range(d):
                        xc[i * d + j] = X[b0 + i, j] - shift[j]
                if dens != DENS_DIAG:
                    gemm_rm(b'N', b'N', <int> nb, <int> ncolP, <int> d, 1.0,
                            xc, <int> d, Pp, <int> ncolP, 0.0, Y, <int> ncolP)
                for i in range(nb):
                    mx = -INFINITY
                    for k in range(K):
                        s = 0.0
                        if dens == DENS_DIAG:
                            for j in range(d):
                                t = xc[i * d + j] - mP[k, j]
                                s = s + P[k, j] * t * t
                        else:
                            off = i * ncolP + (k * d if dens == DENS_FULL else 0)
                            for j in range(d):
                                t = Y[off + j] - mP[k, j]
                                s = s + t * t
                        t = cst[k] - 0.5 * s
                        lpk[i * K + k] = t
                        if t > mx:
                            mx = t
                    sm = 0.0
                    for k in range(K):
                        t = exp(lpk[i * K + k] - mx)
                        lpk[i * K + k] = t
                        sm = sm + t
                    lse = mx + log(sm)
                    wi = w[b0 + i]
                    mine[0] = mine[0] + wi * lse
                    if want_lp:
                        logprob[b0 + i] = lse
                    inv = 1.0 / sm
                    for k in range(K):
                        t = lpk[i * K + k] * inv
                        if want_resp:
                            resp[b0 + i, k] = t
                        # from here on lpk holds the weighted responsibilities
                        lpk[i * K + k] = t * wi
                if smode != SM_NONE:
                    _accumulate(xc, lpk, Z, &w[b0], nb, d, K, smode, mine + 1)
                b0 = b0 + nb
        free(xc)
        free(Y)
        free(lpk)
        free(Z)

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


cdef void _accumulate(const double* xc, const double* rw, double* Z, const double* wb,
                      Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K, int smode,
                      double* out) noexcept nogil:
    """Add one block's statistics to a chunk's accumulator [N, S1, S2]."""
    cdef Py_ssize_t i, j, k
    cdef double* Nk = out
    cdef double* S1 = out + K
    cdef double* S2 = out + K + K * d
    cdef double r
    for i in range(nb):
        for k in range(K):
            Nk[k] += rw[i * K + k]
    # S1 (K x d) += R' X
    gemm_rm(b'T', b'N', <int> K, <int> d, <int> nb, 1.0, rw, <int> K, xc, <int> d,
            1.0, S1, <int> d)
    if smode == SM_FULL:
        # Z[i, k*d + j] = r_ik x_ij, then S2 (K*d x d) += Z' X in one call
        for i in range(nb):
            for k in range(K):
                r = rw[i * K + k]
                for j in range(d):
                    Z[i * K * d + k * d + j] = r * xc[i * d + j]
        gemm_rm(b'T', b'N', <int> (K * d), <int> d, <int> nb, 1.0, Z, <int> (K * d),
                xc, <int> d, 1.0, S2, <int> d)
    elif smode == SM_POOLED:
        for i in range(nb):
            for j in range(d):
                Z[i * d + j] = wb[i] * xc[i * d + j]
        gemm_rm(b'T', b'N', <int> d, <int> d, <int> nb, 1.0, Z, <int> d, xc, <int> d,
                1.0, S2, <int> d)
    elif smode == SM_DIAG:
        for i in range(nb):
            for j in range(d):
                Z[i * d + j] = xc[i * d + j] * xc[i * d + j]
        gemm_rm(b'T', b'N', <int> K, <int> d, <int> nb, 1.0, rw, <int> K, Z, <int> d,
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
