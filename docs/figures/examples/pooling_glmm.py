import lmmplot as lp

sleepstudy = lp.load_dataset("sleepstudy")
slow = lp.glmer("I(Reaction > 300) ~ Days + (1 + Days|Subject)", sleepstudy, family="binomial")

plot = lp.plot_pooling(slow)
