# Time lme4::glmer (or glmer.nb) on one data set; print the result as JSON on the last line.
# Usage: Rscript glmer_child.R CSV FORMULA FAMILY NAGQ WEIGHTS CATEGORICAL BUDGET MIN_REPS MAX_REPS
#   FAMILY: binomial, poisson or negbin (glmer.nb); WEIGHTS: a column name or "" for none;
#   CATEGORICAL: comma-separated columns read as character, then made factors ("" for none).
#   The repeat rule is lme4_child.R's: a warm-up fit sets how many timed fits fill BUDGET s.
args <- commandArgs(trailingOnly = TRUE)
csv <- args[1]
formula <- as.formula(args[2])
family <- args[3]
nagq <- as.integer(args[4])
weights_col <- args[5]
categorical <- if (nzchar(args[6])) strsplit(args[6], ",")[[1]] else character(0)
budget <- as.numeric(args[7])
min_reps <- as.integer(args[8])
max_reps <- as.integer(args[9])

suppressMessages(library(lme4))
invisible(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial))

classes <- setNames(rep("character", length(categorical)), categorical)
data <- if (requireNamespace("data.table", quietly = TRUE)) {
  as.data.frame(data.table::fread(csv, colClasses = classes, showProgress = FALSE))
} else {
  read.csv(csv, colClasses = classes)
}
for (col in categorical) data[[col]] <- factor(data[[col]])
w <- if (nzchar(weights_col)) data[[weights_col]] else NULL

fit <- if (family == "negbin") {
  function() glmer.nb(formula, data)
} else {
  fam <- get(family, mode = "function")()
  function() suppressWarnings(glmer(formula, data, family = fam, nAGQ = nagq, weights = w))
}
seconds <- function(t0) as.numeric(difftime(Sys.time(), t0, units = "secs"))
json_string <- function(s) paste0("\"", gsub("\"", "\\\"", gsub("\\", "\\\\", gsub("\n", " ", s),
                                                               fixed = TRUE), fixed = TRUE), "\"")

cpu_seconds <- function(c0) { d <- proc.time() - c0; d[["user.self"]] + d[["sys.self"]] }
t0 <- Sys.time()
c0 <- proc.time()
model <- fit()
first <- seconds(t0)
times <- first
cpu <- cpu_seconds(c0)
if (first < budget) {
  reps <- max(min_reps, min(max_reps, ceiling(budget / first)))
  times <- cpu <- numeric(reps)
  for (i in seq_len(reps)) {
    model <- NULL
    t0 <- Sys.time()
    c0 <- proc.time()
    model <- fit()
    times[i] <- seconds(t0)
    cpu[i] <- cpu_seconds(c0)
  }
}
messages <- model@optinfo$conv$lme4$messages
cat("\n", sprintf(
  '{"rows": %d, "times": [%s], "median": %.17g, "cpu_times": [%s], "cpu_median": %.17g, "objective": %.17g, "messages": [%s], "version": "%s", "blas": "%s"}',
  nobs(model), paste(sprintf("%.17g", times), collapse = ", "), median(times),
  paste(sprintf("%.17g", cpu), collapse = ", "), median(cpu),
  -2 * as.numeric(logLik(model)),
  paste(vapply(as.character(messages), json_string, ""), collapse = ", "),
  as.character(packageVersion("lme4")), sessionInfo()$BLAS
), "\n", sep = "")
