"""The landscape core (issue 21): on a linear system with quadratic reward, where the objective
along any direction is a polynomial of degree 2H, the slices and gradient statistics match an
independent NumPy computation and finite differences; the simulator side's gradient agrees with
finite differences of the same rollout."""

import numpy as np
import pytest
import torch

from pwm.landscape import (
    cosine,
    filter_normalized_direction,
    gradient_statistics,
    roughness,
    simulator_objective,
    slice_1d,
    slice_2d,
)

RNG = np.random.default_rng(0)
N_STATES, N, M, H, GAMMA = 5, 3, 2, 4, 0.9
A = np.eye(N) + 0.1 * RNG.standard_normal((N, N))
B = 0.5 * RNG.standard_normal((N, M))
Q, R = np.diag([1.0, 0.5, 0.2]), 0.1 * np.eye(M)
X0 = RNG.standard_normal((N_STATES, N))


def numpy_returns(K: np.ndarray) -> np.ndarray:
    """The per-start-state discounted return of u = K x, computed independently in NumPy."""
    x, ret = X0.copy(), np.zeros(N_STATES)
    for t in range(H):
        u = x @ K.T
        ret += GAMMA**t * -(np.einsum("ni,ij,nj->n", x, Q, x) + np.einsum("ni,ij,nj->n", u, R, u))
        x = x @ A.T + u @ B.T
    return ret


def linear_system():
    K = torch.tensor(0.1 * RNG.standard_normal((M, N)), requires_grad=True)
    At, Bt, Qt, Rt, x0 = (torch.tensor(v) for v in (A, B, Q, R, X0))

    def objective():
        x, ret = x0, torch.zeros(N_STATES, dtype=torch.float64)
        for t in range(H):
            u = x @ K.T
            ret = ret + GAMMA**t * -(((x @ Qt) * x).sum(-1) + ((u @ Rt) * u).sum(-1))
            x = x @ At.T + u @ Bt.T
        return ret

    return K, objective


def test_a_slice_is_the_degree_2h_polynomial_of_the_closed_form():
    K, objective = linear_system()
    (D,) = filter_normalized_direction([K], torch.Generator().manual_seed(1))
    alphas = np.linspace(-1, 1, 4 * H + 1)
    values = slice_1d(objective, [K], [D], alphas)
    k0, d = K.detach().numpy(), D.numpy()
    np.testing.assert_allclose(values, [numpy_returns(k0 + a * d).mean() for a in alphas], rtol=1e-12)
    wide = np.linspace(-10, 10, 4 * H + 1)  # far enough out that the degree-2H terms show
    far = slice_1d(objective, [K], [D], wide)

    def misfit(degree):
        return np.abs(far - np.polyval(np.polyfit(wide, far, degree), wide)).max() / np.abs(far).max()

    assert misfit(2 * H) < 1e-12 and misfit(2 * H - 1) > 1e-8  # exactly of degree 2H
    np.testing.assert_allclose(K.detach().numpy(), k0)  # the parameters are put back

    (E,) = filter_normalized_direction([K], torch.Generator().manual_seed(2))
    grid = slice_2d(objective, [K], [D], [E], alphas[::4], alphas[::4])
    expected = [[numpy_returns(k0 + a * d + b * E.numpy()).mean() for b in alphas[::4]] for a in alphas[::4]]
    np.testing.assert_allclose(grid, expected, rtol=1e-12)


def test_gradient_statistics_match_finite_differences_per_start_state():
    K, objective = linear_system()
    stats = gradient_statistics(objective, [K])
    k0, eps = K.detach().numpy(), 1e-6
    per_state = np.zeros((N_STATES, M * N))
    for j in range(M * N):
        step = np.zeros(M * N)
        step[j] = eps
        per_state[:, j] = (numpy_returns(k0 + step.reshape(M, N)) - numpy_returns(k0 - step.reshape(M, N))) / (2 * eps)
    mean = per_state.mean(0)
    np.testing.assert_allclose(stats["gradient"].numpy(), mean, rtol=1e-6, atol=1e-8)
    assert stats["gradient_norm"] == pytest.approx(np.linalg.norm(mean), rel=1e-6)
    assert stats["gradient_variance"] == pytest.approx(((per_state - mean) ** 2).sum(1).mean(), rel=1e-5)
    assert stats["objective"] == pytest.approx(numpy_returns(k0).mean(), rel=1e-12) and stats["start_states"] == 5
    assert cosine(stats["gradient"], torch.tensor(mean)) == pytest.approx(1.0, abs=1e-9)
    assert cosine(stats["gradient"], -stats["gradient"]) == pytest.approx(-1.0)


def test_filter_normalization_and_roughness():
    weight, bias = torch.randn(4, 3) * torch.arange(1, 5).unsqueeze(1), torch.randn(4)
    dw, db = filter_normalized_direction([weight, bias], torch.Generator().manual_seed(0))
    torch.testing.assert_close(dw.norm(dim=1), weight.norm(dim=1))
    assert float(db.norm()) == pytest.approx(float(bias.norm()), rel=1e-6)
    alphas = np.linspace(-1, 1, 11)
    assert roughness(3 * alphas**2 + alphas) == pytest.approx(2 * 3 * (alphas[1] - alphas[0]) ** 2)
    assert roughness(2 * alphas + 1) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 3 points"):
        roughness([1.0, 2.0])


def central_differences(objective, K: torch.Tensor, eps: float) -> torch.Tensor:
    """Central finite differences of the mean objective in each entry of ``K``, flattened."""
    fd = torch.zeros(K.numel(), dtype=K.dtype)
    for j in range(K.numel()):
        with torch.no_grad():
            K.view(-1)[j] += eps
            plus = objective().mean()
            K.view(-1)[j] -= 2 * eps
            minus = objective().mean()
            K.view(-1)[j] += eps
        fd[j] = (plus - minus) / (2 * eps)
    return fd


def sloped_world_model():
    """A tiny single-task world model (obs 5, action 2, latent 16) with every weight perturbed: TD-MPC2
    zero-initialises the reward head's last layer, which would give no gradient at all."""
    from omegaconf import OmegaConf

    from pwm.world_model import WorldModel
    from pwm.world_model_training import single_task_config

    torch.manual_seed(0)
    cfg = OmegaConf.create({"wm_latent_dim": 16, "wm_enc_dim": 16, "wm_mlp_dim": 16})
    wm = WorldModel(single_task_config(5, 2, cfg))
    with torch.no_grad():
        for p in wm.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return wm


def test_the_simulator_gradient_agrees_with_finite_differences_of_the_same_rollout():
    from pwm.envs.diff import DiffEnv

    env = DiffEnv("cartpole", 3, seed=0, dtype=torch.float64)
    env.reset()
    start = env.get_state()
    gen = torch.Generator().manual_seed(0)
    K = (0.1 * torch.randn(env.act_dim, env.obs_dim, generator=gen, dtype=torch.float64)).requires_grad_()
    objective = simulator_objective(env, start, lambda obs: torch.tanh(obs @ K.T), horizon=8, gamma=0.99)
    gradient = gradient_statistics(objective, [K])["gradient"]
    fd = central_differences(objective, K, 1e-5)
    assert cosine(gradient, fd) > 0.999
    assert float((gradient - fd).norm() / fd.norm()) < 0.02


def test_the_world_model_objective_gradient_agrees_with_finite_differences():
    from pwm.landscape import world_model_objective

    wm = sloped_world_model().double()
    start = torch.randn(4, 5, dtype=torch.float64)
    K = (0.1 * torch.randn(2, 16, dtype=torch.float64)).requires_grad_()
    objective = world_model_objective(wm, start, lambda z: torch.tanh(z @ K.T), lambda r: 3 * r + 1, 6, 0.99)
    stats = gradient_statistics(objective, [K])
    fd = central_differences(objective, K, 1e-6)
    assert float(fd.norm()) > 1e-3  # a real gradient to compare
    torch.testing.assert_close(stats["gradient"], fd, rtol=1e-5, atol=1e-9)
    assert [p.grad for p in wm.parameters()] == [None] * len(list(wm.parameters()))  # only the policy's


def test_the_world_models_rewards_are_masked_after_the_simulators_episode_ended():
    from pwm.envs.diff import DiffEnv
    from pwm.landscape import simulator_alive, world_model_objective

    wm = sloped_world_model()
    start = torch.randn(3, 5)
    mask = torch.ones(6, 3)
    mask[2:, 0] = 0.0  # the first start state's episode ended after 2 steps

    def actor(z):
        return torch.tanh(z[:, :2])

    masked = world_model_objective(wm, start, actor, lambda r: r, 6, 0.9, alive=lambda: mask)()
    full = world_model_objective(wm, start, actor, lambda r: r, 6, 0.9)()
    two = world_model_objective(wm, start, actor, lambda r: r, 2, 0.9)()
    torch.testing.assert_close(masked[0], two[0])
    torch.testing.assert_close(masked[1:], full[1:])

    env = DiffEnv("cartpole", 2, seed=0)
    env.reset()
    alive = simulator_alive(env, env.get_state(), lambda obs: torch.zeros(2, env.act_dim), 5)
    assert alive.shape == (5, 2) and bool((alive == 1).all())  # cartpole never terminates early
