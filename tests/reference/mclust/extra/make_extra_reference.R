# mclust 6.0.0 extra references (see README.md).  Run from this folder:
#   Rscript make_extra_reference.R > make_extra_reference.out 2>&1
# Same file set as ../make_reference.R for diabetes, waiting (univariate),
# banknote and faithful_round (many duplicate rows), plus the exact printed
# layouts of summary(Mclust), mclustBIC and mclustICL, predict() references for
# faithful and iris, and a restricted faithful sweep.
suppressMessages(library(mclust))
options(warn = 1, width = 80)  # width 80 = the Rscript default; stated so the layouts are reproducible
out <- "."
pr <- function(x) capture.output(print(x))
wr <- function(lines, file) writeLines(lines, file.path(out, file))

# printed mclustBIC / mclustICL blocks for data X, written as <name>_*_print.txt
printed <- function(name, X, b = mclustBIC(X), icl = mclustICL(X)) {
  tab <- pr(b); sb <- pr(summary(b))
  wr(c(sb, tab), paste0(name, "_bic_print.txt"))  # summary block, then the full table
  wr(sb, paste0(name, "_bic_summary_print.txt"))
  wr(tab, paste0(name, "_bic_table_print.txt"))
  wr(pr(summary(icl)), paste0(name, "_icl_print.txt"))
  wr(pr(icl), paste0(name, "_icl_table_print.txt"))
}

one <- function(name, X, write_data = TRUE) {
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
  wr(pr(summary(m, parameters = TRUE)), paste0(name, "_summary.txt"))
  printed(name, X, b, icl)
  invisible(m)
}

# predict(m, first 10 rows): classification and z (columns z1..zG)
pred <- function(name, X, m) {
  p <- predict(m, X[1:10, , drop = FALSE])
  z <- unclass(p$z); colnames(z) <- paste0("z", seq_len(ncol(z)))
  write.csv(data.frame(classification = p$classification, z),
            file.path(out, paste0(name, "_predict.csv")), row.names = FALSE)
}

data(diabetes, package = "mclust")
data(banknote, package = "mclust")

one("diabetes", diabetes[, c("glucose", "insulin", "sspg")])
one("waiting", data.frame(waiting = faithful$waiting))          # univariate: models E, V
one("banknote", banknote[, setdiff(names(banknote), "Status")])  # 200 x 6
one("faithful_round", round(faithful, 0))                       # many duplicate rows

# faithful and iris, read from the existing references (data files not rewritten here)
fa <- read.csv(file.path("..", "faithful.csv"))
ir <- read.csv(file.path("..", "iris.csv"))
mf <- one("faithful", fa, write_data = FALSE)
mi <- one("iris", ir, write_data = FALSE)
pred("faithful", fa, mf)
pred("iris", ir, mi)

# restricted faithful sweeps
r1 <- Mclust(fa, G = 2, modelNames = "VVV")
r2 <- Mclust(fa, G = 1:3, modelNames = c("EII", "VVV"))
rr <- data.frame(call = c('Mclust(faithful, G = 2, modelNames = "VVV")',
                          'Mclust(faithful, G = 1:3, modelNames = c("EII", "VVV"))'),
                 model = c(r1$modelName, r2$modelName), G = c(r1$G, r2$G),
                 bic = c(r1$bic, r2$bic), loglik = c(r1$loglik, r2$loglik),
                 df = c(r1$df, r2$df), icl = c(icl(r1), icl(r2)))
write.csv(rr, file.path(out, "faithful_restricted.csv"), row.names = FALSE)
rb <- as.data.frame(unclass(r2$BIC)[, , drop = FALSE]); rb <- cbind(G = as.integer(rownames(rb)), rb)
write.csv(rb, file.path(out, "faithful_restricted_bic.csv"), row.names = FALSE)
print(rr)
