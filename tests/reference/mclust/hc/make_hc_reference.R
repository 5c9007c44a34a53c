# mclust 6.0.0 references for emkit.hierarchical: the merge pairs of hc() and
# the classes of hclass(), and qclass() for univariate data, as mclustBIC's
# default initialisation uses them.  Run from this folder:
#
#     Rscript make_hc_reference.R > make_hc_reference.out 2>&1
#
# Writes, per case listed in cases.csv:
#   <case>_merges.csv   hcPairs transposed: merge l joins classes i < j (labels
#                       of the initial partition; the merged class keeps i)
#   <case>_classes.csv  hclass(hcPairs, 1:9): column Gg holds the classes for G = g
# and per univariate data set <name>_qclass.csv (column Gg = qclass(x, g)).
# Data sets not already in ../ are written here as <name>.csv.
suppressMessages(library(mclust))
stopifnot(packageVersion("mclust") == "6.0.0")
options(warn = 1)

full <- function(X) formatC(as.matrix(X), digits = 17, format = "g")

data_sets <- list(
  faithful = read.csv("../faithful.csv"),
  iris = read.csv("../iris.csv"),
  diabetes = mclust::diabetes[, -1],                # class column dropped
  banknote = mclust::banknote[, -1],                # Status dropped
  faithful_round = round(read.csv("../faithful.csv")),  # many duplicate rows
  wdbc25 = mclust::wdbc[1:25, 3:32],                # n = 25 <= d = 30: hcEII
  quakes = datasets::quakes                         # n = 1000: the parallel update path
)
for (name in c("diabetes", "banknote", "faithful_round", "wdbc25", "quakes"))
  write.csv(data_sets[[name]], paste0(name, ".csv"), row.names = FALSE)

cases <- data.frame(
  case = character(), data = character(), model = character(), use = character(),
  partition = character(), minclus = integer(), stringsAsFactors = FALSE)

one <- function(data, model = "VVV", use = "SVD", partition = "none", minclus = 1) {
  X <- as.matrix(data_sets[[data]])
  part <- if (partition == "dup") dupPartition(X) else NULL
  h <- if (is.null(part)) hc(X, modelName = model, use = use, minclus = minclus)
       else hc(X, modelName = model, use = use, partition = part, minclus = minclus)
  case <- paste(data, model, use, sep = "_")
  if (partition != "none") case <- paste(case, partition, sep = "_")
  if (minclus != 1) case <- paste0(case, "_minclus", minclus)
  pairs <- t(unclass(h))
  write.csv(data.frame(i = as.integer(pairs[, 1]), j = as.integer(pairs[, 2])),
            paste0(case, "_merges.csv"), row.names = FALSE)
  k <- length(unique(attr(h, "initialPartition")))
  G <- seq(minclus, min(9, k))
  cl <- hclass(h, G)
  colnames(cl) <- paste0("G", G)
  write.csv(cl, paste0(case, "_classes.csv"), row.names = FALSE)
  cases[nrow(cases) + 1, ] <<- list(case, data, model, use, partition, minclus)
  cat(sprintf("%-32s n=%d d=%d groups=%d merges=%d\n", case, nrow(X), ncol(X), k, ncol(h)))
  invisible(h)
}

same_tree <- function(a, b)
  identical(dim(a), dim(b)) && all(a == b) && attr(a, "modelName") == attr(b, "modelName")

# mclustBIC's default: hc(data, "VVV", "SVD") when n > d, hc(data, "EII", "SVD")
# when n <= d; check that these are the trees mclustBIC itself uses
for (data in c("faithful", "iris", "diabetes", "banknote", "faithful_round", "quakes")) {
  h <- one(data)
  b <- mclustBIC(data_sets[[data]], G = 1:3, modelNames = "EII", verbose = FALSE)
  stopifnot(same_tree(attr(b, "initialization")$hcPairs, h))
}
h <- one("wdbc25", model = "EII")
b <- mclustBIC(data_sets[["wdbc25"]], G = 1:3, modelNames = "EII", verbose = FALSE)
stopifnot(same_tree(attr(b, "initialization")$hcPairs, h))

# the merge loops on untransformed data, other models' trees, partitions, minclus
one("faithful", use = "VARS")
one("iris", use = "VARS")
one("faithful_round", use = "VARS")
one("faithful", model = "EII")
one("iris", model = "EII")
one("faithful_round", model = "EII")
one("faithful", partition = "dup")
one("faithful_round", partition = "dup")
one("faithful_round", model = "EII", partition = "dup")
one("iris", minclus = 3)
write.csv(cases, "cases.csv", row.names = FALSE)

# hc's SVD-transformed data to the last bit, to check the transform and to
# run the merge loop on R's own numbers (numpy's SVD is not R's LAPACK to the
# last bit, which can swap near-tied merges)
for (data in c("faithful", "iris", "faithful_round")) {
  h <- hc(as.matrix(data_sets[[data]]), modelName = "VVV", use = "SVD")
  write.csv(full(attr(h, "data")), paste0(data, "_svd_data.csv"), row.names = FALSE)
}

# univariate data: mclustBIC starts from mclust:::qclass(x, G) (not exported), hc is not used
univariate <- list(waiting = read.csv("../faithful.csv")$waiting, acidity = mclust::acidity)
write.csv(data.frame(acidity = univariate$acidity), "acidity.csv", row.names = FALSE)
for (name in names(univariate)) {
  x <- univariate[[name]]
  b <- mclustBIC(x, G = 1:3, verbose = FALSE)
  stopifnot(is.null(attr(b, "initialization")$hcPairs))
  q <- sapply(1:9, function(g) mclust:::qclass(x, g))
  colnames(q) <- paste0("G", 1:9)
  write.csv(q, paste0(name, "_qclass.csv"), row.names = FALSE)
  cat(sprintf("%-32s n=%d\n", paste0(name, "_qclass"), length(x)))
}
