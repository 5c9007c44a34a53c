# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fused Gaussian-mixture E-step: densities, responsibilities, log-likelihood
and weighted sufficient statistics in one pass over row blocks.

Rows are split into a fixed set of chunks that depends only on the problem
size; each chunk accumulates its own statistics, and the chunks are summed in
order afterwards, so results are bit-identical for any number of threads (the
caller keeps BLAS single-threaded, see emkit._threads).

Statistics: with T(x) = (1, x, vech(x x')) (or (1, x, x*x) for diagonal
models), component k's block contribution is sum_i w_i r_ik T(x_i - c_k),
formed as vectorised dot products over the block's rows.  Moments are taken
about a centre per component (the caller passes the current means), so that
a tight component far from the others loses nothing to cancellation when its
covariance is formed.
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, calloc, free
from libc.math cimport log
from scipy.linalg.cython_blas cimport dgemm

from _blockmath cimport dot8, responsibilities, sum8
from _omp cimport emkit_max_threads, emkit_thread_num


cdef enum:
    # density layouts
    DENS_FULL = 0   # one Cholesky factor of the precision per component
    DENS_TIED = 1   # one Cholesky factor shared by all components
    DENS_DIAG = 2   # a diagonal precision per component
    # statistics T(x) accumulated per component
    SM_FULL = 0     # (1, x, vech(x x')): 1 + d + d(d+1)/2 columns
    SM_DIAG = 1     # (1, x, x * x):      1 + 2d columns
    SM_NONE = 2     # none (scoring only)
    SM_MEAN = 3     # (1, x):             1 + d columns
    # what a pass computes
    FUSED = 0       # densities, responsibilities, log-likelihood, statistics
    DENSITIES = 1   # log-densities only, written to resp (log pi_k included)
    GIVEN = 2       # statistics for responsibilities the caller passes in resp
    MAX_BLOCK = 256        # rows per block at most
    BLOCK_DOUBLES = 65536  # a block's largest buffer stays near 512 KB (L2)
    MAX_CHUNKS = 64
    CHUNK_BUDGET = 4194304  # doubles of per-chunk statistics in all (32 MB)
    SERIAL_WORK = 65536     # below this many (row x output) terms, one thread

DENSITY = {"full": DENS_FULL, "tied": DENS_TIED, "diag": DENS_DIAG}
MOMENTS = {"full": SM_FULL, "diag": SM_DIAG, "none": SM_NONE, "mean": SM_MEAN}
MODES = {"fused": FUSED, "densities": DENSITIES, "given": GIVEN}


cdef inline void gemm_rm(char ta, char tb, int m, int n, int k, double alpha,
                         const double* a, int lda, const double* b, int ldb,
                         double beta, double* c, int ldc) noexcept nogil:
    """Row-major C (m x n) = alpha op(A) op(B) + beta C through column-major BLAS."""
    dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
          &beta, c, &ldc)


def n_statistics(Py_ssize_t d, str moments):
    """Columns of T(x) for a moments layout."""
    return {"full": 1 + d + d * (d + 1) // 2, "diag": 1 + 2 * d, "mean": 1 + d,
            "none": 0}[moments]


def estep(const double[:, ::1] X, const double[::1] w, const double[::1] shift,
          str density, const double[:, ::1] P, const double[:, ::1] mP,
          const double[::1] cst, str moments, double[:, ::1] S=None,
          const double[:, ::1] C=None, double[:, ::1] resp=None, double[::1] logprob=None,
          int n_threads=0, str mode="fused"):
    """One fused E-step over all rows (or one of its halves, see ``mode``).

    Parameters
    ----------
    X : (n, d) data; w : (n,) case weights; shift : (d,) centring point.
    density : "full", "tied" or "diag".  Full: P is (d, K*d), the precision
        Cholesky factors U_k side by side, and mP[k] = (mu_k - shift) @ U_k.
        Tied: P is the shared (d, d) factor, mP as for full.  Diag: P is
        (K, d), the square roots of the precisions, and mP[k] = P[k] * (mu_k -
        shift).  With cst (K,) = log pi_k + log det U_k - d/2 log(2 pi), the
        log-density is cst_k - |U_k'(x - shift) - mP[k]|^2 / 2.
    moments : "full", "diag", "mean" (1, x) or "none".
    S : (K, n_statistics(d, moments)) output, overwritten with
        sum_i w_i r_ik T(x_i - shift - C[k]); vech runs over the upper
        triangle row by row (numpy's triu_indices order).
    C : (K, d) centres of the moments, relative to shift (needed with S).
    resp, logprob : optional per-row outputs (n, K) and (n,).
    n_threads : OpenMP threads; 0 for the OpenMP default.
    mode : "fused" (everything above); "densities": resp (required) receives
        the log-densities cst_k - |...|^2 / 2 and nothing else is computed;
        "given": resp (required) holds responsibilities on entry and only S is
        computed (P, mP and cst are not read).  The halves serve models whose
        responsibilities need more than a log-sum-exp (hidden Markov models).

    Returns
    -------
    float : sum_i w_i log p(x_i), the weighted observed log-likelihood (0 for
    the "densities" and "given" modes).
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = cst.shape[0]
    cdef int dens = DENSITY[density], smode = MOMENTS[moments], pmode = MODES[mode]
    cdef Py_ssize_t m = n_statistics(d, moments) if pmode != DENSITIES else 0
    cdef Py_ssize_t nY = d if dens == DENS_TIED else 0 if dens == DENS_DIAG else K * d
    _check_shapes(X, w, shift, dens, P, mP, K, m, S, C, resp, logprob)
    if pmode != FUSED and (resp is None or logprob is not None):
        raise ValueError(f"mode {mode!r} needs resp and gives no logprob")

    # block and chunk sizes depend on the problem only, never on the threads
    cdef Py_ssize_t widest = max(2 * d, nY, K, 1)
    cdef Py_ssize_t block = max(16, min(<Py_ssize_t> MAX_BLOCK, BLOCK_DOUBLES // widest))
    cdef Py_ssize_t stride = 1 + K * m
    cdef Py_ssize_t nch = max(1, min((n + block - 1) // block, <Py_ssize_t> MAX_CHUNKS,
                                     max(1, CHUNK_BUDGET // stride)))
    cdef Py_ssize_t rows_per_chunk = (n + nch - 1) // nch
    cdef bint want_resp = resp is not None, want_lp = logprob is not None
    cdef double* acc = <double*> calloc(nch * stride, sizeof(double))
    if acc == NULL:
        raise MemoryError("cannot allocate the E-step accumulators")

    cdef Py_ssize_t c, r0, r1, b0, nb, i, j, k
    cdef double *xT
    cdef double *Y
    cdef double *L
    cdef double *T
    cdef double *lse
    cdef double *mine
    cdef double* resp_p = &resp[0, 0] if want_resp else NULL
    cdef const double* C_p = &C[0, 0] if m else NULL
    cdef int nthr = n_threads if n_threads > 0 else emkit_max_threads()
    # waking threads costs more than a small E-step (mclust's sweeps make
    # thousands of them); the chunks, and so the result, stay the same
    if n * (nY + K + K * m) < SERIAL_WORK:
        nthr = 1
    nthr = <int> min(<Py_ssize_t> nthr, nch)
    # every thread's block buffers, allocated up front so that a failure is an
    # exception here rather than a crash inside the parallel region; each is
    # laid out (something x block) so that the inner loops run over rows
    cdef Py_ssize_t per_thread = (d + nY + 1 + K + 2 * d + 2) * block
    cdef double* buffers = <double*> malloc(nthr * per_thread * sizeof(double))
    if buffers == NULL:
        free(acc)
        raise MemoryError(f"cannot allocate {nthr} x {per_thread} doubles of E-step buffers")

    with nogil, parallel(num_threads=nthr):
        xT = buffers + emkit_thread_num() * per_thread
        Y = xT + d * block
        L = Y + (nY + 1) * block
        T = L + K * block
        lse = T + 2 * d * block
        for c in prange(nch, schedule='dynamic'):
            mine = acc + c * stride
            r0 = c * rows_per_chunk
            r1 = min(n, r0 + rows_per_chunk)
            b0 = r0
            while b0 < r1:
                nb = min(block, r1 - b0)
                _centre_transpose(&X[b0, 0], &shift[0], xT, nb, d)
                if pmode == GIVEN:
                    for k in range(K):
                        for i in range(nb):
                            L[k * nb + i] = resp_p[(b0 + i) * K + k]
                else:
                    _log_densities(xT, &P[0, 0], &mP[0, 0], &cst[0], Y, L, nb, d, K, dens)
                if pmode == FUSED:
                    mine[0] += responsibilities(L, lse, lse + block, &w[b0], nb, K)
                if want_lp:
                    for i in range(nb):
                        logprob[b0 + i] = lse[i]
                if want_resp and pmode != GIVEN:
                    for k in range(K):
                        for i in range(nb):
                            resp_p[(b0 + i) * K + k] = L[k * nb + i]
                if m:
                    for k in range(K):
                        _accumulate(xT, C_p + k * d, L + k * nb, &w[b0], T, nb, d, smode,
                                    mine + 1 + k * m)
                b0 = b0 + nb
    free(buffers)

    # fixed-order reduction over chunks
    cdef double ll = 0.0
    cdef double* sp = &S[0, 0] if m else NULL
    for j in range(K * m):
        sp[j] = 0.0
    for c in range(nch):
        mine = acc + c * stride
        ll += mine[0]
        for j in range(K * m):
            sp[j] += mine[1 + j]
    free(acc)
    return ll


cdef inline void _centre_transpose(const double* x, const double* shift, double* xT,
                                   Py_ssize_t nb, Py_ssize_t d) noexcept nogil:
    """xT (d x nb) = (x - shift)' for a row-major (nb x d) block."""
    cdef Py_ssize_t i, j
    cdef const double* row
    for i in range(nb):
        row = x + i * d
        for j in range(d):
            xT[j * nb + i] = row[j] - shift[j]


cdef void _log_densities(const double* xT, const double* P, const double* mP,
                         const double* cst, double* Y, double* L, Py_ssize_t nb,
                         Py_ssize_t d, Py_ssize_t K, int dens) noexcept nogil:
    """L[k, i] = cst[k] - Mahalanobis(x_i, component k) / 2 for one block."""
    cdef Py_ssize_t i, j, k, nY = d if dens == DENS_TIED else K * d
    cdef double* lk
    cdef const double* src
    cdef const double* pk = NULL
    if dens != DENS_DIAG:
        # Y (nY x nb) = P' x': every component's whitened rows in one product
        gemm_rm(b'T', b'N', <int> nY, <int> nb, <int> d, 1.0, P, <int> nY, xT, <int> nb,
                0.0, Y, <int> nb)
    for k in range(K):
        lk = L + k * nb
        for i in range(nb):
            lk[i] = 0.0
        if dens == DENS_DIAG:
            # a diagonal factor whitens on the fly: p x - p mu
            src, pk = xT, P + k * d
        else:
            src = Y + (0 if dens == DENS_TIED else k * d) * nb
        j = 0
        while j < d:
            # four coordinates per sweep over the block: a quarter of the L traffic
            if j + 4 <= d:
                _add_sq4(lk, src + j * nb, nb, &mP[k * d + j], pk + j if pk != NULL else NULL)
                j = j + 4
            else:
                _add_sq1(lk, src + j * nb, nb, mP[k * d + j], pk[j] if pk != NULL else 1.0)
                j = j + 1
        for i in range(nb):
            lk[i] = cst[k] - 0.5 * lk[i]


cdef inline void _add_sq4(double* acc, const double* x, Py_ssize_t nb, const double* m,
                          const double* p) noexcept nogil:
    """acc[i] += sum_{j<4} (p_j x[j, i] - m_j)^2; p = 1 when NULL (x already whitened)."""
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
        t0 = p0 * x[i] - m0
        t1 = p1 * x1[i] - m1
        t2 = p2 * x2[i] - m2
        t3 = p3 * x3[i] - m3
        acc[i] += (t0 * t0 + t1 * t1) + (t2 * t2 + t3 * t3)


cdef inline void _add_sq1(double* acc, const double* x, Py_ssize_t nb, double m,
                          double p) noexcept nogil:
    cdef Py_ssize_t i
    cdef double t
    for i in range(nb):
        t = p * x[i] - m
        acc[i] += t * t


cdef void _accumulate(const double* xT, const double* c, double* r, const double* w,
                      double* T, Py_ssize_t nb, Py_ssize_t d, int smode,
                      double* out) noexcept nogil:
    """out += sum_i w_i r_i T(x_i - c) for one component over one block.

    T(x) = (1, x, vech(x x')), (1, x, x * x) or (1, x); r (nb) holds r_ik on entry and
    w_i r_ik after; T is scratch of 2d rows: x - c, then z = w r (x - c).  Each
    statistic is one dot product over the block's rows.
    """
    cdef Py_ssize_t i, j, a, b, row = 1 + d
    cdef double* xc = T
    cdef double* z = T + d * nb
    cdef double cj
    for i in range(nb):
        r[i] *= w[i]
    for j in range(d):
        cj = c[j]
        for i in range(nb):
            xc[j * nb + i] = xT[j * nb + i] - cj
            z[j * nb + i] = r[i] * xc[j * nb + i]
    out[0] += sum8(r, nb)
    for a in range(d):
        out[1 + a] += sum8(z + a * nb, nb)
    if smode == SM_MEAN:
        return
    for a in range(d):
        for b in range(a, d if smode == SM_FULL else a + 1):
            out[row] += dot8(z + a * nb, xc + b * nb, nb)
            row = row + 1


def max_threads():
    """Threads the kernels use by default (OMP_NUM_THREADS or the core count)."""
    return emkit_max_threads()


def _check_shapes(X, w, shift, int dens, P, mP, Py_ssize_t K, Py_ssize_t m, S, C, resp,
                  logprob):
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    if n == 0 or d == 0 or K == 0:
        raise ValueError("estep needs at least one row, column and component")
    if w.shape[0] != n or shift.shape[0] != d:
        raise ValueError("w must have n entries and shift d entries")
    expect_P = {DENS_FULL: (d, K * d), DENS_TIED: (d, d), DENS_DIAG: (K, d)}[dens]
    if tuple(P.shape[:2]) != expect_P or tuple(mP.shape[:2]) != (K, d):
        raise ValueError(f"P must be {expect_P} and mP ({K}, {d})")
    if m and (S is None or tuple(S.shape[:2]) != (K, m)):
        raise ValueError(f"S must be ({K}, {m})")
    if m and (C is None or tuple(C.shape[:2]) != (K, d)):
        raise ValueError(f"C must be ({K}, {d})")
    if resp is not None and tuple(resp.shape[:2]) != (n, K):
        raise ValueError("resp must be (n, K)")
    if logprob is not None and logprob.shape[0] != n:
        raise ValueError("logprob must be (n,)")
