# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Hidden Markov model recursions: scaled forward-backward and Viterbi.

The emission model is not this module's business: it takes each row's log
emission densities (n, K) -- from the mixtures' own density kernels -- and
returns what the E-step needs from the hidden chain.

Scaling (Rabiner's, per step): with b_t(k) = exp(log b_t(k) - m_t), m_t the
row's largest log-density, the forward variables are normalised at every step,

    a_t = (a_{t-1} A) * b_t / c_t,   c_t = sum_k (a_{t-1} A)_k b_t(k),

so log p(y) = sum_t (log c_t + m_t): nothing underflows however long the
sequence or however far apart the states.  Backward, with u_{t+1} = b_{t+1} *
beta_{t+1} / c_{t+1}, beta_t = A u_{t+1}, gamma_t = a_t * beta_t, and the
expected transitions sum_t xi_t = A * sum_t a_t u_{t+1}' are accumulated
without a T x K x K array.  Exact zeros in A stay zeros.

Sequences go in a fixed set of chunks (whole sequences, split by row count
only); each chunk sums its own statistics and the chunks are added in order,
so results are bit-identical for any number of threads.
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, calloc, free
from libc.math cimport log, INFINITY

from _blockmath cimport emkit_exp_nonpos
from _omp cimport emkit_max_threads, emkit_thread_num

cdef enum:
    MAX_CHUNKS = 64


cdef Py_ssize_t _chunks(const Py_ssize_t[::1] bounds, Py_ssize_t* first) noexcept:
    """Split the sequences into chunks of about equal rows; first[c] is chunk
    c's first sequence (first[nch] = the number of sequences)."""
    cdef Py_ssize_t ns = bounds.shape[0] - 1, n = bounds[ns], s, c, nch
    nch = min(ns, <Py_ssize_t> MAX_CHUNKS)
    c = 0
    first[0] = 0
    for s in range(ns):
        # sequence s goes to the chunk its first row falls in
        while c + 1 < nch and bounds[s] * nch >= (c + 1) * n:
            c = c + 1
            first[c] = s
    while c + 1 <= nch:
        c = c + 1
        first[c] = ns
    return nch


def _check(logB, startprob, transmat, bounds):
    cdef Py_ssize_t n = logB.shape[0], K = logB.shape[1]
    if K == 0 or startprob.shape[0] != K or tuple(transmat.shape[:2]) != (K, K):
        raise ValueError(f"startprob must have {K} entries and transmat be ({K}, {K})")
    if bounds.shape[0] < 2 or bounds[0] != 0 or bounds[bounds.shape[0] - 1] != n:
        raise ValueError("bounds must run from 0 to the number of rows")
    for s in range(bounds.shape[0] - 1):
        if bounds[s + 1] <= bounds[s]:
            raise ValueError("every sequence needs at least one row")


def _check_outputs(post, scale, xi, start, Py_ssize_t n, Py_ssize_t K):
    if tuple(post.shape[:2]) != (n, K):
        raise ValueError(f"post must be ({n}, {K})")
    if xi is None:
        return
    if (scale is None or scale.shape[0] != n
            or xi is None or tuple(xi.shape[:2]) != (K, K)
            or start is None or start.shape[0] != K):
        raise ValueError("post (n, K) needs scale (n,), xi (K, K) and start (K,)")


def forward_backward(double[:, ::1] logB, const double[::1] startprob,
                     const double[:, ::1] transmat, const Py_ssize_t[::1] bounds,
                     double[::1] seq_loglik, double[:, ::1] post=None,
                     double[::1] scale=None, double[:, ::1] xi=None,
                     double[::1] start=None, int n_threads=0):
    """Log-likelihood of each sequence and, when ``post`` is given, the E-step.

    Parameters
    ----------
    logB : (n, K) log emission densities of every row under every state;
        overwritten (with scaled densities, then backward quantities).
    startprob : (K,); transmat : (K, K), rows summing to 1.
    bounds : (S + 1,) sequence s is rows bounds[s] .. bounds[s + 1] - 1.
    seq_loglik : (S,) output, each sequence's log-likelihood (-inf where the
        model gives the sequence probability zero).
    post : (n, K) output, posterior state probabilities; with it ``scale``
        (n,) scratch, ``xi`` (K, K) output, the expected transition counts
        summed over sequences, and ``start`` (K,) output, the summed posteriors
        of each sequence's first row.  Without it, a forward pass only.  Given
        with ``xi=None``: a forward pass that leaves the filtered
        probabilities p(s_t | y_1..y_t) in ``post``.
    n_threads : OpenMP threads over sequences; 0 for the OpenMP default.

    Returns
    -------
    float : the total log-likelihood (-inf if any sequence has probability 0).
    """
    cdef Py_ssize_t n = logB.shape[0], K = logB.shape[1], ns = bounds.shape[0] - 1
    _check(logB, startprob, transmat, bounds)
    if seq_loglik.shape[0] != ns:
        raise ValueError(f"seq_loglik must have {ns} entries")
    cdef bint filtered = post is not None and xi is None
    cdef bint full = post is not None and not filtered
    if full:
        _check_outputs(post, scale, xi, start, n, K)
    elif filtered:
        _check_outputs(post, None, None, None, n, K)

    cdef Py_ssize_t* first = <Py_ssize_t*> malloc((MAX_CHUNKS + 1) * sizeof(Py_ssize_t))
    if first == NULL:
        raise MemoryError()
    cdef Py_ssize_t nch = _chunks(bounds, first)
    cdef Py_ssize_t stride = K * K + K
    cdef double* acc = <double*> calloc(nch * stride, sizeof(double)) if full else NULL
    cdef int nthr = n_threads if n_threads > 0 else emkit_max_threads()
    nthr = <int> min(<Py_ssize_t> nthr, nch)
    cdef Py_ssize_t per_thread = 4 * K
    cdef double* buffers = <double*> malloc(nthr * per_thread * sizeof(double))
    if buffers == NULL or (full and acc == NULL):
        free(first); free(acc); free(buffers)
        raise MemoryError("cannot allocate the forward-backward buffers")

    cdef Py_ssize_t c, s
    cdef double* work
    cdef double* B = &logB[0, 0]
    cdef const double* A = &transmat[0, 0]
    with nogil, parallel(num_threads=nthr):
        work = buffers + emkit_thread_num() * per_thread
        for c in prange(nch, schedule='dynamic'):
            for s in range(first[c], first[c + 1]):
                if full:
                    seq_loglik[s] = _smooth(B, &startprob[0], A, bounds[s], bounds[s + 1], K,
                                            &post[0, 0], &scale[0], acc + c * stride,
                                            acc + c * stride + K * K, work)
                elif filtered:
                    seq_loglik[s] = _forward(B, &startprob[0], A, bounds[s], bounds[s + 1], K,
                                             &post[0, 0], NULL, NULL, NULL)
                else:
                    seq_loglik[s] = _forward(B, &startprob[0], A, bounds[s], bounds[s + 1], K,
                                             NULL, NULL, work, work + K)
    free(buffers)

    cdef Py_ssize_t i, j
    cdef double total = 0.0
    for s in range(ns):
        total += seq_loglik[s]
    if full:
        for i in range(K):
            start[i] = 0.0
            for j in range(K):
                xi[i, j] = 0.0
        for c in range(nch):
            for i in range(K):
                for j in range(K):
                    xi[i, j] += acc[c * stride + i * K + j]
                start[i] += acc[c * stride + K * K + i]
        for i in range(K):
            for j in range(K):
                xi[i, j] *= transmat[i, j]
        free(acc)
    free(first)
    return total


cdef double _forward(double* B, const double* pi, const double* A, Py_ssize_t t0,
                     Py_ssize_t t1, Py_ssize_t K, double* alpha, double* scale,
                     double* a, double* prev) noexcept nogil:
    """Scaled forward pass over rows t0..t1-1; B's rows become exp(log b - max).

    With ``alpha`` given, row t of alpha receives a_t and scale[t] = c_t;
    otherwise a and prev (K each) are the running vectors.  Returns the
    sequence's log-likelihood, -inf as soon as a step has probability 0.
    """
    cdef Py_ssize_t t, i, j
    cdef double mx, c, ll = 0.0, ai
    cdef double* b
    cdef double* cur = a
    cdef double* old = prev
    cdef double* tmp
    cdef const double* Ai
    for t in range(t0, t1):
        b = B + t * K
        mx = b[0]
        for j in range(1, K):
            mx = b[j] if b[j] > mx else mx
        if not mx > -INFINITY:   # no state can emit this row (or a NaN density)
            return -INFINITY
        for j in range(K):
            b[j] = emkit_exp_nonpos(b[j] - mx)
        if alpha != NULL:
            cur = alpha + t * K
            old = alpha + (t - 1) * K
        if t == t0:
            for j in range(K):
                cur[j] = pi[j] * b[j]
        else:
            for j in range(K):
                cur[j] = 0.0
            for i in range(K):
                ai = old[i]
                Ai = A + i * K
                for j in range(K):
                    cur[j] += ai * Ai[j]
            for j in range(K):
                cur[j] *= b[j]
        c = 0.0
        for j in range(K):
            c += cur[j]
        if not c > 0.0:
            return -INFINITY
        for j in range(K):
            cur[j] /= c
        if scale != NULL:
            scale[t] = c
        ll += log(c) + mx
        if alpha == NULL:
            tmp = old
            old = cur
            cur = tmp
    return ll


cdef double _smooth(double* B, const double* pi, const double* A, Py_ssize_t t0,
                    Py_ssize_t t1, Py_ssize_t K, double* post, double* scale,
                    double* xi_acc, double* start_acc, double* work) noexcept nogil:
    """Forward, then backward: post's rows t0..t1-1 become the posteriors,
    xi_acc (K, K) += sum_t a_t u_{t+1}', start_acc += gamma_t0."""
    cdef double ll = _forward(B, pi, A, t0, t1, K, post, scale, NULL, NULL)
    cdef Py_ssize_t t, i, j
    cdef double* beta = work
    cdef double* u = work + K
    cdef double* a
    cdef double* b
    cdef double* xr
    cdef const double* Ai
    cdef double inv, s, ai
    if not ll > -INFINITY:
        for t in range(t0, t1):
            for j in range(K):
                post[t * K + j] = 0.0
        return ll
    # gamma_{t1-1} = a_{t1-1}: already in place
    for j in range(K):
        beta[j] = 1.0
    for t in range(t1 - 2, t0 - 1, -1):
        b = B + (t + 1) * K
        inv = 1.0 / scale[t + 1]
        for j in range(K):
            u[j] = b[j] * beta[j] * inv
        a = post + t * K
        for i in range(K):
            ai = a[i]
            xr = xi_acc + i * K
            for j in range(K):
                xr[j] += ai * u[j]
        for i in range(K):
            Ai = A + i * K
            s = 0.0
            for j in range(K):
                s += Ai[j] * u[j]
            beta[i] = s
        # a_t * beta_t sums to 1 in exact arithmetic; renormalise the round-off
        s = 0.0
        for j in range(K):
            a[j] *= beta[j]
            s += a[j]
        s = 1.0 / s
        for j in range(K):
            a[j] *= s
    for j in range(K):
        start_acc[j] += post[t0 * K + j]
    return ll


def viterbi(const double[:, ::1] logB, const double[::1] log_startprob,
            const double[:, ::1] log_transmat, const Py_ssize_t[::1] bounds,
            int[::1] path, double[::1] seq_logprob, int n_threads=0):
    """Most probable state path of each sequence, in log space.

    Ties go to the lowest state number.  ``path`` (n,) and ``seq_logprob``
    (S,) are outputs; returns the summed log-probability of the paths.
    """
    cdef Py_ssize_t n = logB.shape[0], K = logB.shape[1], ns = bounds.shape[0] - 1
    _check(logB, log_startprob, log_transmat, bounds)
    if path.shape[0] != n or seq_logprob.shape[0] != ns:
        raise ValueError(f"path must have {n} entries and seq_logprob {ns}")
    cdef int* back = <int*> malloc(n * K * sizeof(int))
    cdef int nthr = n_threads if n_threads > 0 else emkit_max_threads()
    nthr = <int> min(<Py_ssize_t> nthr, ns)
    cdef double* buffers = <double*> malloc(nthr * 2 * K * sizeof(double))
    if back == NULL or buffers == NULL:
        free(back); free(buffers)
        raise MemoryError("cannot allocate the Viterbi back-pointers")
    cdef Py_ssize_t s
    cdef double* work
    with nogil, parallel(num_threads=nthr):
        work = buffers + emkit_thread_num() * 2 * K
        for s in prange(ns, schedule='dynamic'):
            seq_logprob[s] = _viterbi(&logB[0, 0], &log_startprob[0], &log_transmat[0, 0],
                                      bounds[s], bounds[s + 1], K, back, &path[0], work)
    free(back)
    free(buffers)
    cdef double total = 0.0
    for s in range(ns):
        total += seq_logprob[s]
    return total


cdef double _viterbi(const double* L, const double* lpi, const double* lA, Py_ssize_t t0,
                     Py_ssize_t t1, Py_ssize_t K, int* back, int* path,
                     double* work) noexcept nogil:
    cdef double* delta = work
    cdef double* nxt = work + K
    cdef double* tmp
    cdef double best, v
    cdef Py_ssize_t t, i, j
    cdef int arg
    cdef int* bt
    for j in range(K):
        delta[j] = lpi[j] + L[t0 * K + j]
    for t in range(t0 + 1, t1):
        bt = back + t * K
        for j in range(K):
            best = delta[0] + lA[j]
            arg = 0
            for i in range(1, K):
                v = delta[i] + lA[i * K + j]
                if v > best:
                    best = v
                    arg = <int> i
            nxt[j] = best + L[t * K + j]
            bt[j] = arg
        tmp = delta
        delta = nxt
        nxt = tmp
    best = delta[0]
    arg = 0
    for j in range(1, K):
        if delta[j] > best:
            best = delta[j]
            arg = <int> j
    path[t1 - 1] = arg
    for t in range(t1 - 1, t0, -1):
        arg = back[t * K + arg]
        path[t - 1] = arg
    return best
