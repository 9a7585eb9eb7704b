"""A new baseline written against the learner protocol (pwm.training_loop.Learner) gets the
harness's loop for free: it trains, is evaluated on the run's schedule, and a run killed with
SIGKILL resumes to the evaluation rows of an uninterrupted one (issue 19, item 1)."""

import subprocess
import sys

import pandas as pd
import pytest

from helpers import kill_after_checkpoint, run_to_end

# The whole baseline (basic random search over a linear policy, Mania et al. 2018), and the
# lines that run it in a Run.
BASELINE = '''
import sys
import numpy as np
from pwm.envs import make
from pwm.run import Run, RunSettings
from pwm.training_loop import Cadence, Learner


class RandomSearch(Learner):
    """Each step tries theta +/- noise for one episode each and moves theta toward the better one."""

    def __init__(self, run):
        self.env, self.budget = make(run.settings.task, run.settings.seed), run.settings.steps
        self.theta = np.zeros((self.env.action_space.shape[0], self.env.observation_space.shape[0]))
        self.noise = np.random.default_rng(run.settings.seed)

    def done(self):
        return self.step >= self.budget

    def policy(self, obs):
        return np.clip(self.theta @ obs, -1, 1).astype(np.float32)

    def episode(self, theta):
        obs, _ = self.env.reset(seed=int(self.noise.integers(2**31)))
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = self.env.step(np.clip(theta @ obs, -1, 1).astype(np.float32))
            total, self.step, done = total + reward, self.step + 1, terminated or truncated
        return total

    def train_step(self):
        delta = self.noise.normal(size=self.theta.shape)
        plus, minus = self.episode(self.theta + 0.1 * delta), self.episode(self.theta - 0.1 * delta)
        self.theta = self.theta + 1e-3 * (plus - minus) * delta
        return {"return_plus": plus, "return_minus": minus}

    def state_dict(self):
        return {"step": self.step, "theta": self.theta.copy(), "noise": self.noise.bit_generator.state}

    def load_state_dict(self, state):
        self.step, self.theta, self.noise.bit_generator.state = state["step"], state["theta"], state["noise"]


settings = RunSettings("random_search", "cartpole-balance", 3, sys.argv[1], steps=10_000, eval_every=2_000, eval_episodes=1)
run = Run(settings)
run.train(RandomSearch(run), Cadence(progress_every=2_000))
'''

COMPARED = ["algo", "task", "seed", "step", "env_steps", "episode_reward", "episode_success"]


@pytest.fixture
def baseline(tmp_path):
    path = tmp_path / "random_search.py"
    path.write_text(BASELINE)
    return lambda out: [sys.executable, str(path), str(out)]


def test_a_learner_trains_evaluates_and_resumes_after_a_kill_to_the_same_rows(tmp_path, baseline):
    reference = tmp_path / "uninterrupted"
    log = run_to_end(baseline(reference))
    expected = pd.read_csv(reference / "eval.csv")
    assert expected.step.tolist() == [0, 2000, 4000, 6000, 8000, 10000]
    assert expected.env_steps.tolist() == expected.step.tolist()
    assert expected.episode_reward.nunique() > 1  # theta moved: the policy is not the untrained one
    assert "[progress] step 10000/10000" in log

    out = tmp_path / "killed"
    killed_at = kill_after_checkpoint(baseline(out), out / "checkpoint.pt", 4000)
    assert not (out / "eval.csv").exists() and killed_at < 10000
    log = run_to_end(baseline(out))
    assert f"resuming from {out / 'checkpoint.pt'} at step {killed_at}" in log
    resumed = pd.read_csv(out / "eval.csv")
    pd.testing.assert_frame_equal(resumed[COMPARED], expected[COMPARED])


def test_a_learner_may_not_use_the_loops_own_state_key(tmp_path, baseline):
    script = tmp_path / "random_search.py"
    script.write_text(
        script.read_text().replace('{"step": self.step, "theta"', '{"rng": 0, "step": self.step, "theta"')
    )
    result = subprocess.run(baseline(tmp_path / "out"), capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "'rng'" in result.stderr and "RandomSearch.state_dict" in result.stderr
