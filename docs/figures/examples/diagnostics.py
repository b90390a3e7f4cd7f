import lmmplot as lp

sleepstudy = lp.load_dataset("sleepstudy")
lme_sleep2 = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)

plot = lp.plot_diagnostics(lme_sleep2, seed=1)   # a dict of ggplots, shown composed
