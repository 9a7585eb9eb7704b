"""SHAC's training rollouts as a TD-MPC2-format dataset: PWM's single-task offline data.

PWM pre-trains its single-task world models on SHAC rollouts (spec pwm.md §2a). The recorder
follows the first ``num_envs`` training envs, keeps each finished episode, and writes
fixed-length rows for ``pwm.data.chunks.save_chunk``: ``obs [E, T+1, O]`` (raw, un-normalised),
``action [E, T+1, A]`` (post-tanh, what the env received; PWM's own dump stored pre-tanh actions),
``reward [E, T+1]`` (NaN in row 0, TD-MPC2's convention), ``task [E, T+1]`` (zeros) and
``terminated [E, T+1]`` (1 at the last row of an early-terminated episode).

Rows are cut from the *end* of each episode backwards, so the terminal transition is always kept;
a remainder shorter than T at an episode's start is dropped (logged in the file's row count).
"""
from __future__ import annotations

from pathlib import Path

import torch


class RolloutRecorder:
    def __init__(self, num_envs: int, segment: int):
        if segment < 1:
            raise ValueError(f"dataset segment length must be >= 1, got {segment}")
        self.num_envs = num_envs
        self.segment = segment
        self.current: list[dict[str, list]] = [self._empty() for _ in range(num_envs)]
        self.rows: dict[str, list[torch.Tensor]] = {k: [] for k in ("obs", "action", "reward", "terminated")}
        self.transitions_seen = 0

    @staticmethod
    def _empty() -> dict[str, list]:
        return {"obs": [], "action": [], "reward": []}

    def start(self, obs: torch.Tensor) -> None:
        """The first observations of the tracked envs' current episodes (after a reset or a resume)."""
        for i in range(self.num_envs):
            self.current[i] = self._empty()
            self.current[i]["obs"].append(obs[i].detach().float().clone())

    @torch.no_grad()
    def record(self, action, reward, next_obs, obs_before_reset, done, terminated) -> None:
        for i in range(self.num_envs):
            ep = self.current[i]
            ep["action"].append(action[i].detach().float().clone())
            ep["reward"].append(reward[i].detach().float().clone())
            ep["obs"].append(obs_before_reset[i].detach().float().clone())
            self.transitions_seen += 1
            if bool(done[i]):
                self._finish(ep, bool(terminated[i]))
                self.current[i] = self._empty()
                self.current[i]["obs"].append(next_obs[i].detach().float().clone())

    def _finish(self, ep: dict, terminated: bool) -> None:
        obs = torch.stack(ep["obs"])  # [L+1, O]
        action = torch.stack(ep["action"])  # [L, A]
        reward = torch.stack(ep["reward"])  # [L]
        if not (torch.isfinite(obs).all() and torch.isfinite(reward).all()):
            return  # a blown-up episode is not training data
        length, t = len(reward), self.segment
        for end in range(length, t - 1, -t):
            start = end - t
            nan_a = torch.full((1, action.shape[1]), float("nan"))
            self.rows["obs"].append(obs[start:end + 1])
            self.rows["action"].append(torch.cat([nan_a, action[start:end]]))
            self.rows["reward"].append(torch.cat([torch.full((1,), float("nan")), reward[start:end]]))
            term = torch.zeros(t + 1)
            if terminated and end == length:
                term[-1] = 1.0
            self.rows["terminated"].append(term)

    @property
    def num_rows(self) -> int:
        return len(self.rows["obs"])

    def save(self, path: Path, include_unfinished: bool = False) -> int:
        """Write the rows so far (atomically) and return their number (0: nothing written).

        ``include_unfinished`` (at the end of training) also cuts rows from the episodes still
        running, as time-limit truncations; checkpoints leave them out so that no transition is
        written twice once the episode finishes."""
        rows = {k: list(v) for k, v in self.rows.items()}
        if include_unfinished:
            saved, self.rows = self.rows, {k: [] for k in self.rows}
            for ep in self.current:
                if ep["action"]:
                    self._finish(ep, terminated=False)
            rows = {k: saved[k] + self.rows[k] for k in saved}
            self.rows = saved
        if not rows["obs"]:
            return 0
        from pwm.data.chunks import save_chunk

        obs = torch.stack(rows["obs"])
        save_chunk({
            "obs": obs, "action": torch.stack(rows["action"]),
            "reward": torch.stack(rows["reward"]),
            "task": torch.zeros(obs.shape[:2], dtype=torch.int32),
            "terminated": torch.stack(rows["terminated"]),
        }, path)
        return len(obs)

    def state_dict(self) -> dict:
        return {"current": self.current, "rows": self.rows, "transitions_seen": self.transitions_seen}

    def load_state_dict(self, state: dict) -> None:
        self.current, self.rows = state["current"], state["rows"]
        self.transitions_seen = state["transitions_seen"]
