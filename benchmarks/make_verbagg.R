# Writes benchmarks/data/verbagg.csv: lme4's VerbAgg (verbal aggression, 316 people x 24 items).
# Run from the repository root: Rscript benchmarks/make_verbagg.R
suppressMessages(library(lme4))
write.csv(VerbAgg, "benchmarks/data/verbagg.csv", row.names = FALSE)
