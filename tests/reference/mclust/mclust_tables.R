# The file set every mclust reference case writes (sourced by make_reference.R
# and extra/make_extra_reference.R): <name>.csv (unless write_data is FALSE),
# the BIC and ICL tables (<name>_bic.csv, <name>_icl.csv), the chosen model
# (<name>_best.csv), its classification and uncertainty (<name>_class.csv),
# and one summary line on stdout.  Returns list(m = Mclust fit, b = BIC, icl = ICL).
fit_tables <- function(name, X, out, write_data = TRUE) {
  X <- as.data.frame(X)
  if (write_data) write.csv(X, file.path(out, paste0(name, ".csv")), row.names = FALSE)
  t <- system.time(b <- mclustBIC(X))
  m <- Mclust(X, x = b)
  bt <- as.data.frame(unclass(b)[, , drop = FALSE])
  bt <- cbind(G = as.integer(rownames(bt)), bt)
  write.csv(bt, file.path(out, paste0(name, "_bic.csv")), row.names = FALSE)
  icl <- mclustICL(X)
  it <- as.data.frame(unclass(icl)[, , drop = FALSE]); it <- cbind(G = as.integer(rownames(it)), it)
  write.csv(it, file.path(out, paste0(name, "_icl.csv")), row.names = FALSE)
  cat(sprintf("%s n=%d d=%d best=%s G=%d bic=%.6f loglik=%.6f df=%d icl=%.6f time=%.2f NA_bic=%d NA_icl=%d\n",
              name, nrow(X), ncol(X), m$modelName, m$G, m$bic, m$loglik, m$df, icl(m), t[["elapsed"]],
              sum(is.na(unclass(b))), sum(is.na(unclass(icl)))))
  write.csv(data.frame(model = m$modelName, G = m$G, bic = m$bic, loglik = m$loglik, df = m$df, icl = icl(m)),
            file.path(out, paste0(name, "_best.csv")), row.names = FALSE)
  write.csv(data.frame(classification = m$classification, uncertainty = m$uncertainty),
            file.path(out, paste0(name, "_class.csv")), row.names = FALSE)
  list(m = m, b = b, icl = icl)
}
