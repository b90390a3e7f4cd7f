# Time lme4::lmer on one data set; print the result as JSON on the last line.
# Usage: Rscript lme4_child.R CSV FORMULA REML CATEGORICAL BUDGET MIN_REPS MAX_REPS
#   CATEGORICAL: comma-separated columns read as character, then made factors ("" for none)
#   REML: TRUE or FALSE. A warm-up fit sets how many timed fits fill BUDGET seconds (within
#   MIN_REPS..MAX_REPS); a warm-up slower than BUDGET is itself the one measurement.
args <- commandArgs(trailingOnly = TRUE)
csv <- args[1]
formula <- as.formula(args[2])
reml <- as.logical(args[3])
categorical <- if (nzchar(args[4])) strsplit(args[4], ",")[[1]] else character(0)
budget <- as.numeric(args[5])
min_reps <- as.integer(args[6])
max_reps <- as.integer(args[7])

suppressMessages(library(lme4))
invisible(lmer(Reaction ~ Days + (Days | Subject), sleepstudy))  # loads every code path

classes <- setNames(rep("character", length(categorical)), categorical)
if (requireNamespace("data.table", quietly = TRUE)) {
  data <- as.data.frame(data.table::fread(csv, colClasses = classes, showProgress = FALSE))
} else {
  data <- read.csv(csv, colClasses = classes)
}
for (col in categorical) data[[col]] <- factor(data[[col]])

fit <- function() lmer(formula, data, REML = reml)
seconds <- function(t0) as.numeric(difftime(Sys.time(), t0, units = "secs"))
json_string <- function(s) {
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  s <- gsub("\n", "\\n", s, fixed = TRUE)
  s <- gsub("\t", "\\t", s, fixed = TRUE)
  paste0("\"", s, "\"")
}

t0 <- Sys.time()
model <- fit()
first <- seconds(t0)
if (first >= budget) {
  times <- first
} else {
  reps <- max(min_reps, min(max_reps, ceiling(budget / first)))
  times <- numeric(reps)
  for (i in seq_len(reps)) {
    model <- NULL
    t0 <- Sys.time()
    model <- fit()
    times[i] <- seconds(t0)
  }
}
messages <- model@optinfo$conv$lme4$messages
cat("\n", sprintf(
  '{"rows": %d, "times": [%s], "median": %.17g, "objective": %.17g, "theta": [%s], "messages": [%s], "version": "%s", "blas": "%s"}',
  nobs(model), paste(sprintf("%.17g", times), collapse = ", "), median(times),
  -2 * as.numeric(logLik(model)), paste(sprintf("%.17g", getME(model, "theta")), collapse = ", "),
  paste(vapply(as.character(messages), json_string, ""), collapse = ", "), as.character(packageVersion("lme4")),
  sessionInfo()$BLAS
), "\n", sep = "")
