"""The course chapter "Fitting mixed models", its models fitted with lmmplot.

Run: python examples/fitting_mixed_models.py
"""
import lmmplot as lp

sleepstudy = lp.load_dataset("sleepstudy")
lm_sleep = lp.lm("Reaction ~ Days", sleepstudy)
lme_sleep1 = lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy)
lme_sleep2 = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)
lme_implicit = lp.lmer("Reaction ~ Days + (Days|Subject)", sleepstudy)
lme_slopesonly = lp.lmer("Reaction ~ Days + (0 + Days|Subject)", sleepstudy)

irrigation = lp.load_dataset("irrigation")
lme_yield = lp.lmer("yield ~ irrigation*variety + (1|field)", irrigation)

dragons = lp.load_dataset("dragons")
lme_dragons = lp.lmer("intelligence ~ wingspan*scales + (1 + wingspan|mountain)", dragons)
lme_dragons_complex = lp.lmer("intelligence ~ wingspan*scales + (1 + wingspan*scales|mountain)", dragons)

for name, model in [("lme_sleep1", lme_sleep1), ("lme_sleep2", lme_sleep2),
                    ("lme_slopesonly", lme_slopesonly), ("lme_yield", lme_yield),
                    ("lme_dragons", lme_dragons), ("lme_dragons_complex", lme_dragons_complex)]:
    print(f"== {name}")
    print(model.summary())
    print()
print("== augment(lme_sleep1), first rows")
print(lp.augment(lme_sleep1).head())
