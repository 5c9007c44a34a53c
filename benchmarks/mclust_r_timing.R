# Time R mclust's default Mclust() sweep (G = 1..9, all 14 models) on a CSV file.
#   Rscript benchmarks/mclust_r_timing.R data.csv [--no-header]
# The CSV holds numeric columns only, with a header row unless --no-header is given.
# Prints one machine-readable line on stdout:
#   R_MCLUST model=<name> G=<G> bic=<bic> loglik=<loglik> seconds=<elapsed>
# (seconds = system.time()[["elapsed"]] of Mclust(X), i.e. mclustBIC + the final fit;
# reading the CSV is not timed).
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: Rscript mclust_r_timing.R data.csv [--no-header]")
suppressMessages(library(mclust))
X <- read.csv(args[1], header = !("--no-header" %in% args[-1]))
X <- as.matrix(X)
storage.mode(X) <- "double"
# n > mclust.options("subset") (2000) makes mclustBIC draw a random hc subset with
# sample(); fix the seed so repeated runs fit the same models.
set.seed(0)
t <- system.time(m <- Mclust(X))
if (is.null(m)) {
  cat(sprintf("R_MCLUST model=NA G=NA bic=NA loglik=NA seconds=%.3f\n", t[["elapsed"]]))
} else {
  cat(sprintf("R_MCLUST model=%s G=%d bic=%.6f loglik=%.6f seconds=%.3f\n",
              m$modelName, m$G, m$bic, m$loglik, t[["elapsed"]]))
}
