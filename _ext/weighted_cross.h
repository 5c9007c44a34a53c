/* Weighted cross-products over a block of nb rows of a column-major matrix
   (column j of the block is xT[j * ld .. j * ld + nb - 1]), vectorised four rows at a
   time with GCC/Clang vector extensions.  The lanes are added in a fixed
   order, so the result depends on the data only, not on the thread count. */
#ifndef EMKIT_WEIGHTED_CROSS_H
#define EMKIT_WEIGHTED_CROSS_H

typedef double emkit_v4d __attribute__((vector_size(32)));

static inline emkit_v4d emkit_load4(const double* p) {
    emkit_v4d v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

static inline double emkit_hsum4(emkit_v4d v) { return (v[0] + v[1]) + (v[2] + v[3]); }

/* H[a * p + b] += sum_i c_i x_ia x_ib for a <= b (H's upper triangle, row-major)
   and g[a] += sum_i s_i x_ia.  Each pass over the rows updates up to four
   entries of a row of H, so every load feeds several multiply-adds. */
static void emkit_weighted_cross(const double* xT, long ld, const double* c, const double* s,
                                 long nb, long p, double* H, double* g) {
    const long n4 = nb & ~3L;
    for (long a = 0; a < p; ++a) {
        const double* xa = xT + a * ld;
        emkit_v4d ag = {0.0, 0.0, 0.0, 0.0};
        for (long i = 0; i < n4; i += 4)
            ag += emkit_load4(s + i) * emkit_load4(xa + i);
        double tg = emkit_hsum4(ag);
        for (long i = n4; i < nb; ++i)
            tg += s[i] * xa[i];
        g[a] += tg;
        long b = a;
        for (; b + 4 <= p; b += 4) {
            const double *x0 = xT + b * ld, *x1 = x0 + ld, *x2 = x1 + ld, *x3 = x2 + ld;
            emkit_v4d a0 = {0.0, 0.0, 0.0, 0.0}, a1 = a0, a2 = a0, a3 = a0;
            for (long i = 0; i < n4; i += 4) {
                emkit_v4d z = emkit_load4(c + i) * emkit_load4(xa + i);
                a0 += z * emkit_load4(x0 + i);
                a1 += z * emkit_load4(x1 + i);
                a2 += z * emkit_load4(x2 + i);
                a3 += z * emkit_load4(x3 + i);
            }
            double t0 = emkit_hsum4(a0), t1 = emkit_hsum4(a1);
            double t2 = emkit_hsum4(a2), t3 = emkit_hsum4(a3);
            for (long i = n4; i < nb; ++i) {
                double z = c[i] * xa[i];
                t0 += z * x0[i];
                t1 += z * x1[i];
                t2 += z * x2[i];
                t3 += z * x3[i];
            }
            H[a * p + b] += t0;
            H[a * p + b + 1] += t1;
            H[a * p + b + 2] += t2;
            H[a * p + b + 3] += t3;
        }
        for (; b < p; ++b) {
            const double* xb = xT + b * ld;
            emkit_v4d ab = {0.0, 0.0, 0.0, 0.0};
            for (long i = 0; i < n4; i += 4)
                ab += emkit_load4(c + i) * emkit_load4(xa + i) * emkit_load4(xb + i);
            double tb = emkit_hsum4(ab);
            for (long i = n4; i < nb; ++i)
                tb += c[i] * xa[i] * xb[i];
            H[a * p + b] += tb;
        }
    }
}

#endif
