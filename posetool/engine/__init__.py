"""What runs the stages: the chain and its runners (:mod:`chain`), ``posetool run`` (:mod:`run`),
the default models (:mod:`presets`) and the one training loop with hooks (:mod:`trainer`)."""
