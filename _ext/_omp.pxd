cdef extern from "omp_threads.h":
    int emkit_max_threads() noexcept nogil
    int emkit_thread_num() noexcept nogil
