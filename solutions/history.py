"""agent.history: the diagnostics that the training loop records, as columns.

The agent's steps hand it 0-d tensors (`history.add(critic_loss=...)`), which stay on the device until
the loop records a row every `every` updates: the window's means are then converted to Python numbers
at once, one host synchronisation per record instead of one per update. `pandas.DataFrame(history)`
and `solutions.evaluation.plot_history(history)` read it.
"""

import math
import time

import torch


class History(dict):
    """Diagnostics as columns: `history["mean_q"][i]` is the mean over the i-th window of updates."""

    def __init__(self, every=100):
        super().__init__()
        self.every = int(every)  # updates per record
        self.updates = 0  # updates so far, counted across calls to `train`
        self.episodes = 0  # episodes finished so far
        self.pending = {}  # name -> the 0-d tensors of the current window
        self.recording = False  # only `train` records: a step called on its own keeps nothing
        self.clock = (time.perf_counter(), 0)  # (time, updates) at the start of the current window

    def add(self, **values):
        if self.recording:
            for name, value in values.items():
                self.pending.setdefault(name, []).append(value)

    def start(self):
        """Record from now on; a window that a previous call left open goes on (its rate restarts)."""
        self.recording = True
        self.clock = (time.perf_counter(), self.updates)

    def stop(self):
        self.recording = False

    def count_update(self, env_steps):
        """One more update; every `every` updates, a row."""
        self.updates += 1
        if self.updates % self.every == 0:
            self.record(env_steps=env_steps, episodes=self.episodes)

    def record(self, **scalars):
        """Append one row: the given scalars, updates per second, and the window's mean of each tensor."""
        now, updates_then = self.clock
        self.clock = (time.perf_counter(), self.updates)
        row = {**scalars, "updates": self.updates,
               "updates_per_second": (self.updates - updates_then) / max(self.clock[0] - now, 1e-9)}
        names = list(self.pending)
        if names:  # one conversion, hence one host sync, for the whole window
            means = torch.stack([torch.stack(self.pending[name]).float().mean() for name in names])
            row.update(zip(names, means.tolist()))
        self.pending = {}
        rows_so_far = len(self["updates"]) if "updates" in self else 0
        for name in row:
            if name not in self:  # a column that appears late starts with NaN
                self[name] = [math.nan] * rows_so_far
        for name, column in self.items():
            column.append(row.get(name, math.nan))
