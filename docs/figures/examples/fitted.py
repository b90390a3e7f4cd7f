import lmmplot as lp
from plotnine import aes, facet_wrap, geom_point, ggplot

dragons = lp.load_dataset("dragons")
lme_dragons = lp.lmer("intelligence ~ wingspan*scales + (1 + wingspan|mountain)", dragons)

plot = (ggplot(dragons, aes("wingspan", "intelligence", colour="scales"))
        + facet_wrap("mountain")
        + geom_point(alpha=0.5)
        + lp.geom_fitted(lme_dragons))           # each mountain's line, per scale colour
