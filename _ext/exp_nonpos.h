/* Vectorisable exp for the E-step kernels (see _blockmath.pxd). */
#ifndef EMKIT_EXP_NONPOS_H
#define EMKIT_EXP_NONPOS_H
#include <stdint.h>
#include <string.h>
/* exp(x) for x <= 0, within ~1 ulp of libm, written without branches or
   calls so that loops over it vectorise.  Below -700 it returns 0: such
   responsibilities are negligible, and letting them (and products with
   them) go subnormal slows every later operation on the block. */
static inline double emkit_exp_nonpos(double x) {
    const double log2e = 1.4426950408889634, shifter = 6755399441055744.0;
    const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
    const double keep = x < -700.0 ? 0.0 : 1.0;
    x = x < -700.0 ? -700.0 : x;
    double t = x * log2e + shifter;
    double nf = t - shifter;
    double r = (x - nf * ln2hi) - nf * ln2lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return keep * (p * scale);
}

#endif
