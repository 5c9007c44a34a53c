## Exact JSON and CSV output for the reference scripts (sourced by tobit/ and
## flexmix/make_reference.R; needs jsonlite).
## jsonlite caps numbers at 15 significant digits (digits = NA and digits = I(17)
## both give 15), which does not round-trip doubles.  Numbers are therefore
## rendered here with the shortest of %.15g/%.16g/%.17g that round-trips exactly
## and inserted verbatim (json_verbatim = TRUE).  Non-finite values -> null.
fmt_num <- function(x) {
  vapply(as.numeric(x), function(v) {
    if (!is.finite(v)) return("null")
    for (d in 15:17) {
      s <- sprintf(paste0("%.", d, "g"), v)
      if (as.numeric(s) == v) return(s)
    }
    s
  }, "")
}
jnum <- function(x) structure(fmt_num(x)[1], class = "json")             # scalar
jvec <- function(x) structure(paste0("[", paste(fmt_num(x), collapse = ", "), "]"),
                              class = "json")                               # array
jmat <- function(m) structure(paste0("[", paste(apply(m, 1, function(r)
  paste0("[", paste(fmt_num(r), collapse = ", "), "]")), collapse = ", "), "]"),
  class = "json")                                                            # row-major
## named numeric vector -> JSON object {"name": number, ...} (order kept)
jobj <- function(x) structure(paste0("{", paste(
  paste0(vapply(names(x), function(s) as.character(toJSON(s, auto_unbox = TRUE)), ""),
         ": ", fmt_num(x)), collapse = ", "), "}"), class = "json")
## write.csv would print 15 significant digits; write numeric columns with the
## shortest round-tripping representation instead (NA stays the bare token NA).
write_csv_exact <- function(df, file) {
  out <- df
  for (nm in names(out)) if (is.double(out[[nm]]))
    out[[nm]] <- ifelse(is.na(out[[nm]]), NA, fmt_num(out[[nm]]))
  qcols <- which(!vapply(df, is.double, TRUE) & !vapply(df, is.integer, TRUE))
  write.csv(out, file, row.names = FALSE, quote = if (length(qcols)) qcols else FALSE)
  back <- read.csv(file, stringsAsFactors = FALSE)
  for (nm in names(df)) if (is.double(df[[nm]]))
    stopifnot(identical(is.na(back[[nm]]), is.na(df[[nm]])),
              all(back[[nm]] == df[[nm]], na.rm = TRUE))
  cat("wrote", file, "\n")
}
save_json <- function(x, file) {
  write_json(x, file, digits = NA, auto_unbox = TRUE, pretty = TRUE,
             json_verbatim = TRUE, na = "null")
  cat("wrote", file, "\n")
}
