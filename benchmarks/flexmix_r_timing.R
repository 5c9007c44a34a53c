# Time flexmix (k = 3 Gaussian mixture of regressions) on a CSV file written
# by bench_flexmix.py.
#   Rscript benchmarks/flexmix_r_timing.R data.csv [repeat]
# The CSV has columns y, x1..xp and cluster (the starting partition, 1..k)
# with a header row.  Fits y ~ x1 + ... + xp from that partition for exactly
# 100 EM iterations, `repeat` times (default 1), and prints machine-readable
# lines on stdout:
#   time <seconds>              best system.time()[["elapsed"]] of flexmix() alone
#   iter <n>                    EM iterations run (M-step + E-step each)
#   loglik <value>              log-likelihood of the fit (17 significant digits)
#   coef <comp> <name> <value>  each component's coefficients (17 digits)
#   sigma <comp> <value>        each component's (df-corrected) sigma
#   prior <comp> <value>        each component's prior
# Reading the CSV is not timed.
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: Rscript flexmix_r_timing.R data.csv [repeat]")
n_repeat <- if (length(args) >= 2) as.integer(args[2]) else 1L
suppressMessages(library(flexmix))
# fread parses the CSV much faster than read.csv; both read "%.17g" text
# back to the same doubles.
d <- if (requireNamespace("data.table", quietly = TRUE)) {
  as.data.frame(data.table::fread(args[1]))
} else {
  read.csv(args[1])
}
xs <- setdiff(names(d), c("y", "cluster"))
f <- reformulate(xs, response = "y")
k <- max(d$cluster)
# flexmix stops when the relative change is strictly below `tolerance`, so 0
# never stops early; minprior = 0 keeps every component, as emkit does.
ctrl <- list(iter.max = 100, tolerance = 0, minprior = 0)
best <- Inf
for (i in seq_len(n_repeat)) {
  t <- system.time(m <- flexmix(f, data = d, k = k, cluster = d$cluster, control = ctrl))
  best <- min(best, t[["elapsed"]])
}
cat(sprintf("time %.3f\n", best))
cat(sprintf("iter %d\n", m@iter))
cat(sprintf("loglik %.17g\n", as.numeric(logLik(m))))
par <- parameters(m)
for (j in seq_len(ncol(par))) {
  comp <- colnames(par)[j]
  b <- par[startsWith(rownames(par), "coef."), j]
  cat(sprintf("coef %s %s %.17g\n", comp, sub("^coef\\.", "", names(b)), b), sep = "")
  cat(sprintf("sigma %s %.17g\n", comp, par["sigma", j]))
}
cat(sprintf("prior %s %.17g\n", colnames(par), prior(m)), sep = "")
