"""Sample TD-MPC2 training batches: sub-trajectories of ``horizon + 1`` steps inside one episode.

A window starting at step ``s`` of an episode row uses ``obs[s : s+H+1]`` and the actions and
rewards that led from each observation to the next, ``action[s+1 : s+H+1]`` and
``reward[s+1 : s+H+1]``. Windows never leave their row (episode), and the dummy ``action[0]`` /
``reward[0]`` of a row can never be selected. Windows are drawn uniformly over all valid
(episode, start) pairs, i.e. uniformly over transitions, across any number of chunks.

Rows may be shorter than the chunk's width: a chunk with the optional ``valid [E, T]`` field (the
project's own single-task chunks: SHAC rollouts, PWM's online replay) marks each row's real steps
as a prefix, the rest being zero padding. A row of ``n >= H+1`` valid steps has ``n - H`` windows;
a shorter one (an episode that ended within H steps, e.g. an early fall) has one window from its
start, whose steps past the row's end are flagged invalid in ``Batch.valid`` (losses mask them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from tensordict import TensorDict


@dataclass
class Batch:
    """One update batch in TD-MPC2's time-major layout."""

    obs: torch.Tensor  # [H+1, B, obs_dim]
    action: torch.Tensor  # [H, B, action_dim]
    reward: torch.Tensor  # [H, B, 1]
    terminated: torch.Tensor  # [H, B, 1] (zeros when the data has no 'terminated' field)
    task: torch.Tensor  # [B] long
    valid: torch.Tensor | None = None  # [H, B, 1]: 1 where transition t is real data, 0 past a row's end


class SliceSampler:
    """Uniform windows of ``horizon + 1`` steps from episode rows of one or more chunks.

    ``tasks`` restricts sampling to those task ids. Indexing touches only the sampled rows, so
    memory-mapped chunks stay on disk. ``device`` is where batches are returned.
    """

    def __init__(
        self,
        chunks: TensorDict | Sequence[TensorDict],
        horizon: int,
        batch_size: int,
        tasks: Iterable[int] | None = None,
        device=None,
        seed: int | None = None,
    ):
        self.chunks = [chunks] if isinstance(chunks, TensorDict) else list(chunks)
        self.horizon, self.batch_size, self.device = horizon, batch_size, device
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)
        wanted = None if tasks is None else torch.as_tensor(sorted(set(int(t) for t in tasks)), dtype=torch.long)
        chunk_ids, rows, windows = [], [], []
        for i, chunk in enumerate(self.chunks):
            length = chunk.batch_size[1]
            if length < horizon + 1:
                continue
            keep = torch.arange(chunk.batch_size[0])
            if wanted is not None:
                keep = torch.isin(chunk["task"][:, 0].long(), wanted).nonzero().squeeze(1)
            chunk_ids.append(torch.full_like(keep, i))
            rows.append(keep)
            if "valid" in chunk.keys():  # rows of n valid steps: n-H windows, or 1 padded window if 1 < n <= H
                n = chunk["valid"][keep].sum(1).long()
                windows.append(torch.where(n > horizon, n - horizon, (n >= 2).long()))
            else:
                windows.append(torch.full_like(keep, length - horizon))  # starts 0 .. T-1-H
        self._chunk = torch.cat(chunk_ids) if chunk_ids else torch.empty(0, dtype=torch.long)
        self._row = torch.cat(rows) if rows else torch.empty(0, dtype=torch.long)
        windows = torch.cat(windows) if windows else torch.empty(0, dtype=torch.long)
        if windows.numel() == 0 or windows.sum() == 0:
            raise ValueError(
                f"no episode has {horizon + 1} steps" + (f" for tasks {wanted.tolist()}" if wanted is not None else "")
            )
        self._windows = windows
        self._cum = torch.cumsum(windows, 0)

    @property
    def num_episodes(self) -> int:
        return len(self._row)

    def sample(self) -> Batch:
        flat = torch.randint(int(self._cum[-1]), (self.batch_size,), generator=self.generator)
        episode = torch.searchsorted(self._cum, flat, right=True)
        start = flat - (self._cum[episode] - self._windows[episode])
        steps = start.unsqueeze(1) + torch.arange(self.horizon + 1)  # [B, H+1]
        parts = []
        order = torch.empty(self.batch_size, dtype=torch.long)
        offset = 0
        for i in self._chunk[episode].unique().tolist():
            sel = (self._chunk[episode] == i).nonzero().squeeze(1)
            rows = self._row[episode[sel]].unsqueeze(1)
            chunk = self.chunks[i]
            part = {k: chunk[k][rows, steps[sel]] for k in ("obs", "action", "reward", "task")}
            part["terminated"] = (
                chunk["terminated"][rows, steps[sel]]
                if "terminated" in chunk.keys()
                else torch.zeros(len(sel), self.horizon + 1)
            )
            part["valid"] = (
                chunk["valid"][rows, steps[sel]].float()
                if "valid" in chunk.keys()
                else torch.ones(len(sel), self.horizon + 1)
            )
            parts.append(part)
            order[sel] = torch.arange(offset, offset + len(sel))
            offset += len(sel)
        cat = {k: torch.cat([p[k] for p in parts])[order] for k in parts[0]}
        to = (lambda t: t.to(self.device, non_blocking=True)) if self.device is not None else (lambda t: t)
        return Batch(
            obs=to(cat["obs"].transpose(0, 1).contiguous()),
            action=to(cat["action"][:, 1:].transpose(0, 1).contiguous()),
            reward=to(cat["reward"][:, 1:].transpose(0, 1).unsqueeze(-1).contiguous()),
            terminated=to(cat["terminated"][:, 1:].transpose(0, 1).unsqueeze(-1).float().contiguous()),
            task=to(cat["task"][:, 0].long()),
            valid=to(cat["valid"][:, 1:].transpose(0, 1).unsqueeze(-1).contiguous()),
        )

    def __iter__(self):
        while True:
            yield self.sample()
