# mclust 6.0.0 when one component wins: the summary of the XII/XXI/XXX or X model.
# Data: 80 x 2 and 60 x 1 normal samples (numpy, seed 5), stored beside this script.
#   Rscript make_single_reference.R
suppressMessages(library(mclust))
for (name in c("single2d", "single1d")) {
  X <- read.csv(paste0(name, ".csv"))
  m <- Mclust(X, verbose = FALSE)
  sink(paste0(name, "_summary.txt")); print(summary(m, parameters = TRUE)); sink()
  write.csv(data.frame(model = m$modelName, G = m$G, bic = m$bic, loglik = m$loglik, df = m$df,
                       icl = m$icl), paste0(name, "_best.csv"), row.names = FALSE)
}
