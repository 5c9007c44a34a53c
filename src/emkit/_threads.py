"""Keep BLAS to one thread while emkit's OpenMP kernels run.

The kernels call BLAS from inside their own threads.  A threaded BLAS would
start more threads per call (oversubscribing the cores) and, reading
``OMP_NUM_THREADS`` itself, could split sums differently for different
thread counts; pinned to one thread it does neither.
"""
from __future__ import annotations

import functools

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    # finding the loaded libraries takes milliseconds: do it once (numpy's and
    # scipy's BLAS are loaded by the time emkit's kernels first run)
    return ThreadpoolController()


def single_threaded_blas():
    """Context manager: BLAS libraries run single-threaded inside it."""
    return _controller().limit(limits=1, user_api="blas")
