# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Inner loops of mclust's covariance-model M-steps (emkit.covariance_models).

The iterative M-steps (VEI, VEV, VEE, EVE, VVE) run a handful to a few hundred
inner iterations on G tiny d x d matrices, once per EM iteration: in numpy,
call overhead is most of their time.  Here each runs in one nogil call.  The
kernels do not raise on degeneracy: they stop and report which of mclust's
tests failed (a Failure code) and on which component, and the Python module
words the error.  eigh, cholesky_ratios and all_finite do, in one call, what
took the closed-form M-steps a numpy or scipy call per component or several
numpy calls.

Every LAPACK routine gets what numpy or scipy would hand it (a column-major
copy of the matrix, the same triangle, the same routine: dsyevd for eigh and
eigvalsh, dpotrf/dpotri), so results match the numpy formulation they replace
to round-off, and iteration counts with them.  The one exception is the SVD:
dgesvd, as mclust's Fortran calls it, where numpy's svd calls dgesdd, which
costs 4-5 times more on these tiny matrices; the orthogonal factor P R' taken
from it is unique for a nonsingular F, so either gives it to round-off.
"""
import numpy as np
from cpython.exc cimport PyErr_CheckSignals
from libc.math cimport exp, log, pow, fabs, isfinite
from libc.stdlib cimport malloc, free
from scipy.linalg.cython_lapack cimport dgesvd, dpotrf, dpotri, dsyevd

cdef double EPS = np.finfo(float).eps
cdef double RTEPS = np.sqrt(EPS)
cdef double FLMAX = np.finfo(float).max
cdef double BIGLOG = 709.0, SMALOG = -708.0  # the Fortran's bounds on exp()


cpdef enum Failure:
    OK = 0
    SHAPE_NOT_ABOVE_EPS       # common_shape: a shape entry <= eps (VEV's loop: <= 0)
    VOLUME_NOT_ABOVE_EPS      # common_shape: lambda_k <= eps
    DETERMINANT_OVERFLOWS     # common_shape: the shape's geometric mean overflows
    DETERMINANT_NOT_ABOVE_EPS # common_shape
    FINAL_NOT_ABOVE_EPS       # common_shape: after the loop, a volume or shape entry
    SCATTER_NOT_PD            # vee: dpotrf fails on W_k
    C_NOT_PD                  # vee: dpotrf fails on the common matrix
    SMALL_EIGENVALUE          # eve_vve: an eigenvalue of W_k < sqrt(eps)
    SHAPE_TOO_SMALL           # eve_vve: a shape entry (or VVE volume) < sqrt(eps)


cdef class _Work:
    """One call's scratch memory, freed with the object (also on errors)."""
    cdef double* p
    cdef int* ip

    def __cinit__(self, Py_ssize_t n, Py_ssize_t ni=1):
        self.p = <double*> malloc(max(n, 1) * sizeof(double))
        self.ip = <int*> malloc(max(ni, 1) * sizeof(int))
        if self.p == NULL or self.ip == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.p)
        free(self.ip)


cdef int check_signals(long long inner) except -1 nogil:
    # every 2^16 inner iterations: lets Ctrl-C stop a loop that tol = 0 or a
    # huge max_iter keeps going, as it stopped the numpy loop this replaced
    if inner & 0xFFFF == 0:
        with gil:
            PyErr_CheckSignals()
    return 0


cdef inline void fortran_copy(const double* a, double* f, int d) noexcept nogil:
    # LAPACK reads column-major: the copy numpy and scipy make of a C-ordered matrix
    cdef int i, j
    for i in range(d):
        for j in range(d):
            f[i + j * d] = a[i * d + j]


cdef inline int eigvalsh(const double* a, int d, double* w, double* f, double* work,
                         int lwork, int* iwork, int liwork) noexcept nogil:
    # ascending eigenvalues, as np.linalg.eigvalsh; LAPACK's info
    cdef int info
    fortran_copy(a, f, d)
    dsyevd(b"N", b"L", &d, f, &d, w, work, &lwork, iwork, &liwork, &info)
    return info


cdef inline double plain_geomean(const double* x, int d) noexcept nogil:
    # exp(sum(log))**(1/d) as mclustaddson.f takes it: under- and overflows where it does
    cdef double s = 0.0
    cdef int j
    for j in range(d):
        s += log(x[j])
    return pow(exp(s), 1.0 / d)


cdef inline double minimum(const double* x, int n) noexcept nogil:
    # NaN-propagating, as ndarray.min (a NaN must fail the tests that follow)
    cdef double m = x[0]
    cdef int j
    for j in range(1, n):
        if x[j] < m or x[j] != x[j]:
            m = x[j]
    return m


def all_finite(*arrays):
    """Whether every entry of these float arrays or numbers (None skipped) is
    finite: one pass each and no temporaries, cheaper than numpy's isfinite/all
    on the tiny arrays an M-step checks."""
    cdef const double[::1] v
    cdef Py_ssize_t i
    for a in arrays:
        if a is None:
            continue
        if isinstance(a, float):
            if not isfinite(<double> a):
                return False
            continue
        v = np.ravel(a)  # a view: the M-step's arrays are contiguous
        for i in range(v.shape[0]):
            if not isfinite(v[i]):
                return False
    return True


def eigh(const double[:, :, ::1] W):
    """Eigen-decompositions of the W_k in mclust's order, which takes them from
    an SVD: |eigenvalues| decreasing (ties in LAPACK's order), eigenvectors in
    columns.  Raises LinAlgError where LAPACK fails."""
    cdef int G = W.shape[0], d = W.shape[1], info = 0
    cdef int lwork = 1 + 6 * d + 2 * d * d, liwork = 3 + 5 * d
    values = np.empty((G, d))
    vectors = np.empty((G, d, d))
    cdef double[:, ::1] val = values
    cdef double[:, :, ::1] vec = vectors
    cdef _Work mem = _Work(d * d + d + lwork, d + liwork)
    cdef double* f = mem.p
    cdef double* w = f + d * d
    cdef double* work = w + d
    cdef int* order = mem.ip
    cdef int* iwork = order + d
    cdef int k, i, j, o
    with nogil:
        for k in range(G):
            fortran_copy(&W[k, 0, 0], f, d)
            dsyevd(b"V", b"L", &d, f, &d, w, work, &lwork, iwork, &liwork, &info)
            if info != 0:
                break
            # stable insertion sort of the indices by decreasing |eigenvalue|
            for i in range(d):
                j = i
                while j > 0 and fabs(w[order[j - 1]]) < fabs(w[i]):
                    order[j] = order[j - 1]
                    j -= 1
                order[j] = i
            for j in range(d):
                o = order[j]
                val[k, j] = fabs(w[o])
                for i in range(d):
                    vec[k, i, j] = f[i + o * d]
    if info != 0:
        raise np.linalg.LinAlgError("Eigenvalues did not converge")
    return values, vectors


def cholesky_ratios(const double[:, :, ::1] A):
    """min|diag R| / (1 + max|diag R|) of each A_k's Cholesky factor R (from its
    upper triangle, as scipy's dpotrf(lower=0)), or 0 where A_k is not positive
    definite: mclust's cheap condition estimate."""
    cdef int G = A.shape[0], d = A.shape[1], info, k, i
    ratios = np.empty(G)
    cdef double[::1] r = ratios
    cdef _Work mem = _Work(d * d)
    cdef double lo, hi, v
    with nogil:
        for k in range(G):
            fortran_copy(&A[k, 0, 0], mem.p, d)
            dpotrf(b"U", &d, mem.p, &d, &info)
            if info != 0:
                r[k] = 0.0
                continue
            lo = hi = fabs(mem.p[0])
            for i in range(1, d):
                v = fabs(mem.p[i + i * d])
                lo = min(lo, v)
                hi = max(hi, v)
            r[k] = lo / (1.0 + hi)
    return ratios


def common_shape(const double[:, ::1] X, const double[::1] N, const double[::1] shape0,
                 const double[::1] scale0, double tol, long long max_iter, bint vei):
    """Celeux & Govaert's fixed point for varying volumes and a common shape, as
    mevei (X the diagonal scatters) and mevev (X the scatters' eigenvalues) run it:
    lambda_k = sum_j X_kj / a_j / (d N_k), then a = sum_k X_k / lambda_k normalised.
    The two routines differ only in small ways, marked below.

    Returns (failure, component or -1, shape, scale, inner, err); on a failure,
    shape and scale hold the values the failed test saw.
    """
    cdef int G = X.shape[0], d = X.shape[1], k, j
    shape_a, scale_a = np.array(shape0), np.array(scale0)
    cdef double[::1] shape = shape_a, scale = scale_a
    cdef _Work mem = _Work(G + d)
    cdef double* old_scale = mem.p
    cdef double* old_shape = mem.p + G
    cdef double s, meanlog, volume, err = np.nan if vei else 0.0
    cdef long long inner = 0
    cdef Failure fail = OK
    cdef int bad = -1
    with nogil:
        while max_iter > 0:
            if vei and not minimum(&shape[0], d) > EPS:
                fail = SHAPE_NOT_ABOVE_EPS
                break
            inner += 1
            check_signals(inner)
            for k in range(G):
                old_scale[k] = scale[k]
            for j in range(d):
                old_shape[j] = shape[j]
            for k in range(G):
                s = 0.0
                for j in range(d):
                    s += X[k, j] / old_shape[j]
                scale[k] = s / (d * N[k])
            for k in range(G):
                if not scale[k] > EPS:
                    fail, bad = VOLUME_NOT_ABOVE_EPS, k
                    break
            if fail:
                break
            for j in range(d):
                s = 0.0
                for k in range(G):
                    s += X[k, j] / scale[k]
                shape[j] = s
            if not minimum(&shape[0], d) > (EPS if vei else 0.0):
                fail = SHAPE_NOT_ABOVE_EPS
                break
            # the determinant's d-th root as mclust.f takes it: exp(mean(log)),
            # giving up on overflow and flushing underflow to 0
            meanlog = 0.0
            for j in range(d):
                meanlog += log(shape[j])
            meanlog /= d
            if meanlog > BIGLOG:
                fail = DETERMINANT_OVERFLOWS
                break
            volume = exp(meanlog) if meanlog > SMALOG else 0.0
            if not volume > EPS:
                fail = DETERMINANT_NOT_ABOVE_EPS
                break
            err = 0.0
            for j in range(d):
                shape[j] /= volume
                err = max(err, fabs(old_shape[j] - shape[j]) / (1.0 + shape[j]))
            for k in range(G):
                err = max(err, fabs(old_scale[k] - scale[k]) / (1.0 + scale[k]))
            # mevei allows max_iter + 1 passes and stops at err = tol; mevev does neither
            if vei:
                if not (err > tol and inner <= max_iter):
                    break
            elif not (err >= tol and inner < max_iter):
                break
        if not fail:
            for k in range(G):
                if not scale[k] > EPS:
                    bad = k
                    break
            if bad >= 0 or not minimum(&shape[0], d) > EPS:
                fail = FINAL_NOT_ABOVE_EPS
    return fail, bad, shape_a, scale_a, inner, err


def vee(const double[:, :, ::1] W, const double[::1] N, double tol, long long max_iter):
    """mevee's fixed point: C = sum_k W_k / lambda_k normalised to determinant 1,
    then lambda_k = tr(W_k C^-1) / (d N_k), from lambda = 1, until the objective
    n d + d sum_k N_k log(lambda_k) settles.

    Returns (failure, component or -1, C, scale, eigenvalues of C before
    normalising (decreasing), their geometric mean, inner, err).
    """
    cdef int G = W.shape[0], d = W.shape[1], info = 0, k, i, j
    cdef int lwork = 2 * d + 1, liwork = 1
    C_a, scale_a, eig_a = np.empty((d, d)), np.ones(G), np.empty(d)
    cdef double[:, ::1] C = C_a
    cdef double[::1] scale = scale_a, eig = eig_a
    cdef _Work mem = _Work(2 * d * d + d + lwork, liwork)
    cdef double* f = mem.p                 # LAPACK's copy of C, then its inverse
    cdef double* w = f + d * d             # ascending eigenvalues
    cdef double* work = w + d
    cdef double* Cinv = work + lwork       # the full inverse, row-major
    cdef double n = 0.0, s, volume = np.nan, target, target_old = FLMAX / 2, err = np.nan
    cdef long long inner = 0
    cdef Failure fail = OK
    cdef int bad = -1
    with nogil:
        for k in range(G):
            n += N[k]
            fortran_copy(&W[k, 0, 0], f, d)
            dpotrf(b"U", &d, f, &d, &info)
            if info != 0:
                fail, bad = SCATTER_NOT_PD, k
                break
        while not fail:
            inner += 1
            check_signals(inner)
            for i in range(d):
                for j in range(d):
                    s = 0.0
                    for k in range(G):
                        s += W[k, i, j] / scale[k]
                    C[i, j] = s
            info = eigvalsh(&C[0, 0], d, w, f, work, lwork, mem.ip, liwork)
            if info != 0:
                break
            for j in range(d):
                eig[j] = w[d - 1 - j]
            volume = plain_geomean(&eig[0], d)
            for i in range(d):
                for j in range(d):
                    C[i, j] /= volume
            fortran_copy(&C[0, 0], f, d)
            dpotrf(b"U", &d, f, &d, &info)
            if info != 0:
                fail = C_NOT_PD
                break
            dpotri(b"U", &d, f, &d, &info)
            for i in range(d):  # dpotri fills the upper triangle, (i, j) at f[i + j d], i <= j
                for j in range(i, d):
                    Cinv[i * d + j] = Cinv[j * d + i] = f[i + j * d]
            target = 0.0
            for k in range(G):
                s = 0.0
                for i in range(d):
                    for j in range(d):
                        s += W[k, i, j] * Cinv[j * d + i]
                scale[k] = s / (d * N[k])
                target += log(scale[k]) * N[k]
            target = n * d + d * target
            err = fabs(target - target_old) / (1.0 + fabs(target))
            target_old = target
            if not (err > tol and inner < max_iter):
                break
    if info != 0 and not fail:
        raise np.linalg.LinAlgError("Eigenvalues did not converge")
    return fail, bad, C_a, scale_a, eig_a, volume, inner, err


cdef int svd_product(double* F, int d, bint transpose, double* D, double* s, double* u,
                     double* vt, double* work, int lwork) noexcept nogil:
    # D = P R' from the SVD F = P S R' (or its transpose), the orthogonal matrix
    # nearest F; F is column-major and destroyed.  Returns LAPACK's info.
    cdef int info, i, j, l
    cdef double acc
    dgesvd(b"A", b"A", &d, &d, F, &d, s, u, &d, vt, &d, work, &lwork, &info)
    if info != 0:
        return info
    for i in range(d):
        for j in range(d):
            acc = 0.0
            for l in range(d):
                acc += u[i + l * d] * vt[l + j * d]
            if transpose:
                D[j * d + i] = acc
            else:
                D[i * d + j] = acc
    return 0


def eve_vve(const double[:, :, ::1] W, const double[::1] N, const double[:, ::1] shape0,
            const double[:, ::1] D0, double tol, long long max_iter, bint vve):
    """meeve / mevve: the common orientation D by the two MM steps of Browne &
    McNicholas (2014), then each A_k (and for VVE lambda_k) in closed form given
    D, until the target sum_k tr(D A_k^-1 D' W_k) settles.  mclust's VVE leaves
    the volumes out of the D update: reproduced, not fixed.

    Returns (failure, component or -1, shape, scale (VVE; zeros for EVE), D,
    inner, err, target).
    """
    cdef int G = W.shape[0], d = W.shape[1], info = 0, k, i, j, l
    cdef int lwork_eig = 2 * d + 1, liwork = 1, lwork = -1
    cdef double query
    shape_a, scale_a, D_a = np.array(shape0), np.zeros(G), np.array(D0)
    cdef double[:, ::1] shape = shape_a, D = D_a
    cdef double[::1] scale = scale_a
    # dgesvd's workspace: LAPACK's own answer to a query
    dgesvd(b"A", b"A", &d, &d, &query, &d, &query, &query, &d, &query, &d, &query, &lwork, &info)
    lwork = max(<int> query, lwork_eig)
    cdef _Work mem = _Work(4 * d * d + 3 * G * d + G + d + lwork, liwork)
    cdef double* F = mem.p                 # column-major, for LAPACK
    cdef double* u = F + d * d
    cdef double* vt = u + d * d
    cdef double* WD = vt + d * d           # W_k D, row-major
    cdef double* inv_shape = WD + d * d    # (G, d)
    cdef double* diag = inv_shape + G * d  # (G, d): diag(D' W_k D)
    cdef double* sv = diag + G * d         # (G, d): the W_k's eigenvalues, then singular values
    cdef double* omega = sv + G * d        # (G,): W_k's largest eigenvalue
    cdef double* per_point = omega + G
    cdef double* work = per_point + d
    cdef double acc, top, geo, target = np.nan, target_old = FLMAX / 2, err = np.nan
    cdef long long inner = 0
    cdef Failure fail = OK
    cdef int bad = -1
    with nogil:
        # every eigen-decomposition first (numpy's batched eigvalsh fails as a
        # whole), then mclust's test, on the scatter itself, not on W_k / N_k
        for k in range(G):
            info = eigvalsh(&W[k, 0, 0], d, sv + k * d, F, work, lwork_eig, mem.ip, liwork)
            if info != 0:
                break
            omega[k] = sv[k * d + d - 1]
        if info == 0:
            for k in range(G):
                if not sv[k * d] >= RTEPS:
                    fail, bad = SMALL_EIGENVALUE, k
                    break
        while info == 0 and not fail:
            inner += 1
            check_signals(inner)
            for k in range(G):
                for j in range(d):
                    inv_shape[k * d + j] = 1.0 / shape[k, j]
            # MM step 1: F = sum_k A_k^-1 D' (W_k - omega_k I); D = (P R')'
            for i in range(d * d):
                F[i] = 0.0
            for k in range(G):
                for i in range(d):
                    for j in range(d):
                        acc = 0.0
                        for l in range(d):
                            acc += D[l, i] * W[k, l, j]
                        F[i + j * d] += inv_shape[k * d + i] * (acc - omega[k] * D[j, i])
            info = svd_product(F, d, True, &D[0, 0], sv, u, vt, work, lwork)
            if info != 0:
                break
            # MM step 2: F = sum_k (W_k D) (A_k^-1 - max A_k^-1); D = P R'
            for i in range(d * d):
                F[i] = 0.0
            for k in range(G):
                top = inv_shape[k * d]
                for j in range(1, d):
                    top = max(top, inv_shape[k * d + j])
                for i in range(d):
                    for j in range(d):
                        acc = 0.0
                        for l in range(d):
                            acc += W[k, i, l] * D[l, j]
                        F[i + j * d] += acc * (inv_shape[k * d + j] - top)
            info = svd_product(F, d, False, &D[0, 0], sv, u, vt, work, lwork)
            if info != 0:
                break
            # A_k (and lambda_k) given D, from diag(D' W_k D)
            for k in range(G):
                for i in range(d):
                    for j in range(d):
                        acc = 0.0
                        for l in range(d):
                            acc += W[k, i, l] * D[l, j]
                        WD[i * d + j] = acc
                for j in range(d):
                    acc = 0.0
                    for i in range(d):
                        acc += D[i, j] * WD[i * d + j]
                    diag[k * d + j] = acc
            target = 0.0
            for k in range(G):
                # EVE normalises diag(D' W_k D) to determinant 1; VVE the
                # per-point diag(D' W_k D) / N_k, whose scale is lambda_k
                for j in range(d):
                    per_point[j] = diag[k * d + j] / N[k] if vve else diag[k * d + j]
                geo = plain_geomean(per_point, d)
                for j in range(d):
                    shape[k, j] = per_point[j] / geo
                    target += diag[k * d + j] / shape[k, j]
                if vve:
                    scale[k] = geo
                if not fail and not (minimum(&shape[k, 0], d) >= RTEPS
                                     and (not vve or geo >= RTEPS)):
                    fail, bad = SHAPE_TOO_SMALL, k
            if fail:
                break
            err = fabs(target - target_old) / (1.0 + fabs(target))
            target_old = target
            if not (err > tol and inner < max_iter):
                break
    if info != 0:
        raise np.linalg.LinAlgError("Eigenvalues did not converge" if inner == 0
                                    else "SVD did not converge")
    return fail, bad, shape_a, scale_a, D_a, inner, err, target
