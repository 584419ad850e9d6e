"""The training loop of every agent (DDPG, TD3, SAC, CrossQ, discrete SAC, pixel DDPG), written once.

What differs between the algorithms lives in the agent; the loop only calls it. `Agent` below names
what the loop reads from an agent, so that any class with those members (yours too) trains here.
When learning starts, the one rule of the course: the first L = `agent.learning_starts` =
max(delay_learning, batch_size) steps act with `env.action_space.sample()`; the first update follows
the L-th step, and `updates_per_step` updates follow every step from then on. Every transition goes
into `agent.memory` with `terminated`, never `terminated or truncated`.

`train` keeps its promises: it returns the returns of the episodes that ended, seeds the environment
once (at the very first step), stops cleanly on Ctrl-C, shows a progress bar, and a second call
continues the episode that the first one left unfinished.
"""

from collections.abc import Mapping
from typing import Any, Protocol

from solutions.episode_log import EpisodeLog
from solutions.history import History
from solutions.validation import check_finite_transition, check_training_start

# The loop's own config keys, defined here once; every agent's defaults start with them.
LOOP_DEFAULTS = {
    "delay_learning": 1000,  # environment steps of uniformly random actions before the first update
    "updates_per_step": 1,  # gradient steps per environment step: the update-to-data ratio
    "history_every": 100,  # updates per row of agent.history (losses, mean Q, ...; solutions/history.py)
    "seed": None,  # seeds the environment and its action space at the first step (None: not seeded)
    "tqdm_disable": False,  # True hides the progress bar
    "disable_episode_report": True,  # False prints one line per finished episode
    # True, on a CUDA GPU: each update replayed as one CUDA graph. The tooling's make_agent (hence the
    # command line and the sweeps) sets it up (solutions/tooling/captured_update.py); the loop only checks.
    "captured_update": False,
}


class Agent(Protocol):
    """What `train` reads from an agent: these members, set in `__init__`."""

    config: Mapping[str, Any]  # the agent's settings; the LOOP_DEFAULTS keys it lacks take their default
    memory: Any  # the replay buffer: memory.append(state, action, reward, next_state, terminated), len(memory)
    batch_size: int  # no update before the buffer holds one batch
    learning_starts: int  # environment steps of random actions before the first update
    updates_per_step: int  # calls of `update` per environment step, once learning started
    env_steps: int  # environment steps so far (0 in a new agent); the loop counts them

    def explore(self, state): ...  # the behaviour policy's action for one state, within the action bounds

    def update(self): ...  # one update of the algorithm, from a batch of agent.memory

    # Optional: `history` (the loop makes one if there is none), `reset_noise()` (called when an episode
    # ends). The loop writes `episode_returns`, `episode_end_steps` and `unfinished_episode`.
    # What the tooling reads besides (the checkpoint saves every network, optimizer and tensor attribute):
    # roles = {"Q1": "critic", ..., "pi": "policy"}: the networks that the constructor takes, in order;
    # periodic_update = ("critic_updates", "policy_update_freq"), or None: the counter and period of a
    # step that `update` takes only once every period calls.


REQUIRED_MEMBERS = (*Agent.__annotations__, "explore", "update")


def check_agent(agent):
    """One line naming the members of `Agent` that `agent` lacks, before any environment step."""
    missing = [name for name in REQUIRED_MEMBERS if not hasattr(agent, name)]
    if missing:
        raise AttributeError(
            f"{type(agent).__name__} has no {', '.join(missing)}: the training loop reads "
            f"{', '.join(REQUIRED_MEMBERS)} (see Agent in solutions/training.py); set them in __init__."
        )


def train(agent, env, max_steps, name=None):
    """Run `max_steps` environment steps of `agent` on `env`, learning as it goes.

    Returns the returns of the episodes that ended during this call (also in `agent.episode_returns`;
    the environment step at which each ended is in `agent.episode_end_steps`). Ctrl-C stops training
    cleanly: the networks keep what they learned.
    """
    check_agent(agent)
    settings = {**LOOP_DEFAULTS, **agent.config}
    check_training_start(agent, env, max_steps)  # max_steps, and the networks fit this env's spaces
    if settings["captured_update"] and not getattr(agent.update, "replays_a_cuda_graph", False):
        raise ValueError(
            f"{type(agent).__name__}: config captured_update=True, but its update is the eager one: build the agent "
            "with solutions.tooling.registry.make_agent (or the command line), or call "
            "solutions.tooling.captured_update.capture_update(agent) before train."
        )
    if not hasattr(agent, "history"):
        agent.history = History(settings["history_every"])
    state, episode_return = start_or_continue_episode(agent, env, settings["seed"])
    log = EpisodeLog(max_steps, name or type(agent).__name__, settings, episode_return)
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
                    agent.update()
                    history.count_update(agent.env_steps)
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


def start_or_continue_episode(agent, env, seed):
    """The first state and the return so far: the unfinished episode on `env`, or a new one."""
    if agent.env_steps == 0:  # seed once: later calls continue the same random streams
        env.action_space.seed(seed)
        state, _ = env.reset(seed=seed)
        return state, 0.0
    unfinished = getattr(agent, "unfinished_episode", None)
    if unfinished is not None and unfinished[0] is env:
        return unfinished[1], unfinished[2]
    state, _ = env.reset()
    return state, 0.0
