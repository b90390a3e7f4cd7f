import lmmplot as lp

sleepstudy = lp.load_dataset("sleepstudy")
lme_sleep2 = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)

plot = lp.plot_shrinkage(lme_sleep2)    # space="ranef" for MixedModelsMakie's shrinkageplot
