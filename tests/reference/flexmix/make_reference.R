# Reference values for emkit's finite mixtures of regressions (R's flexmix).
# Run from this folder:
#   cd tests/reference/flexmix && Rscript make_reference.R > make_reference.out 2>&1
# Writes: npreg_exact.csv, npreg_gaussian_k2.json, npreg_poisson_k2.json,
#         binomial_k2.json (+ binomial.csv), concomitant_k2.json (+ concomitant.csv),
#         grouped_k2.json, npreg_stepflexmix.json.
# Reads:  nothing (NPreg comes from the flexmix package; npreg.csv is a 15-digit
#         copy written by flexmix_ref.R, see README.md).
suppressPackageStartupMessages({
  library(flexmix)
  library(jsonlite)
})
## mixtools is not installed in this environment (requireNamespace fails); the ML
## check of case a therefore uses ml_regmix_em() below, a transcription of
## mixtools::regmixEM's EM (arbmean = arbvar = TRUE).  mixtools 2.0.0's own number,
## from /work/shared/reference/flexmix/mixtools_ref.out, is recorded alongside.
has_mixtools <- requireNamespace("mixtools", quietly = TRUE)
options(digits = 10, width = 110)

versions <- list(
  R = R.version.string,
  flexmix = as.character(packageVersion("flexmix")),
  mixtools = if (has_mixtools) as.character(packageVersion("mixtools")) else "not installed (ML check by ml_regmix_em, see make_reference.R)",
  jsonlite = as.character(packageVersion("jsonlite")),
  RNGkind = RNGkind()
)
cat(versions$R, " flexmix", versions$flexmix, " mixtools", versions$mixtools,
    " jsonlite", versions$jsonlite, " RNGkind", versions$RNGkind, "\n")

CONTROL <- list(tolerance = 1e-10, iter.max = 2000)
NREP <- 10
CONTROL_TXT <- "control = list(tolerance = 1e-10, iter.max = 2000)"
ORDER_RULE <- paste("components sorted by ascending intercept coefficient ('(Intercept)');",
                    "every per-component field (prior, coef, sigma, cluster_sizes, posterior columns,",
                    "clusters labels, refit_*) uses this order; flexmix_order gives, for sorted",
                    "component j, flexmix's original component number")

## EM for a Gaussian mixture of linear regressions with the ML updates, as in
## mixtools::regmixEM: E-step posteriors; M-step lambda_j = mean(w_j),
## beta_j = weighted LS, sigma_j^2 = sum(w_j r_j^2) / sum(w_j).  Stops when the
## log-likelihood increase is below epsilon.  X includes the intercept column.
ml_regmix_em <- function(y, X, lambda, beta, sigma, epsilon = 1e-14, maxit = 100000) {
  k <- length(lambda)
  dens <- function(lambda, beta, sigma)
    sapply(seq_len(k), function(j) log(lambda[j]) + dnorm(y, drop(X %*% beta[, j]), sigma[j], log = TRUE))
  lse <- function(L) { mx <- apply(L, 1, max); mx + log(rowSums(exp(L - mx))) }
  L <- dens(lambda, beta, sigma); ll <- sum(lse(L)); all_ll <- ll
  for (it in seq_len(maxit)) {
    W <- exp(L - lse(L))
    lambda <- colMeans(W)
    for (j in seq_len(k)) {
      f <- lm.wfit(X, y, w = W[, j])
      beta[, j] <- f$coefficients
      sigma[j] <- sqrt(sum(W[, j] * f$residuals^2) / sum(W[, j]))
    }
    L <- dens(lambda, beta, sigma); ll_new <- sum(lse(L)); all_ll <- c(all_ll, ll_new)
    done <- abs(ll_new - ll) < epsilon
    ll <- ll_new
    if (done) break
  }
  list(lambda = lambda, beta = beta, sigma = sigma, loglik = ll, iter = it,
       converged = done, all.loglik = all_ll)
}

source("../exact_output.R")   # fmt_num, jnum, jvec, jmat, jobj, write_csv_exact, save_json
banner <- function(txt) cat("\n", strrep("=", 78), "\n== ", txt, "\n", strrep("=", 78), "\n", sep = "")

## ------------------------------------------------------------ fit helpers
## best of NREP EM runs (random initial posteriors) via stepFlexmix; drop = FALSE
## keeps every restart's log-likelihood.
best_fit <- function(seed, formula, data, k, ...) {
  set.seed(seed)
  s <- stepFlexmix(formula, data = data, k = k, ..., nrep = NREP, control = CONTROL,
                   verbose = FALSE, drop = FALSE)
  stopifnot(length(s@models) == 1)
  m <- s@models[[1]]
  ## polish: flexmix's own EM restarted from the best run's posterior with a much
  ## tighter tolerance -> flexmix's EM fixed point to ~1e-12 in the loglik.
  mp <- flexmix(formula, data = data, cluster = posterior(m), ...,
                control = list(tolerance = 1e-15, iter.max = 100000))
  list(m = m, restart_logliks = as.numeric(s@logLiks[1, ]), polished = mp)
}

## component order: ascending intercept
comp_order <- function(m) {
  P <- parameters(m)
  order(P["coef.(Intercept)", ])
}

## Linear map from flexmix's refit parameter vector (flexmix component order,
## concomitant coefs of Comp.2..Comp.k relative to Comp.1) to the sorted vector
## (components in `ord`, concomitant coefs relative to the new Comp.1).
## Returns list(T = matrix, names = sorted names).
refit_map <- function(nm, ord) {
  k <- length(ord)
  p <- length(nm)
  comp_par <- grepl("^model\\.1_Comp\\.", nm)
  conc_par <- grepl("^concomitant_Comp\\.", nm)
  stopifnot(all(comp_par | conc_par))
  cnum <- as.integer(sub("^model\\.1_Comp\\.([0-9]+)_.*$", "\\1", nm[comp_par]))
  cpar <- sub("^model\\.1_Comp\\.[0-9]+_", "", nm[comp_par])
  cpar <- sub("^coef\\.", "", cpar)
  knum <- as.integer(sub("^concomitant_Comp\\.([0-9]+)\\..*$", "\\1", nm[conc_par]))
  kpar <- sub("^concomitant_Comp\\.[0-9]+\\.", "", nm[conc_par])
  comp_idx <- which(comp_par); conc_idx <- which(conc_par)
  rows <- list(); rn <- character()
  for (j in seq_len(k)) {
    for (q in unique(cpar[cnum == ord[j]])) {
      r <- numeric(p); r[comp_idx[cnum == ord[j] & cpar == q]] <- 1
      rows[[length(rows) + 1]] <- r; rn <- c(rn, paste0("Comp.", j, ".", q))
    }
  }
  qs <- unique(kpar)
  ## gamma_old[q, c]: c = 1 is the reference (0); new gamma[q, j] = old[q, ord[j]] - old[q, ord[1]]
  old_unit <- function(q, c) { r <- numeric(p); if (c > 1) r[conc_idx[knum == c & kpar == q]] <- 1; r }
  for (j in seq_len(k)[-1]) for (q in qs) {
    rows[[length(rows) + 1]] <- old_unit(q, ord[j]) - old_unit(q, ord[1])
    rn <- c(rn, paste0("concomitant.Comp.", j, ".", q))
  }
  Tm <- do.call(rbind, rows)
  list(T = Tm, names = rn)
}

## per-component named vectors from a sorted refit vector
split_by_comp <- function(v, names, k) {
  lapply(seq_len(k), function(j) {
    pre <- paste0("Comp.", j, ".")
    sel <- startsWith(names, pre)
    x <- v[sel]; names(x) <- substring(names[sel], nchar(pre) + 1); jobj(x)
  })
}
split_conc <- function(v, names, k) {
  sel <- startsWith(names, "concomitant.")
  if (!any(sel)) return(NULL)
  lapply(seq_len(k)[-1], function(j) {
    pre <- paste0("concomitant.Comp.", j, ".")
    s <- startsWith(names, pre)
    x <- v[s]; names(x) <- substring(names[s], nchar(pre) + 1); jobj(x)
  })
}

record_refit <- function(m, ord, optim_control = list()) {
  r <- tryCatch(refit(m, optim_control = optim_control), error = function(e) e)
  if (inherits(r, "error")) {
    cat("refit failed:", conditionMessage(r), "\n")
    return(list(ok = FALSE, error = conditionMessage(r)))
  }
  b <- r@coef; V <- r@vcov
  mp <- refit_map(names(b), ord)
  bs <- drop(mp$T %*% b); Vs <- mp$T %*% V %*% t(mp$T)
  se <- sqrt(diag(Vs))
  ll <- flexmix:::FLXlogLikfun(m)(b)
  g <- flexmix:::FLXgradlogLikfun(m)(b)
  k <- length(ord)
  list(ok = TRUE, object = r, coef_raw = b, vcov_raw = V, loglik = ll, grad = g,
       json = list(
         coef = split_by_comp(bs, mp$names, k),
         se = split_by_comp(se, mp$names, k),
         concomitant_coef = split_conc(bs, mp$names, k),
         concomitant_se = split_conc(se, mp$names, k),
         param_names = mp$names,
         vcov = jmat(Vs),
         loglik = jnum(ll),
         grad_maxabs = jnum(max(abs(g)))))
}

## common record for a fitted flexmix model
record_fit <- function(fit, case, formula_txt, call_txt, family, seed, n) {
  m <- fit$m
  k <- m@k
  ord <- comp_order(m)
  P <- parameters(m)
  crow <- grepl("^coef\\.", rownames(P))
  coefs <- lapply(ord, function(j) { x <- P[crow, j]; names(x) <- sub("^coef\\.", "", rownames(P)[crow]); jobj(x) })
  post <- posterior(m)[, ord, drop = FALSE]
  relabel <- match(clusters(m), ord)               # new label of each row
  sizes <- tabulate(relabel, nbins = k)
  ll <- as.numeric(logLik(m))
  out <- list(
    case = case, formula = formula_txt, call = call_txt, k = k, family = family,
    n = n,
    loglik = jnum(ll), df = m@df, aic = jnum(AIC(m)), bic = jnum(BIC(m)), icl = jnum(ICL(m)),
    bic_nobs = jnum(exp((BIC(m) + 2 * ll) / m@df)),
    loglik_at_reported_params = jnum(flexmix:::FLXlogLikfun(m)(flexmix:::FLXgetParameters(m))),
    loglik_note = paste("loglik = logLik(m) (m@logLik), computed in flexmix's last E-step with the prior of that",
                        "iteration; prior(m) is then refitted to the final posterior (colMeans of the posterior without a",
                        "concomitant model), so loglik_at_reported_params (flexmix:::FLXlogLikfun at the reported",
                        "prior/coef/sigma) differs slightly from loglik"),
    iter = m@iter, converged = m@converged,
    component_order_rule = ORDER_RULE,
    flexmix_order = I(ord),
    prior = jvec(prior(m)[ord]),
    coef_names = sub("^coef\\.", "", rownames(P)[crow]),
    coef = coefs)
  if (family == "gaussian") out$sigma <- jvec(P["sigma", ord])
  out$cluster_sizes <- I(sizes)
  out$posterior_first10 <- jmat(post[1:10, , drop = FALSE])
  out$clusters <- I(relabel)
  out$seed <- seed
  out$nrep <- NREP
  out$control <- CONTROL_TXT
  out$restart <- paste0("set.seed(", seed, "); stepFlexmix(..., k = ", k, ", nrep = ", NREP,
                        ", ", CONTROL_TXT, ", verbose = FALSE, drop = FALSE); best restart by logLik")
  out$restart_logliks <- jvec(fit$restart_logliks)
  mp <- fit$polished
  Pp <- parameters(mp); ordp <- comp_order(mp)
  stopifnot(mp@k == k)
  out$em_fixed_point <- c(list(
    method = "flexmix(<same model>, cluster = posterior(best fit), control = list(tolerance = 1e-15, iter.max = 1e5)): flexmix's own EM continued from the best run to its fixed point (same component order rule)",
    loglik = jnum(as.numeric(logLik(mp))), iter = mp@iter, converged = mp@converged,
    prior = jvec(prior(mp)[ordp]),
    coef = lapply(ordp, function(j) { x <- Pp[crow, j]; names(x) <- sub("^coef\\.", "", rownames(Pp)[crow]); jobj(x) })),
    if (family == "gaussian") list(sigma = jvec(Pp["sigma", ordp])),
    list(max_abs_diff_params_vs_best = jnum(max(abs(Pp[, ordp] - P[, ord]))),
         loglik_minus_best = jnum(as.numeric(logLik(mp)) - ll)))
  cat("EM fixed point (tolerance 1e-15): logLik =", format(as.numeric(logLik(mp)), digits = 17),
      " iter =", mp@iter, " converged =", mp@converged,
      " max|param diff| vs best =", format(max(abs(Pp[, ordp] - P[, ord])), digits = 3), "\n")
  out
}

REFIT_METHOD <- "flexmix::refit(m) (method = 'optim'): optim(FLXlogLikfun(m), start = EM estimates, gr = FLXgradlogLikfun(m), method = 'BFGS', hessian = TRUE) with default optim control (reltol ~1.5e-8); vcov = -solve(hessian); SE = sqrt(diag(vcov)). Gaussian components are parameterised by log(sigma); the prior (or concomitant model) by multinomial-logit coefficients relative to the first (sorted) component, e.g. alpha = log(prior_2 / prior_1). refit_coef/refit_se are per sorted component (named); refit_concomitant_* are for sorted components 2..k; refit_vcov is in the order of refit_param_names (sorted, concomitant coefficients re-expressed relative to sorted component 1)."
attach_refit <- function(j, m, ord) {
  r <- record_refit(m, ord)
  print_refit(r)
  j$refit_ok <- r$ok
  if (r$ok) {
    j$refit_method <- REFIT_METHOD
    j$refit_coef <- r$json$coef; j$refit_se <- r$json$se
    j$refit_concomitant_coef <- r$json$concomitant_coef; j$refit_concomitant_se <- r$json$concomitant_se
    j$refit_param_names <- r$json$param_names; j$refit_vcov <- r$json$vcov
    j$refit_loglik <- r$json$loglik; j$refit_grad_maxabs <- r$json$grad_maxabs
  } else j$refit_error <- r$error
  rt <- record_refit(m, ord, optim_control = list(reltol = 1e-15, maxit = 10000))
  print_refit(rt)
  if (rt$ok)
    j$refit_tight <- c(list(method = "flexmix::refit(m, optim_control = list(reltol = 1e-15, maxit = 10000)): the same BFGS run to the likelihood maximum; fields as refit_*"),
                       rt$json)
  list(j = j, r = r, rt = rt)
}

print_fit <- function(m) {
  print(summary(m))
  cat("iter =", m@iter, " converged =", m@converged, " df =", m@df, "\n")
  cat("logLik =", format(as.numeric(logLik(m)), digits = 17),
      " AIC =", format(AIC(m), digits = 17), " BIC =", format(BIC(m), digits = 17),
      " ICL =", format(ICL(m), digits = 17), "\n")
  cat("prior =", format(prior(m), digits = 15), "\n")
  print(parameters(m), digits = 15)
}
print_refit <- function(rr) {
  if (!rr$ok) return(invisible())
  print(summary(rr$object))
  cat("refit loglik =", format(rr$loglik, digits = 17), " max|grad| =", format(max(abs(rr$grad)), digits = 3), "\n")
}

## ------------------------------------------------------------------ data
data("NPreg", package = "flexmix")
csv15 <- read.csv("npreg.csv")
cat("npreg.csv (15 significant digits) vs package NPreg: max |diff| x =",
    format(max(abs(csv15$x - NPreg$x))), " yn =", format(max(abs(csv15$yn - NPreg$yn))),
    " yp =", max(abs(csv15$yp - NPreg$yp)), " yb =", max(abs(csv15$yb - NPreg$yb)), "\n")
write_csv_exact(NPreg, "npreg_exact.csv")
back <- read.csv("npreg_exact.csv")
stopifnot(identical(back$x, NPreg$x), identical(back$yn, NPreg$yn),
          all(back$yp == NPreg$yp), all(back$yb == NPreg$yb),
          identical(back$class, NPreg$class),
          identical(as.character(back$id1), as.character(NPreg$id1)),
          identical(as.character(back$id2), as.character(NPreg$id2)))
npreg_data_txt <- "flexmix's NPreg (200 rows), identical to npreg_exact.csv; npreg.csv is a 15-significant-digit copy (max abs diff ~5e-14)"

## ---------------------------------------------------------------- case a
banner("a. npreg_gaussian_k2: yn ~ x + I(x^2), k = 2")
seed_a <- 101
fa <- best_fit(seed_a, yn ~ x + I(x^2), data = NPreg, k = 2)
ma <- fa$m
print_fit(ma)
cat("restart logLiks:", format(fa$restart_logliks, digits = 12), "\n")
ja <- record_fit(fa, "flexmix Gaussian mixture of quadratic regressions on NPreg",
                 "yn ~ x + I(x^2)",
                 "stepFlexmix(yn ~ x + I(x^2), data = NPreg, k = 2, nrep = 10, control = list(tolerance = 1e-10, iter.max = 2000))",
                 "gaussian", seed_a, nrow(NPreg))
ja$data <- npreg_data_txt
ord_a <- ja$flexmix_order
## sigma: flexmix's M-step formula, checked at the final posterior
Pa <- parameters(ma)
X <- model.matrix(~ x + I(x^2), NPreg); y <- NPreg$yn; n <- nrow(X); p <- ncol(X)
W <- posterior(ma)
sig_chk <- sapply(1:2, function(j) {
  f <- lm.wfit(X, y, w = W[, j])
  c(df_corrected = sqrt(sum(W[, j] * f$residuals^2) / mean(W[, j]) / (n - p)),
    ml = sqrt(sum(W[, j] * f$residuals^2) / sum(W[, j])))
})
cat("sigma at final posterior (df-corrected / ML):\n"); print(sig_chk[, ord_a], digits = 15)
ja$sigma_mstep <- list(
  formula = "flexmix FLXMRglm gaussian M-step: fit <- lm.wfit(X, y, w); sigma = sqrt(sum(w * r^2) / mean(w) / (n - rank)) = sqrt(sum(w r^2) / sum(w)) * sqrt(n / (n - p)), n = all 200 rows, p = 3; not the ML update sqrt(sum(w r^2) / sum(w)). Hence flexmix's EM fixed point is not the likelihood maximum.",
  recomputed_df_corrected_at_final_posterior = jvec(sig_chk["df_corrected", ord_a]),
  ml_sigma_at_final_posterior = jvec(sig_chk["ml", ord_a]),
  max_abs_diff_vs_reported = jnum(max(abs(sig_chk["df_corrected", ord_a] - Pa["sigma", ord_a]))))
ra_rat <- attach_refit(ja, ma, ord_a); ja <- ra_rat$j; ra <- ra_rat$r; rat <- ra_rat$rt
## mixtools regmixEM from flexmix's (sorted) solution
Ba <- sapply(ord_a, function(j) Pa[grepl("^coef\\.", rownames(Pa)), j])
mx <- ml_regmix_em(NPreg$yn, X, lambda = prior(ma)[ord_a], beta = Ba,
                   sigma = Pa["sigma", ord_a], epsilon = 1e-13)
cat("ML EM (regmixEM updates) from flexmix's solution: loglik =", format(mx$loglik, digits = 17),
    " iterations =", mx$iter, " converged =", mx$converged, "\n")
if (has_mixtools) {
  mxt <- mixtools::regmixEM(NPreg$yn, cbind(NPreg$x, NPreg$x^2), lambda = prior(ma)[ord_a],
                            beta = Ba, sigma = Pa["sigma", ord_a], k = 2,
                            epsilon = 1e-13, maxit = 100000, verb = FALSE)
  cat("mixtools::regmixEM from flexmix's solution: loglik =", format(mxt$loglik, digits = 17), "\n")
}
print(mx$beta, digits = 15); cat("sigma =", format(mx$sigma, digits = 15), " lambda =", format(mx$lambda, digits = 15), "\n")
## same point in flexmix's likelihood (raw flexmix order)
theta_mx <- numeric(0)
for (j in 1:2) { jj <- match(j, ord_a); theta_mx <- c(theta_mx, mx$beta[, jj], log(mx$sigma[jj])) }
lam_raw <- mx$lambda[match(1:2, ord_a)]
theta_mx <- c(theta_mx, log(lam_raw[2] / lam_raw[1]))
names(theta_mx) <- names(ra$coef_raw)
ll_mx_flx <- flexmix:::FLXlogLikfun(ma)(theta_mx)
g_mx <- flexmix:::FLXgradlogLikfun(ma)(theta_mx)
cat("FLXlogLikfun at regmixEM solution =", format(ll_mx_flx, digits = 17), " max|grad| =", format(max(abs(g_mx)), digits = 3), "\n")
cnames <- ja$coef_names
ja$ml_loglik <- jnum(mx$loglik)
ja$ml <- list(
  method = "EM with mixtools::regmixEM's updates (ML sigma_j^2 = sum(w r^2)/sum(w), lambda_j = mean(w), weighted LS beta), started from flexmix's sorted solution, stopped when the loglik increase < 1e-13 (ml_regmix_em in make_reference.R; mixtools itself is not installed here)",
  loglik = jnum(mx$loglik), iterations = mx$iter, converged = mx$converged,
  mixtools_regmixEM_loglik = jnum(if (has_mixtools) mxt$loglik else -642.532013736104),
  mixtools_regmixEM_note = if (has_mixtools) "mixtools::regmixEM from flexmix's solution, epsilon 1e-13" else "mixtools 2.0.0 regmixEM(yn, cbind(x, x^2), beta = matrix(c(0, 5, 0, 15, 10, -1), 3, 2), sigma = c(3, 3), lambda = c(.5, .5), epsilon = 1e-10), printed to 15 digits in /work/shared/reference/flexmix/mixtools_ref.out (not rerun: mixtools not installed here)",
  prior = jvec(mx$lambda),
  coef = lapply(1:2, function(j) { x <- mx$beta[, j]; names(x) <- cnames; jobj(x) }),
  sigma = jvec(mx$sigma),
  flexmix_loglik_at_this_point = jnum(ll_mx_flx),
  flexmix_grad_maxabs_at_this_point = jnum(max(abs(g_mx))),
  max_abs_diff_vs_refit_tight_params = jnum(max(abs(theta_mx - rat$coef_raw))),
  loglik_gap_flexmix_em_minus_ml = jnum(as.numeric(logLik(ma)) - mx$loglik))
ja$versions <- versions
save_json(ja, "npreg_gaussian_k2.json")

## ---------------------------------------------------------------- case b
banner("b. npreg_poisson_k2: yp ~ x, k = 2, FLXMRglm(family = 'poisson')")
seed_b <- 102
fb <- best_fit(seed_b, yp ~ x, data = NPreg, k = 2, model = FLXMRglm(family = "poisson"))
mb <- fb$m
print_fit(mb)
cat("restart logLiks:", format(fb$restart_logliks, digits = 15), "\n")
jb <- record_fit(fb, "flexmix Poisson mixture of regressions on NPreg", "yp ~ x",
                 "stepFlexmix(yp ~ x, data = NPreg, k = 2, model = FLXMRglm(family = 'poisson'), nrep = 10, control = list(tolerance = 1e-10, iter.max = 2000))",
                 "poisson", seed_b, nrow(NPreg))
jb$data <- npreg_data_txt
jb <- attach_refit(jb, mb, jb$flexmix_order)$j
jb$versions <- versions
save_json(jb, "npreg_poisson_k2.json")

## ---------------------------------------------------------------- case c
banner("c. binomial_k2: cbind(succ, fail) ~ x, k = 2, FLXMRglm(family = 'binomial'), simulated")
sim_seed_c <- 20240603
set.seed(sim_seed_c)
n_c <- 500; size_c <- 10
x_c <- rnorm(n_c)
class_c <- 1L + rbinom(n_c, 1, 0.6)                     # P(class 2) = 0.6
eta_c <- ifelse(class_c == 1L, -1 + 1.5 * x_c, 1 - 0.5 * x_c)
succ_c <- rbinom(n_c, size_c, plogis(eta_c))
dat_c <- data.frame(x = x_c, succ = succ_c, fail = size_c - succ_c, class = class_c)
write_csv_exact(dat_c, "binomial.csv")
dat_c <- read.csv("binomial.csv")
stopifnot(identical(dat_c$x, x_c), all(dat_c$succ == succ_c))
cat("class counts:", tabulate(class_c), "\n")
seed_c <- 103
fc <- best_fit(seed_c, cbind(succ, fail) ~ x, data = dat_c, k = 2, model = FLXMRglm(family = "binomial"))
mc <- fc$m
print_fit(mc)
cat("restart logLiks:", format(fc$restart_logliks, digits = 15), "\n")
jc <- record_fit(fc, "flexmix binomial (logit) mixture of regressions, simulated, 10 trials per row",
                 "cbind(succ, fail) ~ x",
                 "stepFlexmix(cbind(succ, fail) ~ x, data = binomial.csv, k = 2, model = FLXMRglm(family = 'binomial'), nrep = 10, control = list(tolerance = 1e-10, iter.max = 2000))",
                 "binomial", seed_c, n_c)
jc$data <- "binomial.csv (x, succ, fail, class), fitted as read back from the CSV"
jc$simulation <- paste0("set.seed(", sim_seed_c, "); n = 500; x = rnorm(n); class = 1 + rbinom(n, 1, 0.6);",
                        " eta = ifelse(class == 1, -1 + 1.5 x, 1 - 0.5 x); succ = rbinom(n, 10, plogis(eta)); fail = 10 - succ")
jc$true_values <- list(prior = jvec(c(0.4, 0.6)),
                       coef = list(jobj(c("(Intercept)" = -1, x = 1.5)), jobj(c("(Intercept)" = 1, x = -0.5))))
jc$true_class_table <- unname(unclass(table(factor(jc$clusters, 1:2), factor(class_c, 1:2))))
jc$binomial_loglik_note <- "flexmix's binomial loglik includes the log binomial coefficient: dbinom(succ, succ + fail, p, log = TRUE)"
jc <- attach_refit(jc, mc, jc$flexmix_order)$j
jc$versions <- versions
save_json(jc, "binomial_k2.json")

## ---------------------------------------------------------------- case d
banner("d. concomitant_k2: y ~ x, k = 2, concomitant = FLXPmultinom(~ z), simulated")
sim_seed_d <- 20240604
set.seed(sim_seed_d)
n_d <- 400
x_d <- runif(n_d, 0, 10)
z_d <- rnorm(n_d)
class_d <- 1L + rbinom(n_d, 1, plogis(-0.5 + 1.5 * z_d))
e_d <- rnorm(n_d)
y_d <- ifelse(class_d == 1L, 2 + 1.0 * x_d + e_d, 8 - 0.5 * x_d + 1.5 * e_d)
dat_d <- data.frame(x = x_d, z = z_d, y = y_d, class = class_d)
write_csv_exact(dat_d, "concomitant.csv")
dat_d <- read.csv("concomitant.csv")
stopifnot(identical(dat_d$x, x_d), identical(dat_d$y, y_d), identical(dat_d$z, z_d))
cat("class counts:", tabulate(class_d), "\n")
seed_d <- 104
fd <- best_fit(seed_d, y ~ x, data = dat_d, k = 2, concomitant = FLXPmultinom(~ z))
md <- fd$m
print_fit(md)
cat("concomitant parameters:\n"); print(parameters(md, which = "concomitant"), digits = 15)
cat("restart logLiks:", format(fd$restart_logliks, digits = 15), "\n")
jd <- record_fit(fd, "flexmix Gaussian mixture of linear regressions with a multinomial-logit concomitant model on z, simulated",
                 "y ~ x",
                 "stepFlexmix(y ~ x, data = concomitant.csv, k = 2, concomitant = FLXPmultinom(~ z), nrep = 10, control = list(tolerance = 1e-10, iter.max = 2000))",
                 "gaussian", seed_d, n_d)
jd$concomitant_formula <- "~ z"
ord_d <- jd$flexmix_order
G <- parameters(md, which = "concomitant")            # q x k, column 1 = 0
Gs <- G[, ord_d, drop = FALSE] - G[, ord_d[1]]
jd$concomitant_coef <- lapply(seq_len(ncol(Gs)), function(j) { x <- Gs[, j]; names(x) <- rownames(G); jobj(x) })
jd$concomitant_coef_note <- "parameters(m, which = 'concomitant') re-expressed for the sorted components: multinomial logit, sorted component 1 is the reference (all zeros); P(comp j | z) = exp(g_j'(1, z)) / sum_l exp(g_l'(1, z))"
jd$concomitant_coef_flexmix_order <- lapply(seq_len(ncol(G)), function(j) { x <- G[, j]; names(x) <- rownames(G); jobj(x) })
jd$prior_note <- "with a concomitant model prior(m) is the average of the per-row prior probabilities (colMeans of the fitted multinomial probabilities)"
pr_rows <- flexmix:::getPriors(md@concomitant, md@group, rep(TRUE, n_d))
jd$prior_by_row_first10 <- jmat(pr_rows[1:10, ord_d, drop = FALSE])
jd$data <- "concomitant.csv (x, z, y, class), fitted as read back from the CSV"
jd$simulation <- paste0("set.seed(", sim_seed_d, "); n = 400; x = runif(n, 0, 10); z = rnorm(n);",
                        " class = 1 + rbinom(n, 1, plogis(-0.5 + 1.5 z)); e = rnorm(n);",
                        " y = ifelse(class == 1, 2 + 1.0 x + e, 8 - 0.5 x + 1.5 e)")
jd$true_values <- list(coef = list(jobj(c("(Intercept)" = 2, x = 1)), jobj(c("(Intercept)" = 8, x = -0.5))),
                       sigma = jvec(c(1, 1.5)),
                       concomitant_coef = list(jobj(c("(Intercept)" = 0, z = 0)), jobj(c("(Intercept)" = -0.5, z = 1.5))))
jd$true_class_table <- unname(unclass(table(factor(jd$clusters, 1:2), factor(class_d, 1:2))))
jd <- attach_refit(jd, md, ord_d)$j
jd$versions <- versions
save_json(jd, "concomitant_k2.json")

## ---------------------------------------------------------------- case e
banner("e. grouped_k2: yn ~ x + I(x^2) | id2, k = 2")
seed_e <- 105
fe <- best_fit(seed_e, yn ~ x + I(x^2) | id2, data = NPreg, k = 2)
me <- fe$m
print_fit(me)
cat("restart logLiks:", format(fe$restart_logliks, digits = 15), "\n")
je <- record_fit(fe, "flexmix Gaussian mixture of quadratic regressions on NPreg, grouped by id2 (all rows of a group share the component)",
                 "yn ~ x + I(x^2) | id2",
                 "stepFlexmix(yn ~ x + I(x^2) | id2, data = NPreg, k = 2, nrep = 10, control = list(tolerance = 1e-10, iter.max = 2000))",
                 "gaussian", seed_e, nrow(NPreg))
je$data <- npreg_data_txt
je$n_groups <- nlevels(NPreg$id2)
je$grouping_note <- "posterior rows (and clusters) are per observation row, constant within a group; the loglik sums log sum_j prior_j prod_{i in g} f_j(y_i) over the 50 groups; BIC uses n = 200 rows (bic_nobs), not the 50 groups"
je$groups_consistent <- all(tapply(je$clusters, NPreg$id2, function(v) length(unique(v)) == 1))
je <- attach_refit(je, me, je$flexmix_order)$j
je$versions <- versions
save_json(je, "grouped_k2.json")

## ---------------------------------------------------------------- case f
banner("f. npreg_stepflexmix: yn ~ x + I(x^2), k = 1:4, nrep = 10")
seed_f <- 106
set.seed(seed_f)
sf <- stepFlexmix(yn ~ x + I(x^2), data = NPreg, k = 1:4, nrep = NREP, control = CONTROL, verbose = FALSE)
print(sf)
tab <- lapply(as.character(sf@k), function(kk) {
  m <- getModel(sf, kk)
  o <- comp_order(m); P <- parameters(m)
  crow <- grepl("^coef\\.", rownames(P))
  list(k = as.integer(kk), k_final = m@k, k0 = m@k0, iter = m@iter, converged = m@converged,
       loglik = jnum(as.numeric(logLik(m))), df = m@df,
       aic = jnum(AIC(m)), bic = jnum(BIC(m)), icl = jnum(ICL(m)),
       prior = jvec(prior(m)[o]),
       coef = lapply(o, function(j) { x <- P[crow, j]; names(x) <- sub("^coef\\.", "", rownames(P)[crow]); jobj(x) }),
       sigma = jvec(P["sigma", o]),
       cluster_sizes = I(tabulate(match(clusters(m), o), nbins = m@k)),
       restart_logliks = jvec(sf@logLiks[kk, ]))
})
jf <- list(case = "flexmix::stepFlexmix over k = 1:4 on NPreg, best of 10 restarts per k",
           formula = "yn ~ x + I(x^2)", family = "gaussian", n = nrow(NPreg),
           call = "set.seed(106); stepFlexmix(yn ~ x + I(x^2), data = NPreg, k = 1:4, nrep = 10, control = list(tolerance = 1e-10, iter.max = 2000))",
           seed = seed_f, nrep = NREP, control = CONTROL_TXT,
           component_order_rule = "within each k: components sorted by ascending intercept",
           k_column_note = "k = requested number of components; k_final = components left after flexmix removed those with prior < minprior = 0.05 (equal to k here unless stated); k0 = flexmix's k0 slot (requested k)",
           data = npreg_data_txt,
           table = tab,
           best_k_bic = getModel(sf, "BIC")@k, best_k_aic = getModel(sf, "AIC")@k,
           best_k_icl = getModel(sf, "ICL")@k,
           k1_note = "k = 1 uses the same df-corrected sigma, i.e. lm's residual standard error sqrt(RSS / (n - p)), so flexmix's k = 1 loglik is below lm's ML logLik (k1_lm_loglik, which uses sigma^2 = RSS / n)",
           k1_lm_loglik = jnum(as.numeric(logLik(lm(yn ~ x + I(x^2), data = NPreg)))),
           k1_lm_sigma_residual_se = jnum(summary(lm(yn ~ x + I(x^2), data = NPreg))$sigma),
           versions = versions)
save_json(jf, "npreg_stepflexmix.json")
cat("BIC-best k =", jf$best_k_bic, " AIC-best k =", jf$best_k_aic, " ICL-best k =", jf$best_k_icl, "\n")
