"""TD-MPC2 config.yaml files read (with overrides) into world-model settings, without Hydra."""

import pytest
import torch

from pwm.config_io import load_config, load_tdmpc2_config, world_model_config
from pwm.envs.suites import TASK_SETS
from pwm.world_model import WorldModel

# The keys of TD-MPC2's config.yaml that matter here, in its own syntax: a Hydra `defaults` list that
# cannot be composed without the submitit plugin, `???` placeholders, `+10`, `1_000_000`, `3e-4`.
TDMPC2_YAML = """\
defaults:
    - override hydra/launcher: submitit_local
task: dog-run
obs: state
episodic: false
steps: 10_000_000
batch_size: 256
lr: 3e-4
horizon: 3
log_std_min: -10
log_std_max: 2
num_bins: 101
vmin: -10
vmax: +10
model_size: ???
num_enc_layers: 2
enc_dim: 256
num_channels: 32
mlp_dim: 512
latent_dim: 512
task_dim: 96
num_q: 5
dropout: 0.01
simnorm_dim: 8
checkpoint: ???
multitask: ???
tasks: ???
action_dim: ???
bin_size: ???
seed_steps: 5*1000
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(TDMPC2_YAML)
    return path


def test_mt80_48m_override(config_file):
    cfg = load_tdmpc2_config(config_file, ["model_size=48", "task=mt80"])
    assert "defaults" not in cfg
    assert (cfg.enc_dim, cfg.mlp_dim, cfg.latent_dim, cfg.num_enc_layers, cfg.num_q) == (1792, 1792, 768, 4, 5)
    assert cfg.multitask and len(cfg.tasks) == 80 and cfg.tasks[30] == "mw-assembly" and cfg.task_dim == 96
    assert (cfg.obs_dim, cfg.action_dim) == (39, 6) and cfg.bin_size == pytest.approx(0.2)
    assert isinstance(cfg.lr, float) and cfg.steps == 10_000_000 and cfg.vmax == 10 and cfg.seed_steps == 5000
    wm = world_model_config(cfg)
    assert (wm.num_tasks, wm.task_dim, wm.model_size, wm.action_dims[30]) == (80, 96, 48, 4)
    with torch.device("meta"):
        assert WorldModel(wm).total_params == 48_791_146  # TD-MPC2's count for mt80-48M


def test_mt30_rules_and_single_task(config_file):
    mt30_19 = world_model_config(load_tdmpc2_config(config_file, ["model_size=19", "task=mt30"]))
    assert (mt30_19.latent_dim, mt30_19.task_dim, mt30_19.obs_dim) == (512, 64, 24)
    assert list(mt30_19.action_dims) == [a for _, _, a in TASK_SETS["mt30"]]
    single = world_model_config(load_tdmpc2_config(config_file, ["model_size=1", "task=walker-walk"]))
    assert (single.num_tasks, single.task_dim, single.obs_dim, single.action_dim, single.num_q) == (0, 0, 24, 6, 2)
    # no model_size: the yaml's own architecture (= size 5); unknown task: dims must be given
    custom = load_tdmpc2_config(config_file, ["task=my-robot-task"])
    with pytest.raises(ValueError, match="pass obs_dim and action_dim"):
        world_model_config(custom)
    wm = world_model_config(custom, obs_dim=11, action_dim=3)
    assert (wm.latent_dim, wm.mlp_dim, wm.model_size, wm.obs_dim) == (512, 512, None, 11)


def test_config_matches_reference_checkpoint(config_file, reference_dir):
    from pwm.checkpoint import load_tdmpc2

    wm = world_model_config(load_tdmpc2_config(config_file, ["model_size=1", "task=mt30"]))
    path = reference_dir / "tdmpc2" / "mt30-size1.pt"
    model = load_tdmpc2(path, cfg=wm)
    # the checkpoint's own record of each task's action dims: the row sums of its action masks
    masks = torch.load(path, map_location="cpu", weights_only=True)["model"]["_action_masks"]
    from_file = [int(n) for n in masks.sum(1)]
    assert len(from_file) == 30 and from_file[:8] == [6, 6, 6, 6, 2, 2, 1, 1]
    assert list(wm.action_dims) == from_file
    assert list(model.cfg.action_dims) == from_file


def test_bad_overrides_and_values_fail(config_file, tmp_path):
    with pytest.raises(KeyError, match="model_sise"):
        load_tdmpc2_config(config_file, ["model_sise=5"])
    with pytest.raises(ValueError, match="invalid model_size 7"):
        load_tdmpc2_config(config_file, ["model_size=7"])
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "absent.yaml")


def test_generic_loader_for_project_configs(tmp_path):
    path = tmp_path / "alg.yaml"
    path.write_text("defaults:\n  - _self_\nalg:\n  name: pwm\n  lr: 5e-4\n  horizon: 16\nseed: ${alg.horizon}\n")
    cfg = load_config(path, ["alg.lr=1e-3", "+alg.extra=true"])
    assert cfg.alg.lr == 1e-3 and cfg.alg.extra is True and cfg.seed == 16 and "defaults" not in cfg
