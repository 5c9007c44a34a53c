# mclust 6.0.0 references for emkit's covariance M-steps (src/emkit/covariance_models.py).
# Run from this folder: Rscript make_mstep_reference.R
#
#   z_<data>.csv               a fixed soft z (n x 3): hc classes at G = 3, blurred by noise
#   mstep_<data>.json          mstep(modelName, data, z) for the 14 models (E and V on column 1)
#   me_<data>.json             me() stopped after 1, 2, 3 EM iterations from z, for the models
#                              whose M-step iterates: parameters of each M-step and the z it left
#   degenerate_iris_<M>_G5.csv the z entering the M-step at which me() fails (and the one before)
#                              for iris at G = 5 from mclustBIC's hc start (the NA BIC cells)
#   degenerate.json            what failed there: mclust's warning, iteration, component sizes
#   first_step.json            me()'s first EM iteration on two degenerate starts built from iris
#                              (see below): whether the fit is NA, and mclust's warning
#   df.csv                     nMclustParams(model, d, G) for d = 1..5, G = 1..9
suppressMessages(library(mclust))
library(jsonlite)
stopifnot(packageVersion("mclust") == "6.0.0")

models <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
            "EEV", "VEV", "EVV", "VVV")
iterative <- c("VEI", "VEE", "EVE", "VVE", "VEV")

write_matrix <- function(m, file) {
  # 17 significant digits: the doubles come back bit for bit
  out <- matrix(sprintf("%.17g", m), nrow(m))
  colnames(out) <- paste0("z", seq_len(ncol(m)))
  write.csv(out, file, row.names = FALSE, quote = FALSE)
}

# variance parameters in emkit's layout: sigma (G, d, d), shape (G, d) per component,
# orientation (d, d) or (G, d, d); JSON keeps R's 15 significant digits
variance_json <- function(v, G, d) {
  # [[ ]], not $: v$sigma would partially match sigmasq
  sigma <- if (is.null(v[["sigma"]])) array(v[["sigmasq"]], c(1, 1, G)) else v[["sigma"]]
  if (length(dim(sigma)) == 2) sigma <- array(sigma, c(d, d, G))
  out <- list(sigma = aperm(sigma, c(3, 1, 2)),
              scale = if (is.null(v[["scale"]])) v[["sigmasq"]] else v[["scale"]])
  if (!is.null(v$shape)) out$shape <- if (is.matrix(v$shape)) t(v$shape) else v$shape
  if (!is.null(v$orientation)) {
    o <- v$orientation
    out$orientation <- if (length(dim(o)) == 3) aperm(o, c(3, 1, 2)) else o
  }
  out
}

inner_iterations <- function(fit) {
  info <- attr(fit, "info")
  inner <- attr(info, "inner")  # me(): c(iterations, error); mstep(): info itself
  if (is.null(inner)) inner <- info
  if (is.null(inner)) NA else abs(unname(unlist(inner))[1])
}

fit_json <- function(fit, G, d) {
  list(variance = variance_json(fit$parameters$variance, G, d),
       mean = fit$parameters$mean, pro = fit$parameters$pro,
       inner = inner_iterations(fit), warning = attr(fit, "WARNING"),
       loglik = fit$loglik)
}

one <- function(name, X) {
  X <- as.matrix(X)
  n <- nrow(X)
  set.seed(20240601)
  z <- unmap(hclass(hc(X), 3))
  z <- 0.8 * z + 0.2 * matrix(runif(n * 3), n, 3)
  z <- z / rowSums(z)
  write_matrix(z, sprintf("z_%s.csv", name))

  ms <- list()
  for (m in models) ms[[m]] <- fit_json(mstep(X, m, z), 3, ncol(X))
  for (m in c("E", "V")) ms[[m]] <- fit_json(mstep(X[, 1], m, z), 3, 1)
  writeLines(toJSON(ms, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
             sprintf("mstep_%s.json", name))

  me_out <- list()
  for (m in iterative) {
    steps <- list()
    for (t in 1:3) {
      fit <- suppressWarnings(me(X, m, z, control = emControl(itmax = c(t, .Machine$integer.max)),
                                 warn = FALSE))
      s <- fit_json(fit, 3, ncol(X))
      if (t < 3) s$z <- fit$z  # the E-step after M-step t, which feeds M-step t + 1
      steps[[t]] <- s
    }
    me_out[[m]] <- steps
  }
  writeLines(toJSON(me_out, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
             sprintf("me_%s.json", name))
}

one("faithful", read.csv("../faithful.csv"))
one("iris", read.csv("../iris.csv"))

# The NA cells of mclustBIC(iris): replay mclustBIC's start and find the failing M-step.
X <- as.matrix(read.csv("../iris.csv"))
hcPairs <- hc(X, modelName = mclust.options("hcModelName"), use = mclust.options("hcUse"))
degenerate <- list()
for (m in c("VEE", "EVV")) {
  z0 <- unmap(hclass(hcPairs, 5))
  fit <- me(X, m, z0, warn = FALSE)
  stopifnot(is.na(fit$loglik))
  run <- function(t) me(X, m, z0, control = emControl(itmax = c(t, .Machine$integer.max)), warn = FALSE)
  t <- 1
  while (!is.na(run(t)$loglik)) t <- t + 1
  before <- run(t - 1)$z  # enters M-step t, which fails
  earlier <- run(t - 2)$z  # enters M-step t - 1, which succeeds
  write_matrix(before, sprintf("degenerate_iris_%s_G5.csv", m))
  write_matrix(earlier, sprintf("degenerate_iris_%s_G5_previous.csv", m))
  degenerate[[m]] <- list(G = 5, failing_iteration = t, warning = attr(fit, "WARNING"),
                          return_code = attr(fit, "returnCode"), N = colSums(before))
}
writeLines(toJSON(degenerate, digits = NA, auto_unbox = TRUE), "degenerate.json")

# Degenerate first M-steps, rebuilt in the tests from iris.csv:
#   flat:   the species as z, setosa's Petal.Width all 0.25 (exact in binary, so that its
#           variance is exactly 0 whatever the order of the sums)
#   vanish: the species as z plus a fourth column of 1e-11, rows renormalised
#           (that component's weight, 1.5e-9, is below sqrt(eps))
species <- unmap(rep(1:3, each = 50))
flat <- X
flat[1:50, 4] <- 0.25
vanish <- cbind(species, 1e-11)
vanish <- vanish / rowSums(vanish)
cases <- list(flat = list(X = flat, z = species), vanish = list(X = X, z = vanish))
first <- lapply(cases, function(case) {
  out <- list()
  for (m in models) {
    fit <- me(case$X, m, case$z, control = emControl(itmax = c(1, .Machine$integer.max)),
              warn = FALSE)
    out[[m]] <- list(na = is.na(fit$loglik), warning = attr(fit, "WARNING"))
  }
  out
})
writeLines(toJSON(first, auto_unbox = TRUE), "first_step.json")

df <- expand.grid(G = 1:9, d = 1:5, model = c("E", "V", models), stringsAsFactors = FALSE)
df <- df[(df$d == 1) == (df$model %in% c("E", "V")), ]
df$df <- mapply(function(m, d, G) nMclustParams(m, d, G), df$model, df$d, df$G)
write.csv(df[, c("model", "d", "G", "df")], "df.csv", row.names = FALSE)
