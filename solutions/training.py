"""The training loop of every agent (DDPG, TD3, SAC, CrossQ, discrete SAC), written once.

What differs between the algorithms lives in the agent; the loop only calls it:
- `agent.explore(state)`: the behaviour policy's action (after the warm-up);
- `agent.update()`: one update of the algorithm, `agent.updates_per_step` times per environment
  step once `agent.learning_starts` steps have been taken (with config `captured_update`, on a GPU,
  the same update replayed as a CUDA graph: `update_function` below);
- `agent.reset_noise()`, if the agent has one: called when an episode ends;
- `agent.memory` (the replay buffer), `agent.env_steps`, `agent.config`, `agent.history`.

`train` keeps its promises: it returns the returns of the episodes that ended, seeds the
environment once (at the very first step), stops cleanly on Ctrl-C, shows a progress bar, and a
second call continues the episode that the first one left unfinished.

`History` records diagnostics every `every` updates: the agent's steps hand it 0-d tensors
(`history.add(critic_loss=...)`), which stay on the device until the record, where the window's
means are converted to Python floats at once: one host synchronisation per record, not per update.
"""

import math
import time

import torch

from solutions.captured_update import CapturedUpdate
from solutions.episode_log import EpisodeLog
from solutions.validation import check_finite_transition, check_training_start


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


def train(agent, env, max_steps, name):
    """Run `max_steps` environment steps of `agent` on `env`, learning as it goes.

    Returns the returns of the episodes that ended during this call (also in `agent.episode_returns`;
    the environment step at which each ended is in `agent.episode_end_steps`). Ctrl-C stops training
    cleanly: the networks keep what they learned.
    """
    check_training_start(agent, env, max_steps)  # max_steps, and the networks fit this env's spaces
    update = update_function(agent)  # agent.update, or its captured form (which refuses a CPU agent here)
    state, episode_return = start_or_continue_episode(agent, env)
    log = EpisodeLog(max_steps, name, agent.config, episode_return)
    agent.episode_returns = log.returns  # the same list: what Ctrl-C leaves behind stays here
    agent.episode_end_steps = log.end_steps  # env_steps at the end of each: the x-axis of a learning curve
    history = agent.history
    history.start()
    try:
        for _ in log:
            if agent.env_steps < agent.learning_starts:
                action = env.action_space.sample()  # warm-up: uniformly random actions
            else:
                action = agent.explore(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            # A NaN or infinity stops training here, before it reaches the buffer and the networks.
            check_finite_transition(agent.env_steps + 1, state, reward, next_state)
            # Only `terminated` is stored: a time-limit truncation does not end the MDP.
            agent.memory.append(state, action, reward, next_state, terminated)
            agent.env_steps += 1
            log.add(reward)
            # Where the next step starts; None: a new episode (also what a Ctrl-C in the updates leaves).
            state = None if terminated or truncated else next_state
            # len(memory): a run resumed without its replay buffer waits for one batch (not a new warm-up).
            if agent.env_steps >= agent.learning_starts and len(agent.memory) >= agent.batch_size:
                for _ in range(agent.updates_per_step):
                    update()
                    history.updates += 1
                    if history.updates % history.every == 0:
                        history.record(env_steps=agent.env_steps, episodes=history.episodes)
            if state is None:
                log.end_episode(len(agent.memory), agent.env_steps)
                history.episodes += 1
                if hasattr(agent, "reset_noise"):
                    agent.reset_noise()
                state, _ = env.reset()
    except KeyboardInterrupt:
        log.stopped_by_user()
    finally:
        history.stop()
        log.close()
        # The episode in progress, which the next call continues (on the same environment).
        agent.unfinished_episode = None if state is None else (env, state, log.episode_return)
    return agent.episode_returns


def update_function(agent):
    """`agent.update`, or, with config `captured_update`, the same update replayed as a CUDA graph.

    On a GPU, the small networks of this course leave an eager update waiting on Python to launch its
    kernels one by one; the captured update launches them all at once (solutions/captured_update.py).
    It is built once per agent, at the first call of `train`; it records the graph at its first updates.
    """
    if not agent.config.get("captured_update", False):
        return agent.update
    if getattr(agent, "captured", None) is None:
        agent.captured = CapturedUpdate(agent)
    return agent.captured


def start_or_continue_episode(agent, env):
    """The first state and the return so far: the unfinished episode on `env`, or a new one."""
    if agent.env_steps == 0:  # seed once: later calls continue the same random streams
        env.action_space.seed(agent.config["seed"])
        state, _ = env.reset(seed=agent.config["seed"])
        return state, 0.0
    unfinished = getattr(agent, "unfinished_episode", None)
    if unfinished is not None and unfinished[0] is env:
        return unfinished[1], unfinished[2]
    state, _ = env.reset()
    return state, 0.0
