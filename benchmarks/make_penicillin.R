# Writes lme4's Penicillin (24 plates x 6 samples) to data/penicillin_lme4.csv.
# Run once from benchmarks/: Rscript make_penicillin.R
suppressMessages(library(lme4))
data(Penicillin)
write.csv(Penicillin[, c("diameter", "plate", "sample")], "data/penicillin_lme4.csv", row.names = FALSE)
