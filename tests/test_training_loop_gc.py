"""The training loop moves start-up's objects out of the cyclic collector's scans once it has
resumed (gc.freeze), so that the collector's full passes during training only scan what training
creates (benchmarks/RESULTS.md: they cost a 64-env hopper SHAC actor part 13 % in the median)."""

import gc

from pwm.training_loop import Cadence, Job, Learner, TrainingLoop


class CountingLearner(Learner):
    def __init__(self, steps):
        self.steps = steps

    def done(self):
        return self.step >= self.steps

    def train_step(self):
        self.step += 1
        return {"loss": 1.0 / self.step}

    def state_dict(self):
        return {"step": self.step}

    def load_state_dict(self, state):
        self.step = state["step"]


class InMemoryJob(Job):
    def __init__(self):
        self.saved = None

    def load_checkpoint(self):
        return self.saved

    def save_checkpoint(self, step, payload):
        self.saved, self.checkpoint_step = payload, step


def test_objects_alive_at_start_up_are_frozen_and_training_still_runs():
    gc.unfreeze()
    start_up = [{"object": i} for i in range(10_000)]  # tracked containers alive before training
    try:
        job, learner = InMemoryJob(), CountingLearner(steps=5)
        loop = TrainingLoop(job, learner, Cadence(progress_every=2))
        loop.run()
        assert gc.get_freeze_count() >= len(start_up)
        assert not any(o is start_up for o in gc.get_objects())  # frozen objects leave the generations
        assert learner.step == 5 and job.saved["step"] == 5
    finally:
        gc.unfreeze()
