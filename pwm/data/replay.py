"""An online episode replay buffer whose storage *is* a TD-MPC2 dataset chunk.

Episodes are stored as rows of ``[episodes, T+1]`` tensors in TD-MPC2's convention: row ``i``
holds ``obs_i`` with the action and reward that led to it, so ``action[:, 0]``/``reward[:, 0]`` are
NaN dummies. TD-MPC2's public datasets are exactly its agents' replay buffers saved this way, so
:meth:`EpisodeReplay.to_chunk` produces a dataset chunk without any conversion, and training
batches are drawn with the same windowing rule as :class:`pwm.data.sampler.SliceSampler`.

The buffer keeps the most recent ``capacity`` transitions (whole episodes, FIFO).
"""

from __future__ import annotations

import torch
from tensordict import TensorDict

from pwm.data.sampler import Batch


class EpisodeReplay:
    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        max_episode_length: int,
        capacity: int,
        task: int = 0,
        seed: int | None = None,
        device=None,
    ):
        self.max_rows = max_episode_length + 1
        self.max_episodes = max(1, -(-capacity // max_episode_length))
        self.obs_dim, self.action_dim, self.task, self.device = obs_dim, action_dim, task, device
        E, T = self.max_episodes, self.max_rows
        self.obs = torch.zeros(E, T, obs_dim)
        self.action = torch.full((E, T, action_dim), float("nan"))
        self.reward = torch.full((E, T), float("nan"))
        self.lengths = torch.zeros(E, dtype=torch.long)  # rows (= transitions + 1) per stored episode
        self.num_added = 0  # episodes ever added; slot of episode k is k % max_episodes
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)

    def __len__(self) -> int:
        """Stored episodes."""
        return min(self.num_added, self.max_episodes)

    @property
    def num_transitions(self) -> int:
        return int((self.lengths - 1).clamp(min=0).sum())

    def add(self, obs, action, reward) -> None:
        """Store one episode: ``obs [n+1, O]``, ``action [n, A]``, ``reward [n]`` (n transitions)."""
        obs, action, reward = (torch.as_tensor(x, dtype=torch.float32) for x in (obs, action, reward))
        n = len(action)
        if len(obs) != n + 1 or len(reward) != n or n + 1 > self.max_rows:
            raise ValueError(
                f"episode of {len(obs)} obs, {n} actions, {len(reward)} rewards does not fit "
                f"(max {self.max_rows - 1} transitions)"
            )
        i = self.num_added % self.max_episodes
        self.obs[i].zero_()
        self.obs[i, : n + 1] = obs
        self.action[i].fill_(float("nan"))
        self.action[i, 1 : n + 1] = action
        self.reward[i].fill_(float("nan"))
        self.reward[i, 1 : n + 1] = reward
        self.lengths[i] = n + 1
        self.num_added += 1

    def sample(self, batch_size: int, horizon: int) -> Batch:
        """Windows of ``horizon+1`` steps inside single episodes, uniform over valid windows."""
        windows = (self.lengths[: len(self)] - horizon).clamp(min=0)
        cum = torch.cumsum(windows, 0)
        if len(self) == 0 or int(cum[-1]) == 0:
            raise ValueError(f"no stored episode has {horizon + 1} steps")
        flat = torch.randint(int(cum[-1]), (batch_size,), generator=self.generator)
        episode = torch.searchsorted(cum, flat, right=True)
        start = flat - (cum[episode] - windows[episode])
        steps = start.unsqueeze(0) + torch.arange(horizon + 1).unsqueeze(1)  # [H+1, B]
        ep = episode.unsqueeze(0).expand_as(steps)
        to = (lambda x: x.to(self.device)) if self.device is not None else (lambda x: x)
        return Batch(
            obs=to(self.obs[ep, steps]),
            action=to(self.action[ep[1:], steps[1:]]),
            reward=to(self.reward[ep[1:], steps[1:]].unsqueeze(-1)),
            terminated=to(self._terminated(ep, steps)),
            task=to(torch.full((batch_size,), self.task, dtype=torch.long)),
        )

    def _terminated(self, ep: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """``[H, B, 1]`` termination flags of the sampled transitions: none in this buffer."""
        return torch.zeros(steps.shape[0] - 1, steps.shape[1], 1)

    def to_chunk(self, task: int | None = None) -> TensorDict:
        """Stored full-length episodes as a TD-MPC2 chunk (oldest first), task ids set to ``task``.

        A chunk is rectangular, so only episodes of the longest stored length are exported (all
        of them for dm_control and Meta-World, whose episodes end by time limit only)."""
        n = len(self)
        order = torch.arange(self.num_added - n, self.num_added) % self.max_episodes
        rows = order[self.lengths[order] == self.lengths[order].max()] if n else order
        T = int(self.lengths[rows].max()) if n else self.max_rows
        task = self.task if task is None else task
        return TensorDict(
            dict(
                obs=self.obs[rows, :T].clone(),
                action=self.action[rows, :T].clone(),
                reward=self.reward[rows, :T].clone(),
                task=torch.full((len(rows), T), task, dtype=torch.int32),
            ),
            batch_size=[len(rows), T],
        )

    # ---- checkpointing ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        n = len(self)
        return dict(
            obs=self.obs[:n].clone(),
            action=self.action[:n].clone(),
            reward=self.reward[:n].clone(),
            lengths=self.lengths[:n].clone(),
            num_added=self.num_added,
            generator=self.generator.get_state(),
        )

    def load_state_dict(self, state: dict) -> None:
        n = len(state["lengths"])
        if n > self.max_episodes or state["obs"].shape[1:] != self.obs.shape[1:]:
            raise ValueError(f"replay state of shape {tuple(state['obs'].shape)} does not fit {tuple(self.obs.shape)}")
        self.obs[:n], self.action[:n], self.reward[:n] = state["obs"], state["action"], state["reward"]
        self.lengths[:n] = state["lengths"]
        self.num_added = int(state["num_added"])
        self.generator.set_state(state["generator"])
