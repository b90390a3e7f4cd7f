import lmmplot as lp
from plotnine import aes, facet_wrap, geom_point, ggplot

sleepstudy = lp.load_dataset("sleepstudy")
lme_sleep2 = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)

plot = (ggplot(sleepstudy, aes("Days", "Reaction"))
        + facet_wrap("Subject", nrow=3)
        + geom_point()
        + lp.geom_no_pooling(lme_sleep2, colour="green")   # each subject's own regression
        + lp.geom_fitted(lme_sleep2, colour="red"))        # the mixed model's lines
