"""pwm-bench: PWM (Policy learning with multi-task World Models) and its baselines, benchmarked.

MuJoCo rendering is never needed for state-based runs; defaulting ``MUJOCO_GL`` to ``disable``
before dm_control is imported keeps headless machines (laptops over SSH, CI, cluster nodes)
from failing or printing GLFW warnings. Set ``MUJOCO_GL=egl`` yourself to render.
"""

import os

os.environ.setdefault("MUJOCO_GL", "disable")

__version__ = "0.1.0"
