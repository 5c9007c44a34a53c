/* OpenMP thread queries that also compile without OpenMP (serial kernels). */
#ifndef EMKIT_OMP_THREADS_H
#define EMKIT_OMP_THREADS_H
#ifdef _OPENMP
#include <omp.h>
static inline int emkit_max_threads(void) { return omp_get_max_threads(); }
static inline int emkit_thread_num(void) { return omp_get_thread_num(); }
#else
static inline int emkit_max_threads(void) { return 1; }
static inline int emkit_thread_num(void) { return 0; }
#endif
#endif
