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
for _ in range(STEPS):
    step()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"applied": applied, "faults": faults}))
"""
STEPS = 20
PAGES = 2 * 40 * 2**20 // 4096  # two fresh 40 MiB results per step


def probe(**env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.replace("STEPS", str(STEPS))],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_freed_memory_is_reused_without_page_faults():
    kept = probe(PWM_BENCH_MALLOC="")
    default = probe(PWM_BENCH_MALLOC="default")
    assert kept["applied"] is True and default["applied"] is False
    # glibc's defaults: a fresh mmap per result, one fault per page (huge pages would make it fewer)
    assert default["faults"] > STEPS * PAGES / 4
    # kept: the freed memory is handed out again, already mapped. Not always: now and then (about one step
    # in 25, measured) glibc grows the heap for one 40 MiB result after small allocations fragment it. So
    # the bound is the whole run's faults: under a tenth of the defaults' (STEPS * PAGES, one per page)
    assert kept["faults"] < STEPS * PAGES / 10
