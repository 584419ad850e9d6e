"""The fake-episode harness: runs a student's `train` on a small fake environment whose episodes end
by termination and by truncation, records what the agent stores and when it learns, and judges the
training loop's properties on that record, whatever the shape of the loop."""

import inspect
from copy import deepcopy

import gymnasium as gym
import numpy as np
import torch

from solutions.checks.fixtures import HIGH, LOW, OBS_DIM
from solutions.checks.report import Failure

WARM_UP, TRAIN_STEPS = 20, 40  # delay_learning and max_steps of the run that checks `train`
# The fake episodes, in turn: (length, how it ends). A truncation is a time limit, not a terminal state.
EPISODES = ((6, "truncated"), (4, "terminated"), (7, "truncated"), (3, "terminated"))


def recording(space):
    """The action space of the fake environment: it remembers its last sample and counts them."""

    class Recording(type(space)):
        def sample(self, *args, **kwargs):
            action = super().sample(*args, **kwargs)
            self.draws, self.last = self.draws + 1, np.array(action, copy=True)
            return action

    recorded = deepcopy(space)
    recorded.__class__ = Recording
    recorded.draws, recorded.last = 0, None
    return recorded


class EpisodesEnv(gym.Env):
    """A fake environment whose episodes end after known numbers of steps (see EPISODES), by a
    termination or by a truncation. The observation (total steps, step in the episode, episode)
    names the step it comes from; each step of episode k earns k + 1, so an episode's return is
    known. Stepping past the end of an episode without a reset is counted, then the next episode
    begins as if reset."""

    def __init__(self, action_space=None, observation_space=None):
        self.observation_space = observation_space or gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)
        self.action_space = recording(action_space or gym.spaces.Box(LOW, HIGH, dtype=np.float32))
        self.draws_seen, self.from_sample = 0, []  # for each step: was its action a fresh sample?
        self.total, self.t, self.episode, self.over = 0, 0, -1, True
        self.steps_without_reset, self.early_resets = 0, 0
        self.actions, self.finished_returns, self.episode_return = [], [], 0.0

    def observation(self, new_episode=False):
        """(total steps, step in the episode, episode) in the first three numbers, zeros elsewhere.
        Pixels: in the newest frame of a stack of the last frames, as FrameStackObservation gives
        (a new episode starts with copies of its first frame)."""
        space = self.observation_space
        shape = space.shape[1:] if len(space.shape) > 1 else space.shape
        frame = np.zeros(shape, space.dtype)
        frame.reshape(-1)[:3] = (self.total, self.t, self.episode)
        if len(space.shape) == 1:
            return frame
        self.stack = [frame] * space.shape[0] if new_episode else [*self.stack[1:], frame]
        return np.stack(self.stack)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if not self.over:
            self.early_resets += 1
        self.episode, self.t, self.over, self.episode_return = self.episode + 1, 0, False, 0.0
        return self.observation(new_episode=True), {}

    def step(self, action):
        if self.over:  # no reset after the end of an episode
            self.steps_without_reset += 1
            self.episode, self.t, self.over, self.episode_return = self.episode + 1, 0, False, 0.0
        space = self.action_space
        fresh = space.draws > self.draws_seen and np.array_equal(np.asarray(action), space.last)
        self.from_sample.append(bool(fresh))
        self.draws_seen = space.draws
        self.actions.append(np.array(action, dtype=np.float32, copy=True))
        self.total, self.t = self.total + 1, self.t + 1
        length, ending = EPISODES[self.episode % len(EPISODES)]
        reward = float(self.episode + 1)
        self.episode_return += reward
        terminated = self.t == length and ending == "terminated"
        truncated = self.t == length and ending == "truncated"
        if terminated or truncated:
            self.over = True
            self.finished_returns.append(self.episode_return)
        return self.observation(), reward, terminated, truncated, {}


def step_ids(observation):
    """(total steps, step in the episode, episode) read back from a fake observation (pixels: from
    its newest frame)."""
    observation = np.asarray(observation)
    newest = observation[-1] if observation.ndim > 1 else observation
    return [int(round(v)) for v in np.ravel(newest)[:3]]


def record_training(agent, action_space=None, observation_space=None):
    """Run agent.train on the fake environment for TRAIN_STEPS steps, recording what the agent
    appends to its memory and the number of environment steps at each critic_step call."""
    env, appended, updates = EpisodesEnv(action_space, observation_space), [], []
    append, critic_step = agent.memory.append, agent.critic_step
    names = list(inspect.signature(append).parameters)

    def recording_append(*args, **kwargs):
        bound = {**dict(zip(names, args)), **kwargs}
        values = [bound[name] for name in names if name in bound]
        appended.append([np.asarray(torch.as_tensor(v).detach().cpu(), np.float64) for v in values])
        return append(*args, **kwargs)

    def counting_critic_step(*args, **kwargs):
        updates.append(env.total)
        return critic_step(*args, **kwargs)

    agent.memory.append, agent.critic_step = recording_append, counting_critic_step
    returns = agent.train(env, TRAIN_STEPS)
    return env, returns, appended, updates


def check_train(report, make, action_space=None, observation_space=None):
    """The properties of `train`, judged on what it does, whatever the shape of the loop: `make`
    is the check's agent factory (fixtures.agent_factory), used unshifted; the fake environment has
    `action_space` (by default the asymmetric Box of the other checks)."""
    run = []
    look_at = "train"

    @report.check(f"train(env, {TRAIN_STEPS}) runs on a fake environment with short episodes", look_at)
    def runs():
        agent = make({"delay_learning": WARM_UP}, shifted=False)
        run.extend(record_training(agent, action_space, observation_space))

    if not run:
        return
    env, returns, appended, updates = run

    @report.check("train resets the environment when an episode ends, terminated or truncated", look_at)
    def resets():
        if env.steps_without_reset:
            raise Failure(
                f"env.step was called {env.steps_without_reset} times right after an episode had ended",
                "no reset at the end of an episode: when terminated or truncated, call state, _ = env.reset()",
                look_at,
            )
        if env.early_resets:
            raise Failure(
                f"env.reset() was called {env.early_resets} times before the episode had ended",
                "the episode is reset at other steps than those where terminated or truncated is True",
                look_at,
            )

    @report.check("train returns the return of each finished episode", look_at)
    def episode_returns():
        got = [float(r) for r in returns] if returns is not None else None
        expected = env.finished_returns
        if got is not None and np.allclose(got, expected) and len(got) == len(expected):
            return
        if got is None:
            mistake = "train does not return the list of episode returns"
        elif len(got) == len(expected) + 1:
            mistake = "the return of the unfinished last episode is included"
        elif len(got) == env.total:
            mistake = "a value is appended at every step, not once per episode"
        else:
            mistake = (
                "the sum of rewards is not reset to 0 when an episode starts, or an episode's return is "
                "recorded at other steps than those where terminated or truncated is True"
            )
        raise Failure(f"train returned {got}, the finished episodes earned {expected}", mistake, look_at)

    @report.check("train stores terminated only: a time-limit truncation is not stored as terminal", look_at)
    def stores_terminated():
        if len(appended) != env.total:
            raise Failure(
                f"{len(appended)} transitions appended to agent.memory in {env.total} environment steps",
                "one transition memory.append(s, a, r, s', terminated) per environment step",
                look_at,
            )
        flags = {"terminated": [], "truncated": [], "neither": []}
        for _, _, _, next_state, done in appended:
            _, t, episode = step_ids(next_state)
            length, ending = EPISODES[episode % len(EPISODES)]
            flags[ending if t == length else "neither"].append(bool(np.ravel(done)[0]))
        if all(flags["truncated"]) and flags["truncated"]:
            mistake = (
                "the done flag stored is `terminated or truncated`: store `terminated` only. A time-limit "
                "truncation is not the end of the MDP; s' still has a future value"
            )
            raise Failure("truncated steps were stored as terminal", mistake, look_at)
        if not all(flags["terminated"]) or any(flags["truncated"]) or any(flags["neither"]):
            raise Failure(
                f"stored done flags: {flags}",
                "store the `terminated` that env.step returned with its own transition (s, a, r, s')",
                look_at,
            )
        for state, _, _, next_state, _ in appended:
            if step_ids(next_state)[0] != step_ids(state)[0] + 1 or step_ids(next_state)[1] == 0:
                raise Failure(
                    f"a transition from step {step_ids(state)[0]} stores s' from step {step_ids(next_state)[0]}",
                    "s' must be the observation env.step returned, even when the episode ends (not the "
                    "observation of the reset that follows), and s must be the state the action was taken in",
                    look_at,
                )

    @report.check(
        f"the first L = max(delay_learning, batch_size) = {WARM_UP} steps act with env.action_space.sample(), "
        f"and no update comes before step {WARM_UP}",
        look_at,
    )
    def warm_up():
        from_sample = env.from_sample[:WARM_UP]
        early = [step for step in updates if step < WARM_UP]
        if all(from_sample) and not early:
            return
        seen = (
            f"{sum(from_sample)} of the first {WARM_UP} actions came from env.action_space.sample(), and the critics "
            f"took {len(early)} steps before step {WARM_UP}"
        )
        raise Failure(
            seen,
            "no random warm-up: for the first L = max(delay_learning, batch_size) steps, act with "
            "env.action_space.sample() and do not update before the L-th transition is stored (the buffer first "
            "needs varied data)",
            look_at,
        )

    @report.check(f"the first update follows step L = {WARM_UP}, and updates follow every step from then on",
                  look_at)
    def learning_starts():
        after = [updates.count(step) for step in range(WARM_UP, env.total + 1)]
        if after and min(after) >= 1 and len(set(after)) == 1:
            return
        if not updates:
            mistake = "no update at all: call the update (critic and actor steps) at each step after the warm-up"
        else:
            mistake = (
                "update updates_per_step times after every environment step from step L = max(delay_learning, "
                "batch_size) on, the L-th included: the first update follows the L-th stored transition"
            )
        raise Failure(f"critic steps per environment step after the warm-up: {after}", mistake, look_at)

    @report.check("after the warm-up, train acts with explore, not at random", look_at)
    def explores_after_warm_up():
        later = env.from_sample[WARM_UP + 1 :]
        if later and all(later):
            raise Failure(
                f"all {len(later)} actions after step {WARM_UP + 1} came from env.action_space.sample()",
                "the warm-up never ends: once delay_learning steps are taken, act with agent.explore(state)",
                look_at,
            )
