import lmmplot as lp

sleepstudy = lp.load_dataset("sleepstudy")
fits = {
    "intercepts": lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy),
    "intercepts and slopes": lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy),
    "slopes only": lp.lmer("Reaction ~ Days + (0 + Days|Subject)", sleepstudy),
}

plot = lp.plot_coef(**fits)
