import lmmplot as lp
from plotnine import aes, geom_point, ggplot

sleepstudy = lp.load_dataset("sleepstudy")
lme_sleep2 = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)

plot = (ggplot(sleepstudy, aes("Days", "Reaction"))
        + geom_point(alpha=0.5)
        + lp.geom_fitted(lme_sleep2, colour="grey")                  # each subject's line
        + lp.geom_population(lme_sleep2, interval="confidence"))     # Xβ and its 95% band
