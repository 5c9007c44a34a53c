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

source(file.path("..", "mclust_tables.R"))
one <- function(name, X, write_data = TRUE) {
  fit <- fit_tables(name, X, out, write_data)
  wr(pr(summary(fit$m, parameters = TRUE)), paste0(name, "_summary.txt"))
  printed(name, as.data.frame(X), fit$b, fit$icl)
  invisible(fit$m)
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
