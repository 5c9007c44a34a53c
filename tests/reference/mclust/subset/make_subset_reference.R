# mclust 6.0.0 with a given hc subset: more than 2000 rows, the tree grown on the
# rows listed in subset_rows.csv (0-based positions, in their order).
#   Rscript make_subset_reference.R
suppressMessages(library(mclust))
X <- read.csv("mixture2500.csv")
idx <- read.csv("subset_rows.csv")$row + 1
b <- mclustBIC(X, G = 1:5, initialization = list(subset = idx), verbose = FALSE)
bt <- as.data.frame(unclass(b)[, , drop = FALSE]); bt <- cbind(G = as.integer(rownames(bt)), bt)
write.csv(bt, "subset_bic.csv", row.names = FALSE)
m <- Mclust(X, x = b, verbose = FALSE)
write.csv(data.frame(model = m$modelName, G = m$G, bic = m$bic, loglik = m$loglik, df = m$df,
                     icl = m$icl), "subset_best.csv", row.names = FALSE)
write.csv(data.frame(classification = m$classification), "subset_class.csv", row.names = FALSE)
