"""The HMM kernel (emkit._hmm: scaled forward-backward and Viterbi) against a
plain log-space reference written here with scipy's logsumexp, and the
Gaussian kernel's halves that the HMMs use (``mode="densities"`` and
``mode="given"``) against scipy.stats and numpy sums."""
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from emkit import _gaussian, _hmm, gaussian

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


# --------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------
def _bounds(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.intp)


def reference_forward_backward(logB, startprob, transmat, lengths):
    """(seq_loglik, posteriors, summed xi, start counts, filtered) in log space.

    The log forward and backward variables are re-centred at every step (the
    offsets summed into the log-likelihood); otherwise they grow to ~1e4 and
    the posteriors, differences of such numbers, would lose 12 digits.
    """
    n, K = logB.shape
    with np.errstate(divide="ignore"):
        lpi, lA = np.log(startprob), np.log(transmat)
    seq_ll, post, filt = [], np.zeros((n, K)), np.zeros((n, K))
    xi, start = np.zeros((K, K)), np.zeros(K)
    bounds = _bounds(lengths)
    for a, b in zip(bounds[:-1], bounds[1:]):
        T = b - a
        la, lb = np.empty((T, K)), np.zeros((T, K))
        ll = 0.0
        for t in range(T):
            la[t] = (lpi if t == 0 else logsumexp(la[t - 1][:, None] + lA, axis=0)) \
                + logB[a + t]
            c = logsumexp(la[t])
            la[t] -= c  # the filtered log-probabilities
            ll += c
        for t in range(T - 2, -1, -1):
            lb[t] = logsumexp(lA + (logB[a + t + 1] + lb[t + 1])[None, :], axis=1)
            lb[t] -= lb[t].max()
        seq_ll.append(ll)
        g = la + lb
        post[a:b] = np.exp(g - logsumexp(g, axis=1, keepdims=True))
        filt[a:b] = np.exp(la)
        start += post[a]
        for t in range(T - 1):
            lx = la[t][:, None] + lA + (logB[a + t + 1] + lb[t + 1])[None, :]
            xi += np.exp(lx - logsumexp(lx))
    return np.array(seq_ll), post, xi, start, filt


def reference_viterbi(logB, startprob, transmat, lengths):
    """Numpy dynamic programme; ties to the lowest state (np.argmax's first maximum)."""
    with np.errstate(divide="ignore"):
        lpi, lA = np.log(startprob), np.log(transmat)
    path, lps = np.empty(logB.shape[0], dtype=int), []
    bounds = _bounds(lengths)
    for a, b in zip(bounds[:-1], bounds[1:]):
        delta = lpi + logB[a]
        back = []
        for t in range(a + 1, b):
            cand = delta[:, None] + lA
            back.append(cand.argmax(0))
            delta = cand.max(0) + logB[t]
        state = int(delta.argmax())
        lps.append(delta[state])
        path[b - 1] = state
        for t in range(b - 1, a, -1):
            state = int(back[t - a - 1][state])
            path[t - 1] = state
    return np.array(lps), path


def run_forward_backward(logB, startprob, transmat, lengths, n_threads=0):
    n, K = logB.shape
    seq_ll = np.empty(len(lengths))
    post, scale, xi, start = np.empty((n, K)), np.empty(n), np.empty((K, K)), np.empty(K)
    total = _hmm.forward_backward(np.array(logB), startprob, transmat, _bounds(lengths),
                                  seq_ll, post, scale, xi, start, n_threads)
    return total, seq_ll, post, xi, start


def run_viterbi(logB, startprob, transmat, lengths, n_threads=0):
    path = np.empty(logB.shape[0], dtype=np.int32)
    lps = np.empty(len(lengths))
    with np.errstate(divide="ignore"):
        total = _hmm.viterbi(np.ascontiguousarray(logB), np.log(startprob),
                             np.log(transmat), _bounds(lengths), path, lps, n_threads)
    return total, lps, path


def _problem(K, lengths, seed=0, zeros=False):
    """Log densities with a wide range (rows far out in the tails) and a
    random chain; ``zeros`` puts exact zeros in transmat and startprob."""
    rng = np.random.default_rng(seed)
    n = sum(lengths)
    logB = rng.normal(scale=3.0, size=(n, K)) - 2.0
    far = rng.random(n) < 0.1
    logB[far] -= rng.uniform(300, 900, far.sum())[:, None]  # exp() would underflow
    startprob = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.ones(K), K) + 3 * np.eye(K)
    if zeros and K > 1:
        transmat[rng.random((K, K)) < 0.35] = 0.0
        np.fill_diagonal(transmat, 1.0)
        startprob[-1] = 0.0
    transmat /= transmat.sum(1, keepdims=True)
    return np.ascontiguousarray(logB), startprob / startprob.sum(), transmat


LENGTHS = [1, 37, 250, 2, 120, 1, 64]


# --------------------------------------------------------------------------
# forward-backward
# --------------------------------------------------------------------------
@pytest.mark.parametrize("K", [1, 2, 3, 5])
@pytest.mark.parametrize("zeros", [False, True])
def test_forward_backward_matches_log_space(K, zeros):
    logB, pi, A = _problem(K, LENGTHS, seed=K, zeros=zeros)
    ref_ll, ref_post, ref_xi, ref_start, _ = reference_forward_backward(logB, pi, A, LENGTHS)
    total, seq_ll, post, xi, start = run_forward_backward(logB, pi, A, LENGTHS)
    np.testing.assert_allclose(seq_ll, ref_ll, rtol=1e-12)
    assert total == pytest.approx(ref_ll.sum(), rel=1e-13)
    np.testing.assert_allclose(post, ref_post, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(post.sum(1), 1.0, rtol=0, atol=1e-13)
    np.testing.assert_allclose(xi, ref_xi, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(start, ref_start, rtol=1e-12, atol=1e-14)
    # every row but each sequence's last has one transition out
    assert xi.sum() == pytest.approx(sum(LENGTHS) - len(LENGTHS), rel=1e-12)
    if zeros:
        assert np.all(xi[A == 0] == 0.0)
        assert np.all(start[pi == 0] == 0.0)
        assert np.all(post[_bounds(LENGTHS)[:-1]][:, pi == 0] == 0.0)


def test_length_one_sequence():
    logB, pi, A = _problem(3, [1])
    total, seq_ll, post, xi, start = run_forward_backward(logB, pi, A, [1])
    assert seq_ll[0] == pytest.approx(logsumexp(np.log(pi) + logB[0]), rel=1e-14)
    expected = pi * np.exp(logB[0] - logB[0].max())
    np.testing.assert_allclose(post[0], expected / expected.sum(), rtol=1e-14)
    np.testing.assert_array_equal(xi, 0.0)
    np.testing.assert_allclose(start, post[0], rtol=0, atol=0)
    lp, lps, path = run_viterbi(logB, pi, A, [1])
    assert path[0] == np.argmax(np.log(pi) + logB[0])
    assert lp == lps[0] == np.max(np.log(pi) + logB[0])


def test_score_only_and_filtered_modes():
    lengths = [1, 300, 57, 2]
    logB, pi, A = _problem(4, lengths, seed=9)
    _, ref_full, _, _, _ = run_forward_backward(logB, pi, A, lengths)
    ref_ll, _, _, _, ref_filt = reference_forward_backward(logB, pi, A, lengths)
    seq_ll = np.empty(len(lengths))
    total = _hmm.forward_backward(logB.copy(), pi, A, _bounds(lengths), seq_ll)
    np.testing.assert_array_equal(seq_ll, ref_full)
    np.testing.assert_allclose(seq_ll, ref_ll, rtol=1e-12)
    assert total == pytest.approx(ref_ll.sum(), rel=1e-13)
    # post without xi: the filtered probabilities p(s_t | y_1..t)
    filt, seq_ll2 = np.empty(logB.shape), np.empty(len(lengths))
    _hmm.forward_backward(logB.copy(), pi, A, _bounds(lengths), seq_ll2, filt)
    np.testing.assert_array_equal(seq_ll2, ref_full)
    np.testing.assert_allclose(filt, ref_filt, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bad", [-np.inf, np.nan])
def test_impossible_row_gives_minus_infinity_for_its_sequence_only(bad):
    lengths = [40, 30, 50]
    logB, pi, A = _problem(3, lengths, seed=4)
    logB[40 + 12] = bad  # every state's density in sequence 1
    total, seq_ll, post, xi, start = run_forward_backward(logB, pi, A, lengths)
    assert total == -np.inf and seq_ll[1] == -np.inf
    assert not np.isnan(post).any() and not np.isnan(xi).any() and not np.isnan(start).any()
    good = [0, 2]
    keep = np.r_[0:40, 70:120]
    ref_ll, ref_post, ref_xi, ref_start, _ = reference_forward_backward(
        logB[keep], pi, A, [40, 50])
    np.testing.assert_allclose(seq_ll[good], ref_ll, rtol=1e-12)
    np.testing.assert_allclose(post[keep], ref_post, rtol=1e-12, atol=1e-14)
    # the impossible sequence adds nothing to the statistics
    np.testing.assert_allclose(xi, ref_xi, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(start, ref_start, rtol=1e-12, atol=1e-14)
    seq = np.empty(3)
    assert _hmm.forward_backward(logB.copy(), pi, A, _bounds(lengths), seq) == -np.inf
    assert seq[1] == -np.inf and np.all(np.isfinite(seq[good]))


def test_forbidden_transitions_give_minus_infinity():
    """A sequence that needs a transition of probability 0 has probability 0."""
    A = np.array([[1.0, 0.0], [0.0, 1.0]])
    pi = np.array([1.0, 0.0])
    with np.errstate(divide="ignore"):  # row 2: state 0 cannot emit it
        logB = np.log(np.array([[0.9, 0.1], [1e-300, 1.0], [0.0, 1.0]]))
    seq = np.empty(2)
    post = np.empty((3, 2))
    total = _hmm.forward_backward(logB.copy(), pi, A, _bounds([2, 1]), seq, post,
                                  np.empty(3), np.empty((2, 2)), np.empty(2))
    assert np.isfinite(seq[0]) and seq[1] == -np.inf and total == -np.inf
    np.testing.assert_array_equal(post[2], 0.0)
    np.testing.assert_array_equal(post[:2, 0], 1.0)


def test_threads_give_identical_results():
    rng = np.random.default_rng(17)
    lengths = rng.integers(1, 300, 180).tolist() + [1, 1, 2, 3000]
    logB, pi, A = _problem(4, lengths, seed=17)
    runs = [run_forward_backward(logB, pi, A, lengths, n_threads=t) for t in (1, 2, 3)]
    vits = [run_viterbi(logB, pi, A, lengths, n_threads=t) for t in (1, 2, 3)]
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)
    for other in vits[1:]:
        for a, b in zip(vits[0], other):
            np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(runs[0][1])) and np.isfinite(vits[0][0])


def test_bad_arguments():
    logB, pi, A = _problem(3, [10])
    seq = np.empty(1)
    with pytest.raises(ValueError, match="bounds must run from 0 to the number of rows"):
        _hmm.forward_backward(logB.copy(), pi, A, _bounds([9]), seq)
    with pytest.raises(ValueError, match="every sequence needs at least one row"):
        _hmm.forward_backward(logB.copy(), pi, A, np.array([0, 4, 4, 10], dtype=np.intp),
                              np.empty(3))
    with pytest.raises(ValueError, match="startprob must have 3 entries"):
        _hmm.forward_backward(logB.copy(), pi[:2], A, _bounds([10]), seq)
    with pytest.raises(ValueError, match="seq_loglik must have 1 entries"):
        _hmm.forward_backward(logB.copy(), pi, A, _bounds([10]), np.empty(2))
    with pytest.raises(ValueError, match=r"post \(n, K\) needs scale"):
        _hmm.forward_backward(logB.copy(), pi, A, _bounds([10]), seq, np.empty((10, 3)),
                              None, np.empty((3, 3)), np.empty(3))
    with pytest.raises(ValueError, match="path must have 10 entries"):
        _hmm.viterbi(logB, np.log(pi), np.log(A), _bounds([10]), np.empty(9, np.int32), seq)


# --------------------------------------------------------------------------
# Viterbi
# --------------------------------------------------------------------------
@pytest.mark.parametrize("K", [1, 2, 4])
@pytest.mark.parametrize("zeros", [False, True])
def test_viterbi_matches_dynamic_programme(K, zeros):
    logB, pi, A = _problem(K, LENGTHS, seed=10 + K, zeros=zeros)
    ref_lps, ref_path = reference_viterbi(logB, pi, A, LENGTHS)
    total, lps, path = run_viterbi(logB, pi, A, LENGTHS)
    np.testing.assert_array_equal(path, ref_path)
    np.testing.assert_allclose(lps, ref_lps, rtol=1e-13)
    assert total == pytest.approx(ref_lps.sum(), rel=1e-13)
    # the path's own log-probability, recomputed
    with np.errstate(divide="ignore"):
        lpi, lA = np.log(pi), np.log(A)
    for s, (a, b) in enumerate(zip(_bounds(LENGTHS)[:-1], _bounds(LENGTHS)[1:])):
        p = path[a:b]
        own = lpi[p[0]] + lA[p[:-1], p[1:]].sum() + logB[np.arange(a, b), p].sum()
        assert own == pytest.approx(lps[s], rel=1e-12)
        assert pi[p[0]] > 0 and np.all(A[p[:-1], p[1:]] > 0)  # no forbidden step
    # the best path is no more probable than all paths together
    fb = run_forward_backward(logB, pi, A, LENGTHS)
    assert np.all(lps <= fb[1] + 1e-12 * np.abs(fb[1]))


def test_viterbi_ties_go_to_the_lowest_state():
    K, n = 3, 6
    logB = np.zeros((n, K))
    pi = np.full(K, 1 / K)
    A = np.full((K, K), 1 / K)
    _, lps, path = run_viterbi(logB, pi, A, [n])
    np.testing.assert_array_equal(path, 0)
    assert lps[0] == pytest.approx(n * np.log(1 / K), rel=1e-14)


# --------------------------------------------------------------------------
# the Gaussian kernel's halves: densities only, statistics for given weights
# --------------------------------------------------------------------------
def _gaussian_problem(ct, n=700, d=3, K=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 3.0, 0.5][:d] + 10.0
    w = rng.uniform(0.2, 2.0, n)
    means = 10.0 + rng.normal(size=(K, d))
    G = rng.normal(size=(K, d, d)) * 0.4
    full = np.eye(d) + G @ G.transpose(0, 2, 1)
    cov = {"full": full, "tied": full[0], "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
           "spherical": np.diagonal(full, axis1=1, axis2=2).mean(1)}[ct]
    weights = rng.dirichlet(np.ones(K))
    resp = rng.dirichlet(np.ones(K), n)
    return X, w, weights, means, cov, resp


def _full_cov(cov, ct, K, d):
    return {"full": lambda: cov, "tied": lambda: np.repeat(cov[None], K, 0),
            "diag": lambda: np.array([np.diag(v) for v in cov]),
            "spherical": lambda: cov[:, None, None] * np.eye(d)}[ct]()


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_density_mode_equals_scipy(ct):
    X, w, weights, means, cov, _ = _gaussian_problem(ct)
    K, d = means.shape
    full = _full_cov(cov, ct, K, d)
    expected = np.column_stack([np.log(weights[k]) + multivariate_normal(means[k], full[k])
                                .logpdf(X) for k in range(K)])
    data = gaussian.prepare(X, w)
    params = gaussian.make_params(weights, means, cov, ct)
    model = gaussian.GaussianMixtureModel(K, ct)
    out = model.log_densities(data, params, np.empty((X.shape[0], K)))
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    # the kernel itself: mode="densities" writes log-densities to resp only
    density, P, mP, cst = model._kernel_args(params, data.shift)
    direct = np.full((X.shape[0], K), np.nan)
    ll = _gaussian.estep(data.X, data.w, data.shift, density, P, mP, cst, "none", None, None,
                         direct, None, 0, "densities")
    assert ll == 0.0
    np.testing.assert_array_equal(direct, out)
    # thread counts do not change it
    for t in (1, 2, 3):
        other = gaussian.GaussianMixtureModel(K, ct, n_threads=t).log_densities(
            data, params, np.empty((X.shape[0], K)))
        np.testing.assert_array_equal(other, out)
    with pytest.raises(ValueError, match="needs resp"):
        _gaussian.estep(data.X, data.w, data.shift, density, P, mP, cst, "none", None, None,
                        None, None, 0, "densities")


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_given_mode_statistics_equal_numpy_sums(ct):
    X, w, weights, means, cov, resp = _gaussian_problem(ct, seed=1)
    K, d = means.shape
    data = gaussian.prepare(X, w)
    params = gaussian.make_params(weights, means, cov, ct)
    model = gaussian.GaussianMixtureModel(K, ct)
    stats = model.stats_given(data, params, np.ascontiguousarray(resp))
    c = w[:, None] * resp
    np.testing.assert_allclose(stats.N, c.sum(0), rtol=1e-12)
    np.testing.assert_array_equal(stats.centres, means)
    for k in range(K):
        D = X - means[k]
        np.testing.assert_allclose(stats.S1[k], c[:, k] @ D, rtol=1e-10,
                                   atol=1e-12 * (c[:, k] @ np.abs(D)).max())
        if ct in ("full", "tied"):
            np.testing.assert_allclose(stats.S2[k], (D.T * c[:, k]) @ D, rtol=1e-12,
                                       atol=1e-12 * np.abs(D).max() ** 2 * c[:, k].sum())
        else:
            np.testing.assert_allclose(stats.S2[k], c[:, k] @ D**2, rtol=1e-12)
    # scatter about any point follows from them
    m = means + 0.3
    scat = gaussian.scatter_about(stats, m)
    k = 2
    D = X - m[k]
    expected = (D.T * c[:, k]) @ D if ct in ("full", "tied") else c[:, k] @ D**2
    np.testing.assert_allclose(scat[k], expected, rtol=1e-10, atol=1e-10)
    # thread counts do not change them
    for t in (1, 3):
        other = gaussian.GaussianMixtureModel(K, ct, n_threads=t).stats_given(
            data, params, np.ascontiguousarray(resp))
        for a, b in ((other.N, stats.N), (other.S1, stats.S1), (other.S2, stats.S2)):
            np.testing.assert_array_equal(a, b)


def test_first_moments_equal_numpy_sums():
    rng = np.random.default_rng(3)
    X = rng.poisson(4.0, (900, 3)).astype(float)
    w = rng.uniform(0.5, 1.5, 900)
    resp = rng.dirichlet(np.ones(5), 900)
    N, S = gaussian.first_moments(gaussian.prepare(X, w), resp)
    c = w[:, None] * resp
    np.testing.assert_allclose(N, c.sum(0), rtol=1e-12)
    np.testing.assert_allclose(S, c.T @ X, rtol=1e-12)
    N1, S1 = gaussian.first_moments(gaussian.prepare(X), resp, n_threads=1)
    N3, S3 = gaussian.first_moments(gaussian.prepare(X), resp, n_threads=3)
    np.testing.assert_allclose(N1, resp.sum(0), rtol=1e-12)
    np.testing.assert_allclose(S1, resp.T @ X, rtol=1e-12)
    np.testing.assert_array_equal(N1, N3)
    np.testing.assert_array_equal(S1, S3)
