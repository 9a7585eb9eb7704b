"""Keep freed memory in the process instead of handing it back to the kernel (glibc's malloc).

glibc serves every allocation above its mmap threshold (dynamic, at most 32 MiB by default) with a
fresh ``mmap`` and returns it with ``munmap`` on free, and trims the heap's top whenever 2x the threshold is
free. A training step allocates tensors of tens of MiB every op: a size-5 world model's Q ensemble at
H16 x B256 has [5, 4096, 512] activations (42 MiB). Each new one costs one page fault per 4 KiB page
(the kernel zeroes every page), which is more than the op itself. In the H16 world-model update, glibc's
defaults cost about 350,000 minor faults per update; with these settings 2 to 2,500 (benchmarks/RESULTS.md,
"The allocator"). The price is that the process keeps its peak memory until it exits, which is what
a training job uses anyway.

``keep_freed_memory`` sets the mmap threshold to 1 GiB and turns trimming off through ``mallopt``.
The effect is the same as starting Python with ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` set.
Only the allocator's policy changes, so every result is bit for bit what it was. pwm-bench's CLI
calls it once at start; ``PWM_BENCH_MALLOC=default`` keeps glibc's defaults. On a system without
glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 1 << 30
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: the largest, i.e. never trim


def keep_freed_memory() -> bool:
    """Set the two options (see the module doc); whether they were set."""
    if os.environ.get("PWM_BENCH_MALLOC", "") == "default":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library (find_library would spawn ldconfig)
    except (OSError, AttributeError):
        return False  # not glibc (macOS, musl without mallopt): the platform's allocator decides
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
