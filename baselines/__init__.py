"""Baselines: each module has ``train(run: pwm.run.Run)`` writing eval.csv through pwm.evaluate.

Adding a baseline is one module here plus one ``rule train_<name>`` in
workflow/rules/algorithms.smk; ``random_policy.py`` is the worked example.
"""
