# Time AER::tobit (left-censored at 0) on a CSV file written by bench_tobit.py.
#   Rscript benchmarks/tobit_r_timing.R data.csv [repeat]
# The CSV has columns y, x1..xp with a header row.  Fits y ~ x1 + ... + xp,
# `repeat` times (default 1), and prints machine-readable lines on stdout:
#   time <seconds>          best system.time()[["elapsed"]] of tobit() alone
#   iter <n>                survreg's Newton-Raphson iterations
#   loglik <value>          log-likelihood of the fit (17 significant digits)
#   coef <name> <value>     each coefficient, then Log(scale) (17 digits)
# Reading the CSV is not timed.
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: Rscript tobit_r_timing.R data.csv [repeat]")
n_repeat <- if (length(args) >= 2) as.integer(args[2]) else 1L
suppressMessages(library(AER))
# fread parses 1e6 x 21 doubles much faster than read.csv; both read
# "%.17g" text back to the same doubles.
d <- if (requireNamespace("data.table", quietly = TRUE)) {
  as.data.frame(data.table::fread(args[1]))
} else {
  read.csv(args[1])
}
xs <- setdiff(names(d), "y")
f <- reformulate(xs, response = "y")
best <- Inf
for (i in seq_len(n_repeat)) {
  t <- system.time(fit <- tobit(f, left = 0, data = d))
  best <- min(best, t[["elapsed"]])
}
cat(sprintf("time %.3f\n", best))
cat(sprintf("iter %d\n", fit$iter))
cat(sprintf("loglik %.17g\n", fit$loglik[2]))
b <- c(coef(fit), "Log(scale)" = log(fit$scale))
cat(sprintf("coef %s %.17g\n", names(b), b), sep = "")
