# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Merge loops of mclust's model-based agglomerative hierarchical clustering.

Reproduces, merge for merge, the Fortran routines ``hcvvv`` (criterion of the
unconstrained-covariance model VVV) and ``hceii`` (Ward's criterion, model
EII) of mclust 6.0.0 as R calls them from ``hcVVV`` / ``hcEII``.

Exactness.  Each step merges the pair with the smallest change in the
criterion, and ties are common (duplicate rows give exactly equal changes),
so the arithmetic follows the Fortran operation for operation: the same
scaled sums (sqrt(size) * mean), the same Givens-rotation updates of each
cluster's triangular factor (reference BLAS 3.11 ``drotg``/``drot``, as R's
reference BLAS has them), dot products summed left to right, and no fused
multiply-add (mclust and R's BLAS are built without it).  Ties go, as in
the Fortran scan ``if (d .le. dopt)``, to the last pair in the order (1,2),
(1,3), (2,3), (1,4), ... of the current cluster slots; slots are renumbered
as the Fortran does (the last cluster moves into the slot a merge frees).

Two details of mclust 6.0.0's hcvvv change its numbers, and are reproduced:
a merged cluster's factor is stored with its first row in every row (row k
is then read back as columns k.. of that first row), so only the pairs
evaluated right after a merge see the true factor; and the update loops
rotate the other cluster's factor rows in at mclrup row numbers that grow
by one per row (see ``_add_rows``).  Checked against the compiled mclust
library on random data, and against R on the reference data sets.

Cost.  The change for every pair of current clusters is kept, as in the
Fortran: a packed triangle of g(g-1)/2 doubles for g initial clusters.  The
Fortran rescans the whole triangle after each merge (O(g^3) in all); here
each row of the triangle keeps its minimum and only rows touched by a merge
are rescanned, which picks the same pair.  The initial table is filled in
parallel (each pair on its own, so results do not depend on the number of
threads); the merges are serial.  Cluster factors share a pool of n rows of p
doubles.
"""
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport log, exp, sqrt, fabs, copysign, ldexp, INFINITY
from libc.string cimport memcpy, memset

import numpy as np

cdef extern from *:
    """
    /* Sums and products must round exactly as mclust's Fortran does, which is
       built without fused multiply-add: no contraction here, whatever the
       build flags ask for. */
    #if defined(__clang__)
    #pragma clang fp contract(off)
    #elif defined(__GNUC__)
    #pragma GCC optimize ("fp-contract=off")
    #endif
    #ifdef _OPENMP
    #include <omp.h>
    static int _hc_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int _hc_max_threads(void) { return 1; }
    #endif
    """
    int _hc_max_threads() noexcept nogil

# constants of the Fortran source, to the digit
cdef double RTHALF = 0.7071067811865476
cdef double FLMAX = 1.7976931348623157e308
# drotg's scaling limits (radix**(minexponent-1) and its reciprocal)
cdef double SAFMIN = ldexp(1.0, -1022)
cdef double SAFMAX = ldexp(1.0, 1022)

# ---------------------------------------------------------------- BLAS, exactly

cdef inline void _rotg(double* a, double* b, double* c, double* s) noexcept nogil:
    # reference BLAS 3.11 drotg; b returns the reconstruction value z, which
    # mclust leaves in the (unused) lower triangle
    cdef double anorm = fabs(a[0]), bnorm = fabs(b[0])
    cdef double scl, sigma, r, z, ta, tb
    if bnorm == 0.0:
        c[0] = 1.0
        s[0] = 0.0
        b[0] = 0.0
    elif anorm == 0.0:
        c[0] = 0.0
        s[0] = 1.0
        a[0] = b[0]
        b[0] = 1.0
    else:
        scl = anorm if anorm > bnorm else bnorm
        if scl < SAFMIN:
            scl = SAFMIN
        if scl > SAFMAX:
            scl = SAFMAX
        sigma = copysign(1.0, a[0]) if anorm > bnorm else copysign(1.0, b[0])
        ta = a[0] / scl
        tb = b[0] / scl
        r = sigma * (scl * sqrt(ta * ta + tb * tb))
        c[0] = a[0] / r
        s[0] = b[0] / r
        if anorm > bnorm:
            z = s[0]
        elif c[0] != 0.0:
            z = 1.0 / c[0]
        else:
            z = 1.0
        a[0] = r
        b[0] = z


cdef inline void _rot(int n, double* x, double* y, double c, double s) noexcept nogil:
    cdef int i
    cdef double t
    for i in range(n):
        t = c * x[i] + s * y[i]
        y[i] = c * y[i] - s * x[i]
        x[i] = t


cdef inline double _dot(int n, const double* x, const double* y) noexcept nogil:
    # reference ddot's unrolled loop still adds left to right
    cdef int i
    cdef double s = 0.0
    for i in range(n):
        s = s + x[i] * y[i]
    return s


cdef void _rankone(int l, int n, double* v, double* r, int lr) noexcept nogil:
    """mclust's mclrup: add row v to the n x n upper-triangular factor r (row
    stride lr) of a cluster of l-1 points growing to l.  While l-1 <= n the
    factor has l-2 rows and v becomes row l-1, rotated against the rows above;
    after that v is rotated into the full factor."""
    cdef int k = l - 1, i
    cdef double c, s
    cdef double* rk
    if l == 1:
        return
    if k <= n:
        rk = r + (k - 1) * lr
        memcpy(rk, v, n * sizeof(double))
        if k == 1:
            return
        for i in range(k - 1):
            _rotg(&r[i * lr + i], &rk[i], &c, &s)
            _rot(n - 1 - i, &r[i * lr + i + 1], &rk[i + 1], c, s)
    else:
        for i in range(n - 1):
            _rotg(&r[i * lr + i], &v[i], &c, &s)
            _rot(n - 1 - i, &r[i * lr + i + 1], &v[i + 1], c, s)
        _rotg(&r[(n - 1) * lr + n - 1], &v[n - 1], &c, &s)


# ---------------------------------------------------------------- VVV criterion

ctypedef struct State:
    int p
    double alpha, beta, ablog
    double* xm          # [slot, p]: sqrt(size) * cluster mean
    int* size           # [slot]
    double* trace       # [slot]: trace of the scatter matrix (size >= 2)
    double* term        # [slot]: the cluster's criterion term (size >= 2)
    int* fhead          # [slot]: pool row holding factor row 1, -1 if none
    int* fnext          # [pool row]: pool row holding the next factor row
    double* pool        # [n, p]: factor rows, row k used from column k on
    int* free_rows      # stack of unused pool rows
    int nfree


ctypedef struct Pair:
    double d, trc, trm, termi, termj
    double wa, wb       # weights of the two clusters' scaled sums in the merge
    int nij


cdef inline int _nrows(const State* st, int c) noexcept nogil:
    # the factor of m points has min(m - 1, p) rows
    cdef int m = st.size[c] - 1
    return m if m < st.p else st.p


cdef void _load(const State* st, int c, double* u) noexcept nogil:
    cdef int k, p = st.p, row = st.fhead[c]
    for k in range(_nrows(st, c)):
        memcpy(&u[k * p + k], &st.pool[row * p + k], (p - k) * sizeof(double))
        row = st.fnext[row]


cdef void _add_rows(const State* st, int c, int base, int step, double* u,
                    double* w) noexcept nogil:
    # mclust pools two clusters by rotating the factor rows of one, row k into
    # the trailing block (k, k) of the other's factor (of a cluster of size
    # base) as mclrup's row number base + 1 + step * k: step is 0 where mclust
    # builds a pair's factor afresh and 1 in its update loops, where every
    # row after the first lands one row further down (with a zero row between,
    # which changes the rounding, not the sum of squares)
    cdef int k, p = st.p, row = st.fhead[c]
    for k in range(_nrows(st, c)):
        memcpy(w, &st.pool[row * p + k], (p - k) * sizeof(double))
        _rankone(base + 1 + step * k, p - k, w, &u[k * p + k], p)
        row = st.fnext[row]


cdef void _release(State* st, int c) noexcept nogil:
    cdef int k, row = st.fhead[c]
    for k in range(_nrows(st, c)):
        st.free_rows[st.nfree] = row
        st.nfree += 1
        row = st.fnext[row]
    st.fhead[c] = -1


cdef void _store(State* st, int c, const double* r, int nrows, bint as_mclust) noexcept nogil:
    """Keep nrows factor rows of r as cluster c's.  as_mclust: store what
    mclust 6.0.0 stores for a merged cluster, its first row in every row (row
    k of the stored factor is then read as columns k.. of r's first row)."""
    cdef int k, row, prev = -1, p = st.p
    st.fhead[c] = -1
    for k in range(nrows):
        st.nfree -= 1
        row = st.free_rows[st.nfree]
        if as_mclust:
            memcpy(&st.pool[row * p], r, p * sizeof(double))
        else:
            memcpy(&st.pool[row * p + k], &r[k * p + k], (p - k) * sizeof(double))
        if prev < 0:
            st.fhead[c] = row
        else:
            st.fnext[prev] = row
        prev = row


cdef double _logdet(int p, const double* u, double s) noexcept nogil:
    # mclust's det2mc: log det((s u)'(s u)), -FLMAX when singular
    cdef int k
    cdef double q, acc = 0.0
    for k in range(p):
        q = u[k * p + k] * s
        if q == 0.0:
            return -FLMAX
        acc = acc + log(fabs(q))
    return 2.0 * acc


cdef double _cluster_term(const State* st, int l, const double* u, double s,
                          double trac) noexcept nogil:
    # mclust's vvvtij: l * log(det(W/l) + beta (tr W + alpha) / l), computed
    # stably; only the trace term while the cluster has no more than p points
    cdef double val, detlog, dl = <double> l
    cdef double alpha = st.alpha, beta = st.beta
    if l <= st.p:
        val = log(beta * (trac + alpha) / dl)
    elif trac == 0.0:
        val = log((alpha * beta) / dl)
    else:
        detlog = _logdet(st.p, u, s)
        if detlog == -FLMAX:
            val = log(beta * (trac + alpha) / dl)
        elif detlog <= 0.0:
            val = log(exp(detlog) + beta * (trac + alpha) / dl)
        else:
            val = log(1.0 + exp(-detlog) * (beta * (trac + alpha) / dl)) + detlog
    return dl * val


cdef inline void _axpby(int p, double a, const double* x, double b, const double* y,
                        double* out) noexcept nogil:
    # dcopy(x); dscal(a); daxpy(b, y): out = a x + b y, rounded as two steps
    cdef int k
    for k in range(p):
        out[k] = a * x[k]
    for k in range(p):
        out[k] = out[k] + b * y[k]


cdef inline int _merge_weights(int ni, int nj, double* si, double* sj,
                               double* sij) noexcept nogil:
    """The Fortran's merge weights, in its order: q = 1/(ni + nj),
    si = sqrt(ni q), sj = sqrt(nj q), sij = sqrt(q) (for a size of 1, sqrt(1 q)
    is sqrt(q) to the bit).  Returns ni + nj."""
    cdef int nij = ni + nj
    cdef double qij = 1.0 / (<double> nij)
    si[0] = sqrt(<double> ni * qij)
    sj[0] = sqrt(<double> nj * qij)
    sij[0] = sqrt(qij)
    return nij


cdef double _pair_fresh(const State* st, int i, int j, double* u, double* v, double* w,
                        Pair* out) noexcept nogil:
    """Change in the criterion for merging slots i < j, computed as in the
    Fortran's initial loop (and its block for a pair found by the scan): the
    factor of j, or of i when j is a singleton, is the base.  u receives the
    merged factor."""
    cdef int p = st.p, ni = st.size[i], nj = st.size[j], nij, k
    cdef const double* xi = st.xm + i * p
    cdef const double* xj = st.xm + j * p
    cdef double termi, termj, trc, trm, si, sj, sij
    if nj == 1:
        termj = st.ablog
        if ni == 1:
            nij = 2
            si = RTHALF
            sj = RTHALF
            for k in range(p):
                v[k] = xi[k] + (-1.0) * xj[k]
            for k in range(p):
                v[k] = RTHALF * v[k]
            trc = _dot(p, v, v)
            memcpy(u, v, p * sizeof(double))
            trm = 2.0 * log(st.beta * (trc + st.alpha) / 2.0)
            termi = st.ablog
        else:
            _load(st, i, u)
            termi = st.term[i]
            nij = _merge_weights(ni, nj, &si, &sj, &sij)
            _axpby(p, sj, xi, -si, xj, v)
            trc = st.trace[i] + _dot(p, v, v)
            _rankone(nij, p, v, u, p)
            trm = _cluster_term(st, nij, u, sij, trc)
    else:
        _load(st, j, u)
        termj = st.term[j]
        if ni == 1:
            nij = _merge_weights(ni, nj, &si, &sj, &sij)
            _axpby(p, sj, xi, -si, xj, v)
            trc = st.trace[j] + _dot(p, v, v)
            termi = st.ablog
        else:
            _add_rows(st, i, nj, 0, u, w)
            termi = st.term[i]
            nij = _merge_weights(ni, nj, &si, &sj, &sij)
            _axpby(p, sj, xi, -si, xj, v)
            trc = (st.trace[i] + st.trace[j]) + _dot(p, v, v)
        _rankone(nij, p, v, u, p)
        trm = _cluster_term(st, nij, u, sij, trc)
    if out != NULL:
        out.trc = trc
        out.trm = trm
        out.termi = termi
        out.termj = termj
        out.nij = nij
        out.wa = si
        out.wb = sj
    return trm - (termi + termj)


cdef double _pair_grown(const State* st, int a, int j, const double* fa, double* u,
                        double* v, double* w, Pair* out) noexcept nogil:
    """Change in the criterion for merging the cluster just formed in slot a
    (its factor fa as computed, not as stored) with slot j, as the Fortran's
    update loops compute it: a's factor is the base, in a zeroed work array.
    wa, wb are the weights of a and j."""
    cdef int p = st.p, ni = st.size[a], nj = st.size[j], nij, k
    cdef const double* xa = st.xm + a * p
    cdef const double* xj = st.xm + j * p
    cdef double termj, trc, trm, si, sj, sij
    memset(u, 0, p * p * sizeof(double))
    for k in range(ni - 1 if ni - 1 < p else p):
        memcpy(&u[k * p + k], &fa[k * p + k], (p - k) * sizeof(double))
    if nj == 1:
        nij = _merge_weights(ni, nj, &si, &sj, &sij)
        _axpby(p, si, xj, -sj, xa, v)
        trc = st.trace[a] + _dot(p, v, v)
        termj = st.ablog
    else:
        _add_rows(st, j, ni, 1, u, w)
        termj = st.term[j]
        nij = _merge_weights(ni, nj, &si, &sj, &sij)
        _axpby(p, si, xj, -sj, xa, v)
        trc = (st.trace[a] + st.trace[j]) + _dot(p, v, v)
    _rankone(nij, p, v, u, p)
    trm = _cluster_term(st, nij, u, sij, trc)
    if out != NULL:
        out.trc = trc
        out.trm = trm
        out.termi = st.term[a]
        out.termj = termj
        out.nij = nij
        out.wa = si
        out.wb = sj
    return trm - (st.term[a] + termj)


# ---------------------------------------------------------------- pair table

cdef inline Py_ssize_t _pos(Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    # packed position of the pair (i, j), i < j, in the Fortran's order
    return j * (j - 1) // 2 + i


cdef void _swap_into(double* D, int b, int last) noexcept nogil:
    """mclust's wardsw: the pairs of slot `last` take the place of slot b's;
    b's old pairs land in last's row (Ward's update reads them there)."""
    cdef int k
    cdef double t
    cdef Py_ssize_t x, y
    for k in range(b):
        x = _pos(k, b)
        y = _pos(k, last)
        t = D[x]
        D[x] = D[y]
        D[y] = t
    for k in range(b + 1, last):
        x = _pos(b, k)
        y = _pos(k, last)
        t = D[x]
        D[x] = D[y]
        D[y] = t


cdef void _rescan(const double* D, int j, double* rmin, int* rarg) noexcept nogil:
    # last position holding the row's minimum, as the Fortran's `.le.` scan
    cdef int i
    cdef double x, best = INFINITY
    cdef int arg = -1
    cdef const double* row = D + _pos(0, j)
    for i in range(j):
        x = row[i]
        if x <= best:
            best = x
            arg = i
    rmin[j] = best
    rarg[j] = arg


cdef inline void _offer(const double* D, int k, int c, double* rmin, int* rarg) noexcept nogil:
    # position c of row k changed and did not hold the row's minimum
    cdef double x = D[_pos(c, k)]
    if x < rmin[k] or (x == rmin[k] and c > rarg[k]):
        rmin[k] = x
        rarg[k] = c


cdef void _after_merge(const double* D, int a, int b, int lg, double* rmin,
                       int* rarg) noexcept nogil:
    """Row minima after slots a < b merged into a, the last slot (now lg)
    moved into b, and a's pairs were recomputed."""
    cdef int k
    if a >= 1:
        _rescan(D, a, rmin, rarg)
    if b < lg:
        _rescan(D, b, rmin, rarg)
    for k in range(a + 1, lg):
        if k == b:
            continue
        if rarg[k] == a or (b < k and rarg[k] == b):
            _rescan(D, k, rmin, rarg)
        else:
            _offer(D, k, a, rmin, rarg)
            if b < k:
                _offer(D, k, b, rmin, rarg)


cdef int _pick(const double* rmin, const int* rarg, int lg, int* io, int* jo,
               double* dval) noexcept nogil:
    # the last pair, in table order, with the smallest change
    cdef int j, bj = -1
    cdef double best = INFINITY
    for j in range(1, lg):
        if rarg[j] >= 0 and rmin[j] <= best:
            best = rmin[j]
            bj = j
    if bj < 0:
        return -1
    io[0] = rarg[bj]
    jo[0] = bj
    dval[0] = best
    return 0


def _threads(int n_threads):
    cdef int m = _hc_max_threads()
    if n_threads <= 0 or n_threads > m:
        return m
    return n_threads


# ---------------------------------------------------------------- VVV

def vvv_merges(const double[:, ::1] X, const int[::1] order, const int[::1] start,
               int ns, double alpha, double beta, int n_threads=0):
    """Merge sequence of mclust's hcvvv.

    Parameters
    ----------
    X : (n, p) float64 C-contiguous
        Data (already transformed as ``hc``'s ``use`` asks).
    order, start : int32
        Initial groups in the Fortran's order: group g (slot g) is rows
        ``order[start[g]:start[g + 1]]``, its head first, then its other rows
        in the order the Fortran pools them.
    ns : int
        Number of merges (groups - minclus), at least 1.
    alpha, beta : float
        The criterion's alpha (already scaled by the trace and bounded below
        as hcVVV does) and beta.
    n_threads : int
        OpenMP threads for the initial table of pairs, 0 for the default;
        results do not depend on it.

    Returns
    -------
    (ns, 2) int32 array
        Slots (0-based, i < j) merged at each step, before the Fortran's
        relabelling.
    """
    cdef int n = X.shape[0], p = X.shape[1], ng = start.shape[0] - 1
    cdef int nthr = _threads(n_threads)
    cdef int wsz = p * p + 2 * p
    cdef Py_ssize_t npairs = <Py_ssize_t> ng * (ng - 1) // 2
    if ng < 2 or ns < 1 or ns > ng - 1:
        raise ValueError("need at least two groups and 1 <= merges < groups")

    xm_a = np.empty((ng, p))
    size_a = np.empty(ng, dtype=np.intc)
    trace_a = np.zeros(ng)
    term_a = np.zeros(ng)
    fhead_a = np.full(ng, -1, dtype=np.intc)
    fnext_a = np.full(n, -1, dtype=np.intc)
    pool_a = np.zeros((n, p))
    free_a = np.arange(n - 1, -1, -1, dtype=np.intc)
    D_a = np.empty(max(npairs, 1))
    rmin_a = np.full(ng, INFINITY)
    rarg_a = np.full(ng, -1, dtype=np.intc)
    work_a = np.zeros(max(nthr, 1) * wsz)
    R_a = np.zeros(p * p)
    Fa_a = np.zeros(p * p)
    mine_a = np.zeros(wsz)
    newm_a = np.empty(p)
    steps_a = np.empty((ns, 2), dtype=np.intc)

    cdef double[:, ::1] xm = xm_a
    cdef int[::1] size = size_a, fhead = fhead_a, fnext = fnext_a, free_rows = free_a
    cdef int[::1] rarg = rarg_a
    cdef double[::1] trace = trace_a, term = term_a, D = D_a, rmin = rmin_a
    cdef double[::1] work = work_a, R = R_a, Fa_v = Fa_a, mine = mine_a, newm = newm_a
    cdef double[:, ::1] pool = pool_a
    cdef int[:, ::1] steps = steps_a

    cdef State st
    st.p = p
    st.alpha = alpha
    st.beta = beta
    st.ablog = log(beta * alpha)
    st.xm = &xm[0, 0]
    st.size = &size[0]
    st.trace = &trace[0]
    st.term = &term[0]
    st.fhead = &fhead[0]
    st.fnext = &fnext[0]
    st.pool = &pool[0, 0]
    st.free_rows = &free_rows[0]
    st.nfree = n

    cdef double* Dp = &D[0]
    cdef double* rminp = &rmin[0]
    cdef int* rargp = &rarg[0]
    cdef double* u0 = &mine[0]
    cdef double* v0 = u0 + p * p
    cdef double* w0 = v0 + p
    cdef double* Rp = &R[0]
    cdef double* Fa = &Fa_v[0]
    cdef double* buf
    cdef int g, l, m, k, jrow, i, j, a, b, lg, ls, io, jo, nopt, other
    cdef double qj, si, sj, trc, dopt, trop, tmop, wi, wj
    cdef Pair pr

    with nogil:
        # initial groups: pool each group's rows one at a time (the
        # Fortran's "simulated merges"), keeping sqrt(size) * mean
        for g in range(ng):
            memcpy(&xm[g, 0], &X[order[start[g]], 0], p * sizeof(double))
            l = 1
            sj = 1.0
            trc = 0.0
            if start[g + 1] - start[g] > 1:
                memset(Rp, 0, p * p * sizeof(double))
            for k in range(start[g] + 1, start[g + 1]):
                jrow = order[k]
                m = l + 1
                qj = 1.0 / <double> m
                si = sqrt(<double> l * qj)
                sj = sqrt(qj)
                _axpby(p, si, &X[jrow, 0], -sj, &xm[g, 0], v0)
                trc = trc + _dot(p, v0, v0)
                _axpby(p, si, &xm[g, 0], sj, &X[jrow, 0], w0)
                memcpy(&xm[g, 0], w0, p * sizeof(double))
                _rankone(m, p, v0, Rp, p)
                l = m
            size[g] = l
            if l >= 2:
                trace[g] = trc
                term[g] = _cluster_term(&st, l, Rp, sj, trc)
                _store(&st, g, Rp, l - 1 if l - 1 < p else p, False)

        # every pair's change, one table row per task
        with parallel(num_threads=nthr):
            buf = &work[0] + threadid() * wsz
            for j in prange(1, ng, schedule='dynamic', chunksize=8):
                for i in range(j):
                    Dp[_pos(i, j)] = _pair_fresh(&st, i, j, buf, buf + p * p,
                                                 buf + p * p + p, NULL)
                _rescan(Dp, j, rminp, rargp)

        _pick(rminp, rargp, ng, &io, &jo, &dopt)
        ls = 0
        if ns == 1:
            steps[0, 0] = io
            steps[0, 1] = jo
            ls = 1
        else:
            _pair_fresh(&st, io, jo, Rp, v0, w0, &pr)
            trop = pr.trc
            tmop = pr.trm
            nopt = pr.nij
            wi = pr.wa
            wj = pr.wb
            lg = ng
        while ls < ns:
            # merge slots io < jo into io; the last slot moves into jo
            _axpby(p, wi, &xm[io, 0], wj, &xm[jo, 0], &newm[0])
            _release(&st, io)
            _release(&st, jo)
            lg = lg - 1
            if jo != lg:
                _swap_into(Dp, jo, lg)
                memcpy(&xm[jo, 0], &xm[lg, 0], p * sizeof(double))
                size[jo] = size[lg]
                trace[jo] = trace[lg]
                term[jo] = term[lg]
                fhead[jo] = fhead[lg]
            _store(&st, io, Rp, nopt - 1 if nopt - 1 < p else p, True)
            memcpy(Fa, Rp, p * p * sizeof(double))
            memcpy(&xm[io, 0], &newm[0], p * sizeof(double))
            size[io] = nopt
            trace[io] = trop
            term[io] = tmop
            steps[ls, 0] = io
            steps[ls, 1] = jo
            ls = ls + 1
            a = io
            b = jo

            # pairs with the new cluster.  Serial: a parallel region per merge
            # ends in a barrier per merge, and on a busy machine each barrier
            # can wait a scheduler time slice for a descheduled thread
            # (measured: n = 2000 took 13 s on two threads, 0.7 s on one)
            for j in range(lg):
                if j != a:
                    Dp[_pos(a, j) if a < j else _pos(j, a)] = _pair_grown(
                        &st, a, j, Fa, u0, v0, w0, NULL)
            _after_merge(Dp, a, b, lg, rminp, rargp)

            if lg == 2:
                steps[ls, 0] = 0
                steps[ls, 1] = 1
                ls = ls + 1
                break
            _pick(rminp, rargp, lg, &io, &jo, &dopt)
            if ls + 1 == ns:
                steps[ls, 0] = io
                steps[ls, 1] = jo
                ls = ls + 1
                break
            if io == a or jo == a:
                # pair with the new cluster: the update loop's values
                other = jo if io == a else io
                _pair_grown(&st, a, other, Fa, Rp, v0, w0, &pr)
                trop = pr.trc
                tmop = pr.trm
                if other < a:
                    wi = pr.wb
                    wj = pr.wa
                else:
                    wi = pr.wa
                    wj = pr.wb
            else:
                # older pair: the Fortran recomputes its factor (from the
                # factors as stored) and takes the merged term from the
                # stored change
                memset(Rp, 0, p * p * sizeof(double))
                _pair_fresh(&st, io, jo, Rp, v0, w0, &pr)
                trop = pr.trc
                tmop = dopt + (pr.termi + pr.termj)
                wi = pr.wa
                wj = pr.wb
            nopt = pr.nij
    return steps_a


# ---------------------------------------------------------------- EII (Ward)

cdef inline double _ward(const double* xm, int p, int i, int j, int ni, int nj,
                         double* v) noexcept nogil:
    # hceii: ||sqrt(nj/nij) xm_i - sqrt(ni/nij) xm_j||^2
    cdef double rij = <double> (ni + nj)
    cdef double si = sqrt(<double> ni / rij), sj = sqrt(<double> nj / rij)
    _axpby(p, sj, xm + i * p, -si, xm + j * p, v)
    return _dot(p, v, v)


def eii_merges(const double[:, ::1] X, const int[::1] order, const int[::1] start,
               int ns, int n_threads=0):
    """Merge sequence of mclust's hceii (Ward's criterion).

    Arguments and result as :func:`vvv_merges` (no alpha or beta).
    """
    cdef int n = X.shape[0], p = X.shape[1], ng = start.shape[0] - 1
    cdef int nthr = _threads(n_threads)
    cdef Py_ssize_t npairs = <Py_ssize_t> ng * (ng - 1) // 2
    if ng < 2 or ns < 1 or ns > ng - 1:
        raise ValueError("need at least two groups and 1 <= merges < groups")

    xm_a = np.empty((ng, p))
    size_a = np.empty(ng, dtype=np.intc)
    D_a = np.empty(max(npairs, 1))
    rmin_a = np.full(ng, INFINITY)
    rarg_a = np.full(ng, -1, dtype=np.intc)
    work_a = np.zeros(max(nthr, 1) * p)
    steps_a = np.empty((ns, 2), dtype=np.intc)

    cdef double[:, ::1] xm = xm_a
    cdef int[::1] size = size_a, rarg = rarg_a
    cdef double[::1] D = D_a, rmin = rmin_a, work = work_a
    cdef int[:, ::1] steps = steps_a
    cdef double* Dp = &D[0]
    cdef double* rminp = &rmin[0]
    cdef int* rargp = &rarg[0]
    cdef double* buf
    cdef int g, k, m, i, j, a, b, lg, ls, io, jo, jrow
    cdef double si, sj, sij, rj, dold, dij, dopt
    cdef Py_ssize_t last_row

    with nogil:
        # sqrt(size) * group mean, pooled row by row as hceii does
        for g in range(ng):
            memcpy(&xm[g, 0], &X[order[start[g]], 0], p * sizeof(double))
            m = 1
            for k in range(start[g] + 1, start[g + 1]):
                jrow = order[k]
                sj = sqrt(1.0 / <double> (m + 1))
                si = sqrt(<double> m) * sj
                for i in range(p):
                    xm[g, i] = si * xm[g, i]
                for i in range(p):
                    xm[g, i] = xm[g, i] + sj * X[jrow, i]
                m = m + 1
            size[g] = m

        with parallel(num_threads=nthr):
            buf = &work[0] + threadid() * p
            for j in prange(1, ng, schedule='dynamic', chunksize=8):
                for i in range(j):
                    Dp[_pos(i, j)] = _ward(&xm[0, 0], p, i, j, size[i], size[j], buf)
                _rescan(Dp, j, rminp, rargp)

        _pick(rminp, rargp, ng, &io, &jo, &dopt)
        lg = ng
        ls = 0
        while True:
            if ls + 1 == ns:
                steps[ls, 0] = io
                steps[ls, 1] = jo
                break
            a = io
            b = jo
            si = <double> size[a]
            sj = <double> size[b]
            size[a] = size[a] + size[b]
            sij = <double> size[a]
            lg = lg - 1
            if b != lg:
                _swap_into(Dp, b, lg)
                size[b] = size[lg]
            dold = dopt
            steps[ls, 0] = a
            steps[ls, 1] = b
            ls = ls + 1
            # Lance-Williams update; the merged-away cluster's pairs now sit
            # in the old last row
            last_row = _pos(0, lg)
            for j in range(lg):
                if j == a:
                    continue
                rj = <double> size[j]
                dij = (rj + si) * Dp[_pos(a, j) if a < j else _pos(j, a)] \
                    + (rj + sj) * Dp[last_row + j]
                dij = (dij - rj * dold) / (rj + sij)
                Dp[_pos(a, j) if a < j else _pos(j, a)] = dij
            _after_merge(Dp, a, b, lg, rminp, rargp)
            if lg == 2:
                steps[ls, 0] = 0
                steps[ls, 1] = 1
                break
            _pick(rminp, rargp, lg, &io, &jo, &dopt)
    return steps_a


# ---------------------------------------------------------------- helpers

def trace_w(const double[:, ::1] X):
    """mclust's traceW (Fortran mcltrw): trace of the within scatter matrix of
    X / sqrt(n p), as hcVVV scales alpha by it."""
    cdef int n = X.shape[0], p = X.shape[1], i, j
    cdef double scale = sqrt(<double> n * <double> p)
    cdef double fac = 1.0 / sqrt(<double> n), ss = 0.0, acc, t
    u_a = np.zeros(p)
    cdef double[::1] u = u_a
    with nogil:
        for i in range(n):
            for j in range(p):
                u[j] = u[j] + fac * (X[i, j] / scale)
        for j in range(p):
            acc = 0.0
            for i in range(n):
                t = X[i, j] / scale + (-fac) * u[j]
                acc = acc + t * t
            ss = ss + acc
    return ss
