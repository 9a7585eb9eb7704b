"""TD-MPC2's custom dm_control tasks: models, suite registration, and rewards on hand-set states.

Expected rewards are computed here from the task definitions (TD-MPC2's ``envs/tasks/*.py``, restated in pwm/envs/dmc_custom) with this file's own
tolerance functions, on physics states set by hand, not by running a policy.
"""

import math

import numpy as np
import pytest
from dm_control import suite

import pwm  # noqa: F401  (MUJOCO_GL default)
from pwm.envs import get_spec, make

CUSTOM = {
    "walker-walk-backwards": ("walker", "walk_backwards"),
    "walker-run-backwards": ("walker", "run_backwards"),
    "cheetah-run-backwards": ("cheetah", "run_backwards"),
    "cheetah-run-front": ("cheetah", "run_front"),
    "cheetah-run-back": ("cheetah", "run_back"),
    "cheetah-jump": ("cheetah", "jump"),
    "hopper-hop-backwards": ("hopper", "hop_backwards"),
    "reacher-three-easy": ("reacher", "three_easy"),
    "reacher-three-hard": ("reacher", "three_hard"),
    "cup-spin": ("ball_in_cup", "spin"),
    "pendulum-spin": ("pendulum", "spin"),
}


def linear_outside(distance, margin, value_at_margin):
    """Linear tolerance at ``distance`` >= 0 outside the bounds (1 inside)."""
    scaled = distance / margin * (1 - value_at_margin)
    return 1 - scaled if scaled < 1 else 0.0


def gaussian_outside(distance, margin):
    """Gaussian tolerance (value 0.1 at the margin) at ``distance`` >= 0 outside the bounds."""
    scale = math.sqrt(-2 * math.log(0.1))
    return math.exp(-0.5 * (distance / margin * scale) ** 2)


def at_least(x, bound, margin, kind="gaussian", value_at_margin=0.1):
    d = max(bound - x, 0.0)
    return gaussian_outside(d, margin) if kind == "gaussian" else linear_outside(d, margin, value_at_margin)


def load(task):
    domain, name = CUSTOM[task]
    env = suite.load(domain, name, task_kwargs={"random": 0})
    env.reset()
    return env


def reward_at(env, **state):
    """Reward of ``env``'s task after setting named qpos/qvel entries (all others zero)."""
    physics = env.physics
    with physics.reset_context():
        for key, value in state.items():
            kind, joint = key.split("__")
            getattr(physics.named.data, kind)[joint] = value
    return env.task.get_reward(physics)


@pytest.mark.parametrize("task", sorted(CUSTOM))
def test_registered_as_custom_in_dm_control_suite_and_registry(task):
    domain, name = CUSTOM[task]
    spec = get_spec(task)
    assert spec.family == "dm_control-custom" and spec.domain == domain
    assert spec.episode_length == 500 and spec.action_repeat == 2 and spec.score == "reward"
    assert name in suite._DOMAINS[domain].SUITE.tagged("custom")
    assert (domain, name) not in suite.ALL_TASKS  # the stock benchmark list stays stock


def test_custom_episode_is_500_agent_steps():
    env = make("cup-spin", 0)
    env.reset(seed=0)
    steps, truncated = 0, False
    while not truncated:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not terminated and 0.0 <= reward <= 2.0
        steps += 1
    assert steps == 500


def test_floors_are_widened_for_backwards_tasks():
    stock_walker = suite.load("walker", "walk").physics
    stock_cheetah = suite.load("cheetah", "run").physics
    walker = load("walker-walk-backwards").physics
    cheetah = load("cheetah-run-backwards").physics
    assert walker.named.model.geom_size["floor", 0] == 2 * stock_walker.named.model.geom_size["floor", 0] == 500
    assert cheetah.named.model.geom_size["ground", 0] == 2 * stock_cheetah.named.model.geom_size["ground", 0] == 200
    # Only the floor changed: same bodies, masses and actuators as the stock model.
    np.testing.assert_array_equal(walker.model.body_mass, stock_walker.model.body_mass)
    np.testing.assert_array_equal(walker.model.actuator_gear, stock_walker.model.actuator_gear)


@pytest.mark.parametrize("task,speed", [("walker-walk-backwards", 1.0), ("walker-run-backwards", 8.0)])
def test_walker_backwards_pays_for_negative_velocity(task, speed):
    env = load(task)
    # Upright at the default pose: torso at 1.3 m >= 1.2, so stand reward is 1.
    assert reward_at(env, qvel__rootx=-speed) == pytest.approx(1.0)
    assert reward_at(env, qvel__rootx=-2 * speed) == pytest.approx(1.0)
    # A quarter of the margin (speed / 2) short of the target: move = 1 - 0.25 * 0.5.
    move = linear_outside(speed / 8, speed / 2, 0.5)
    assert move == pytest.approx(0.875)
    assert reward_at(env, qvel__rootx=-speed + speed / 8) == pytest.approx((5 * move + 1) / 6)
    # Forwards at the same speed earns only the standing share.
    assert reward_at(env, qvel__rootx=speed) == pytest.approx(1 / 6)
    stock = suite.load("walker", "walk" if speed == 1 else "run")
    stock.reset()
    assert reward_at(stock, qvel__rootx=speed) == pytest.approx(1.0)  # mirror image of stock


def test_cheetah_run_backwards_pays_for_negative_velocity():
    env = load("cheetah-run-backwards")
    assert reward_at(env, qvel__rootx=-8.0) == pytest.approx(1.0)
    assert reward_at(env, qvel__rootx=-12.0) == pytest.approx(1.0)
    assert reward_at(env, qvel__rootx=-4.0) == pytest.approx(0.5)
    assert reward_at(env, qvel__rootx=0.0) == pytest.approx(0.0)
    assert reward_at(env, qvel__rootx=10.0) == pytest.approx(0.0)


def _one_foot_run_expected(physics, raised_foot):
    z = physics.named.data.xpos
    up = (3 * at_least(z[raised_foot, "z"], 1.2, 0.6) + 2 * at_least(z["torso", "z"], 1.2, 0.6)) / 5
    speed = at_least(physics.speed(), 6.0, 6.0, "linear", 0.0)
    return up * (5 * speed + 1) / 6


@pytest.mark.parametrize(
    "task,raised_foot,pitch", [("cheetah-run-front", "bfoot", 0.5), ("cheetah-run-back", "ffoot", -0.5)]
)
def test_cheetah_one_foot_running(task, raised_foot, pitch):
    env = load(task)
    other = {"cheetah-run-front": "cheetah-run-back", "cheetah-run-back": "cheetah-run-front"}[task]
    other_env = load(other)
    for z, vx in [(0.0, 0.0), (0.3, 3.0), (1.5, 6.0)]:
        state = dict(qpos__rooty=pitch, qpos__rootz=z, qvel__rootx=vx)
        reward = reward_at(env, **state)
        assert reward == pytest.approx(_one_foot_run_expected(env.physics, raised_foot))
    # Raised high and running at 6 m/s pays in full.
    assert reward_at(env, qpos__rootz=2.0, qvel__rootx=6.0) == pytest.approx(1.0)
    # Pitched so that `raised_foot` is up: this task pays more than the opposite-foot task.
    state = dict(qpos__rooty=pitch, qpos__rootz=0.2, qvel__rootx=6.0)
    assert reward_at(env, **state) > reward_at(other_env, **state) + 0.1


def test_cheetah_jump_pays_for_both_feet_high_and_staying_in_place():
    env = load("cheetah-jump")
    assert reward_at(env, qpos__rootz=2.0) == pytest.approx(1.0)  # everything above 1.2 m
    assert reward_at(env, qpos__rootz=2.0, qvel__rootx=1.0) == pytest.approx(5 / 6)  # moving: no still bonus
    assert reward_at(env, qpos__rootz=2.0, qvel__rootx=0.75) == pytest.approx((5 + 0.5) / 6)
    # On the ground: each "stand" term uses the mean height of torso and raised foot.
    reward = reward_at(env, qpos__rooty=0.3)
    z = env.physics.named.data.xpos
    stand = [(5 * at_least((z["torso", "z"] + z[foot, "z"]) / 2, 1.2, 0.6) + 1) / 6 for foot in ("bfoot", "ffoot")]
    assert reward == pytest.approx(sum(stand) / 2)
    assert reward < 0.6


def test_hopper_hop_backwards():
    env = load("hopper-hop-backwards")
    # Default pose: torso 0.98 m above the foot, inside [0.6, 2].
    assert reward_at(env, qvel__rootx=-1.0) == pytest.approx(1.0)
    assert reward_at(env, qvel__rootx=-0.75) == pytest.approx(linear_outside(0.25, 0.5, 0.5))
    assert reward_at(env, qvel__rootx=0.0) == pytest.approx(0.0)
    assert reward_at(env, qvel__rootx=1.0) == pytest.approx(0.0)
    # Lying down (torso level with the foot) earns nothing even when moving backwards.
    assert reward_at(env, qpos__rooty=np.pi / 2, qvel__rootx=-1.0) == pytest.approx(0.0)


@pytest.mark.parametrize("task,target_size", [("reacher-three-easy", 0.05), ("reacher-three-hard", 0.015)])
def test_three_link_reacher(task, target_size):
    env = load(task)
    physics = env.physics
    assert physics.model.nu == 3 and physics.model.njnt == 3
    assert physics.named.model.geom_size["target", 0] == target_size
    ranges = np.rad2deg(physics.model.jnt_range)
    assert list(physics.model.jnt_limited) == [0, 1, 1]
    np.testing.assert_allclose(ranges[1:], [[-80, 80], [-80, 80]])
    # Forward kinematics computed here: three segments of 0.09 m from the shoulder to the finger.
    q = np.array([0.4, -0.9, 1.1])
    reward_at(env, qpos__shoulder0=q[0], qpos__shoulder1=q[1], qpos__wrist=q[2])
    angles = np.cumsum(q)
    finger = np.array([0.09 * np.cos(angles).sum(), 0.09 * np.sin(angles).sum()])
    np.testing.assert_allclose(physics.named.data.geom_xpos["finger", :2], finger, atol=1e-9)
    # Sparse reward: 1 iff finger-target distance <= target radius + finger radius (0.01).
    touch = target_size + 0.01
    for distance, expected in [(0.0, 1.0), (0.99 * touch, 1.0), (1.01 * touch, 0.0), (0.1, 0.0)]:
        physics.named.model.geom_pos["target", :2] = finger + [distance, 0.0]
        assert reward_at(env, qpos__shoulder0=q[0], qpos__shoulder1=q[1], qpos__wrist=q[2]) == expected
    # Each episode places the target 0.05-0.20 m from the shoulder, within the arm's 0.27 m reach.
    rng_env = make(task, 3)
    for seed in range(5):
        rng_env.reset(seed=seed)
        r = np.linalg.norm(rng_env.physics.named.model.geom_pos["target", :2])
        assert 0.05 <= r <= 0.20


def test_cup_spin_pays_for_fast_far_ball_outside_the_cup():
    env = load("cup-spin")
    physics = env.physics
    # Ball inside the cup (ball_z 0.35 puts it at the target site): no reward, however fast.
    in_cup = dict(qpos__ball_x=0.0, qpos__ball_z=0.35, qvel__ball_x=10.0)
    assert reward_at(env, **in_cup) == 0.0 and physics.in_target() == 1.0
    # Far (>= 0.5 m from the target site) and fast (>= 6 m/s): full reward.
    assert reward_at(env, qpos__ball_x=0.6, qpos__ball_z=-0.3, qvel__ball_x=6.0, qvel__ball_z=1.0) == pytest.approx(1.0)
    # Far but still: the distance term only.
    assert reward_at(env, qpos__ball_x=0.6, qpos__ball_z=-0.3) == pytest.approx(1 / 3)
    # Intermediate distance and speed, expected from the definition.
    reward = reward_at(env, qpos__ball_x=0.3, qpos__ball_z=0.0, qvel__ball_x=3.0, qvel__ball_z=3.0)
    dist = np.linalg.norm(
        physics.named.data.site_xpos["target", ["x", "z"]] - physics.named.data.xpos["ball", ["x", "z"]]
    )
    far = at_least(dist, 0.5, 0.25, "linear", 0.5)
    fast = at_least(np.hypot(3.0, 3.0), 6.0, 3.0, "linear", 0.5)
    assert 0 < far < 1 and 0 < fast < 1
    assert reward == pytest.approx((far + 2 * fast) / 3)


def test_cup_spin_starts_in_the_cup_most_of_the_time():
    env = make("cup-spin", 0)
    inside = []
    for seed in range(150):
        env.reset(seed=seed)
        inside.append(env.physics.in_target())
    assert 0.85 <= np.mean(inside) < 1.0  # 90% in the cup by construction, plus luck of the other 10%


def test_pendulum_spin_pays_for_spinning_not_balancing():
    env = load("pendulum-spin")
    stock = suite.load("pendulum", "swingup")
    stock.reset()
    upright = dict(qpos__hinge=0.0)  # hinge angle 0 is the pole pointing up
    assert reward_at(stock, **upright) == pytest.approx(1.0)  # swingup pays for balancing ...
    assert reward_at(env, **upright) == pytest.approx(0.0)  # ... spin does not
    assert reward_at(env, qvel__hinge=9.0) == pytest.approx(1.0)
    assert reward_at(env, qvel__hinge=-12.0) == pytest.approx(1.0)
    assert reward_at(env, qvel__hinge=6.75) == pytest.approx(0.75)  # 2.25 short, margin 4.5, value 0.5 at margin
    assert reward_at(env, qpos__hinge=np.pi, qvel__hinge=-6.75) == pytest.approx(0.75)


def test_pendulum_spin_starts_at_swing_up_states():
    env = make("pendulum-spin", 0)
    angles = []
    for seed in range(30):
        obs, _ = env.reset(seed=seed)
        angles.append(np.arctan2(obs[1], obs[0]))  # orientation obs = (cos, sin) of the pole
    assert np.ptp(angles) > np.pi  # spread over the circle, not just near upright
