"""Imports each task family once so that it registers its tasks (see registry._ensure_loaded)."""

import logging

# dm_control logs through absl at import time, and absl calls logging.basicConfig() when the root
# logger has no handler; inside Snakemake that duplicates every workflow message. Importing a
# library must not configure its host's logging, so any root handler added here is removed.
_root_handlers = list(logging.root.handlers)

from pwm.envs.dflex import register_dflex_tasks  # noqa: E402
from pwm.envs.diff.gym_env import register_differentiable_tasks  # noqa: E402
from pwm.envs.dm_control import register_stock_tasks  # noqa: E402

register_stock_tasks()
register_differentiable_tasks()
register_dflex_tasks()  # only when dflex is installed

from pwm.envs.dmc_custom import register_custom_tasks  # noqa: E402
from pwm.envs.metaworld import register_metaworld_tasks  # noqa: E402

register_custom_tasks()
register_metaworld_tasks()

for _handler in set(logging.root.handlers) - set(_root_handlers):
    logging.root.removeHandler(_handler)
