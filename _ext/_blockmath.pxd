"""Block arithmetic shared by the E-step kernels.

Blocks are laid out (something x rows) so that the inner loops run over rows
and vectorise; the sums keep a fixed order (eight running sums), so results
do not depend on how the compiler vectorises.
"""
cdef extern from "exp_nonpos.h":
    double emkit_exp_nonpos(double x) noexcept nogil

from libc.math cimport log


cdef inline double responsibilities(double* L, double* lse, double* sm, const double* w,
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
            lk[i] = emkit_exp_nonpos(lk[i] - lse[i])
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


cdef inline double dot8(const double* a, const double* b, Py_ssize_t n) noexcept nogil:
    """sum_i a_i b_i with eight running sums: gcc turns them into two vector
    accumulators (independent chains) without licence to reorder floating-point
    sums, since the order is the one written here."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef double s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
    cdef Py_ssize_t i = 0
    while i + 8 <= n:
        s0 += a[i] * b[i]
        s1 += a[i + 1] * b[i + 1]
        s2 += a[i + 2] * b[i + 2]
        s3 += a[i + 3] * b[i + 3]
        s4 += a[i + 4] * b[i + 4]
        s5 += a[i + 5] * b[i + 5]
        s6 += a[i + 6] * b[i + 6]
        s7 += a[i + 7] * b[i + 7]
        i = i + 8
    while i < n:
        s0 += a[i] * b[i]
        i = i + 1
    return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))


cdef inline double sum8(const double* a, Py_ssize_t n) noexcept nogil:
    """sum_i a_i, eight running sums as in dot8."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef double s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
    cdef Py_ssize_t i = 0
    while i + 8 <= n:
        s0 += a[i]
        s1 += a[i + 1]
        s2 += a[i + 2]
        s3 += a[i + 3]
        s4 += a[i + 4]
        s5 += a[i + 5]
        s6 += a[i + 6]
        s7 += a[i + 7]
        i = i + 8
    while i < n:
        s0 += a[i]
        i = i + 1
    return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
