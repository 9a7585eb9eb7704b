"""Rollouts of batched differentiable envs as TD-MPC2-format rows: PWM's single-task data.

PWM pre-trains its single-task world models offline on SHAC's training rollouts (the PWM paper's
single-task setting), and fills its own online replay with the same rows, so the recorder lives in
``pwm.data`` and both ``baselines/shac.py`` and ``pwm/singletask_pwm.py`` use it. The recorder
follows the first ``num_envs`` training envs, keeps each finished episode, and writes
fixed-length rows for ``pwm.data.chunks.save_chunk``: ``obs [E, T+1, O]`` (raw, un-normalised),
``action [E, T+1, A]`` (post-tanh, what the env received; PWM's own dump stored pre-tanh actions),
``reward [E, T+1]`` (NaN in row 0, TD-MPC2's convention), ``task [E, T+1]`` (zeros),
``terminated [E, T+1]`` (1 at the last real step of an early-terminated episode) and ``valid
[E, T+1]`` (1 on the row's real steps, 0 on the zero padding after them).

Every finished episode is kept whole. An episode of L <= T transitions is one row, padded after
its end (an early fall after 20 steps is data too: post-reset states and falls are where PWM's
imagination starts and ends). A longer one is cut into rows of T transitions from its start, and
its tail, if any, is the row of its *last* T transitions (overlapping the previous row by fewer
than T steps), so the terminal transition is always in a full row. Windows are sampled within
rows, never across episodes (``pwm.data.sampler``).
"""

from __future__ import annotations

from pathlib import Path

import torch

ROW_FIELDS = ("obs", "action", "reward", "terminated", "valid")


def episode_row_starts(length: int, segment: int) -> list[int]:
    """First transitions of the rows an episode of ``length`` transitions is cut into: 0, T, 2T, ...
    and, for a tail shorter than T, ``length - T`` (its last T transitions)."""
    if length <= segment:
        return [0] if length > 0 else []
    starts = list(range(0, length - segment + 1, segment))
    if starts[-1] + segment < length:
        starts.append(length - segment)
    return starts


class RolloutRecorder:
    def __init__(self, num_envs: int, segment: int):
        if segment < 1:
            raise ValueError(f"dataset segment length must be >= 1, got {segment}")
        self.num_envs = num_envs
        self.segment = segment
        self.current: list[dict[str, list]] = [self._empty() for _ in range(num_envs)]
        self.rows: dict[str, list[torch.Tensor]] = {k: [] for k in ROW_FIELDS}
        self.transitions_seen = 0
        self.rows_added = 0  # rows ever cut (a consumer may take rows out of ``rows``)

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
        # the envs' tensors may live on a GPU (dflex); the rows are kept on the CPU
        action, reward, next_obs, obs_before_reset, done, terminated = (
            t.detach().cpu() for t in (action, reward, next_obs, obs_before_reset, done, terminated)
        )
        for i in range(self.num_envs):
            ep = self.current[i]
            ep["action"].append(action[i].float().clone())
            ep["reward"].append(reward[i].float().clone())
            ep["obs"].append(obs_before_reset[i].float().clone())
            self.transitions_seen += 1
            if bool(done[i]):
                self._finish(ep, bool(terminated[i]))
                self.current[i] = self._empty()
                self.current[i]["obs"].append(next_obs[i].float().clone())

    def _finish(self, ep: dict, terminated: bool) -> None:
        obs = torch.stack(ep["obs"])  # [L+1, O]
        action = torch.stack(ep["action"])  # [L, A]
        reward = torch.stack(ep["reward"])  # [L]
        if not (torch.isfinite(obs).all() and torch.isfinite(reward).all()):
            return  # a blown-up episode is not training data
        for start in episode_row_starts(len(reward), self.segment):
            self._add_row(obs, action, reward, start, terminated)

    def _add_row(self, obs, action, reward, start: int, terminated: bool) -> None:
        """Row of transitions start .. min(start+T, L) of one episode, zero-padded to T."""
        t, length = self.segment, len(reward)
        end = min(start + t, length)
        n = end - start  # transitions in this row
        row_obs = torch.zeros(t + 1, obs.shape[1])
        row_obs[: n + 1] = obs[start : end + 1]
        row_action = torch.zeros(t + 1, action.shape[1])
        row_action[0] = float("nan")
        row_action[1 : n + 1] = action[start:end]
        row_reward = torch.zeros(t + 1)
        row_reward[0] = float("nan")
        row_reward[1 : n + 1] = reward[start:end]
        term = torch.zeros(t + 1)
        if terminated and end == length:
            term[n] = 1.0
        valid = torch.zeros(t + 1, dtype=torch.bool)
        valid[: n + 1] = True
        for key, value in (
            ("obs", row_obs),
            ("action", row_action),
            ("reward", row_reward),
            ("terminated", term),
            ("valid", valid),
        ):
            self.rows[key].append(value)
        self.rows_added += 1

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
            saved, added, self.rows = self.rows, self.rows_added, {k: [] for k in self.rows}
            for ep in self.current:
                if ep["action"]:
                    self._finish(ep, terminated=False)
            rows = {k: saved[k] + self.rows[k] for k in saved}
            self.rows, self.rows_added = saved, added
        if not rows["obs"]:
            return 0
        from pwm.data.chunks import save_chunk

        chunk = stack_rows(rows)
        save_chunk(chunk, path)
        return len(chunk["obs"])

    def take_rows(self) -> dict[str, torch.Tensor] | None:
        """Remove the rows cut so far and return them stacked (None if there are none)."""
        if not self.rows["obs"]:
            return None
        rows, self.rows = self.rows, {k: [] for k in ROW_FIELDS}
        return stack_rows(rows)

    def state_dict(self) -> dict:
        return {
            "current": self.current,
            "rows": self.rows,
            "transitions_seen": self.transitions_seen,
            "rows_added": self.rows_added,
        }

    def load_state_dict(self, state: dict) -> None:
        self.current, self.rows = state["current"], state["rows"]
        self.transitions_seen = state["transitions_seen"]
        self.rows_added = state.get("rows_added", len(self.rows["obs"]))
        if "valid" not in self.rows:  # a checkpoint of the fixed-length recorder: every step was real
            self.rows["valid"] = [torch.ones(len(o), dtype=torch.bool) for o in self.rows["obs"]]


def stack_rows(rows: dict[str, list[torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Row lists -> the fields of a TD-MPC2 chunk ([E, T+1, ...] tensors, task ids 0)."""
    chunk = {k: torch.stack(rows[k]) for k in ROW_FIELDS}
    chunk["task"] = torch.zeros(chunk["obs"].shape[:2], dtype=torch.int32)
    return chunk
