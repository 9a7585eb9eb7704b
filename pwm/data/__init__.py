"""TD-MPC2 offline datasets: chunk files in and out (:mod:`.chunks`) and window sampling (:mod:`.sampler`)."""

from pwm.data.chunks import DatasetError, chunk_paths, load_chunk, load_chunks, save_chunk, select_tasks, validate_chunk
from pwm.data.sampler import Batch, SliceSampler

__all__ = [
    "Batch",
    "DatasetError",
    "SliceSampler",
    "chunk_paths",
    "load_chunk",
    "load_chunks",
    "save_chunk",
    "select_tasks",
    "validate_chunk",
]
