"""pwm.allocator: freed large tensors are reused instead of page-faulted in again, and the opt-out works.
Each case runs in a fresh interpreter, because the allocator's options are per process."""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, resource
import torch
from pwm.allocator import keep_freed_memory
applied = keep_freed_memory()
x = torch.ones(5, 4096, 512)  # 40 MiB, a Q-ensemble activation of the H16 world-model update
def step():  # new results of x's size, freed again, as every training op does
    y = (x + 1).mul_(2)
    z = y * x
    del y, z
for _ in range(8):  # glibc's heap settles in a few steps
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    step()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 3
print(json.dumps({"applied": applied, "faults": faults}))
"""
PAGES = 2 * 40 * 2**20 // 4096  # two fresh 40 MiB results per step


def probe(**env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_freed_memory_is_reused_without_page_faults():
    kept = probe(PWM_BENCH_MALLOC="")
    default = probe(PWM_BENCH_MALLOC="default")
    assert kept["applied"] is True and default["applied"] is False
    # glibc's defaults: a fresh mmap per result, one fault per page (huge pages would make it fewer)
    assert default["faults"] > PAGES / 4
    # kept: the freed memory is handed out again, already mapped
    assert kept["faults"] < PAGES / 100
