import lmmplot as lp

sleepstudy = lp.load_dataset("sleepstudy")
lme_sleep2 = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)

plot = lp.plot_ranef(lme_sleep2)     # lme4's dotplot(ranef(m, condVar = TRUE)); qq=True for qqmath
