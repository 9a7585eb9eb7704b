"""PWM (Georgiev et al. 2024): ``pwm-bench train --algo pwm``.

A policy is extracted from a pre-trained world model by first-order gradients through imagined
rollouts (``pwm.policy_learning``). Two settings, chosen by the task:

* a task of a multitask suite (mt30/mt80 dm_control or Meta-World): the frozen multitask world
  model of ``hparams.world_model`` and start states from ``hparams.data_dir``
  (``pwm.multitask_pwm``); ``--steps`` counts policy iterations;
* a differentiable locomotion task (``pwm.envs.diff``): a single-task world model pre-trained on
  offline (SHAC) rollouts, real envs in lockstep and online world-model fine-tuning
  (``pwm.singletask_pwm``); ``--steps`` counts real environment steps.

Hyperparameters: ``pwm/configs/pwm.yaml`` (every key documented there), overridden by
``run.settings.hparams``.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from pwm import hparams as hparams_loader
from pwm.run import Run

CONFIG_PATH = Path(__file__).with_name("configs") / "pwm.yaml"


def load_hparams(hparams: dict | None = None) -> DictConfig:
    """The defaults of ``pwm/configs/pwm.yaml`` with ``hparams`` merged in, strictly (pwm.hparams:
    unknown keys and wrong types rejected), as a DictConfig for attribute access (``cfg.horizon``)."""
    return OmegaConf.create(hparams_loader.resolve("pwm", None, hparams))


def is_differentiable_task(run: Run) -> bool:
    from pwm.envs.suites import DIFFERENTIABLE_FAMILIES

    return run.spec.family in DIFFERENTIABLE_FAMILIES


def train(run: Run) -> None:
    cfg = load_hparams(run.settings.hparams)
    if is_differentiable_task(run):
        from pwm.singletask_pwm import train_singletask

        train_singletask(run, cfg)
    else:
        from pwm.multitask_pwm import train_multitask

        train_multitask(run, cfg)
