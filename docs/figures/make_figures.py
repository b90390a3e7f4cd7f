"""Draw the README's figures into this folder: python docs/figures/make_figures.py"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from plotnine import aes, geom_point, ggplot, theme_bw  # noqa: E402

import lmmplot as lp  # noqa: E402
from lmmplot import chapter  # noqa: E402

fits = chapter.models()
m2, sleep = fits["lme_sleep2"], fits["sleepstudy"]
bands = (ggplot(sleep, aes("Days", "Reaction")) + geom_point(alpha=0.5)
         + lp.geom_population(m2, interval="prediction", fill="#A6CEE3")
         + lp.geom_population(m2, interval="confidence") + theme_bw())
figures = {
    "shrinkage_comparison": chapter.figure("plot_shrinkage_comparison-1", fits),
    "plot_pooling": lp.plot_pooling(m2) + theme_bw(),
    "dragons_global": chapter.figure("plot_dragons_mixed_model_global-1", fits),
    "population_bands": bands,
}
for name, plot in figures.items():
    plot.save(HERE / f"{name}.png", width=8, height=5.6, dpi=90, verbose=False)
