"""Evaluate a policy, record a video of it, and plot learning curves.

Nothing here knows an agent: a policy is any torch module that maps an observation to an action
(`policyNetwork`, or `squashedGaussianPolicy`, whose call gives its deterministic action), on
whatever device it lives.
"""

import ctypes.util
import os
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch


def choose_mujoco_gl_backend():
    """Pick an off-screen OpenGL backend for MuJoCo on a Linux machine with no display.

    MuJoCo renders through GLFW by default, which needs a screen. When the user has not chosen
    (MUJOCO_GL unset) and there is no display, use EGL (GPU or Mesa) or else OSMesa (software),
    whichever library the machine has. Must run before the first frame is rendered.
    """
    if "MUJOCO_GL" in os.environ or not sys.platform.startswith("linux"):
        return os.environ.get("MUJOCO_GL")
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    for backend, library in (("egl", "EGL"), ("osmesa", "OSMesa")):
        if ctypes.util.find_library(library):
            os.environ["MUJOCO_GL"] = backend
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
            return backend
    return None


choose_mujoco_gl_backend()


@torch.no_grad()
def policy_action(policy, state):
    """The policy's action for one observation, as a NumPy array, whatever the policy's device."""
    device = next(policy.parameters()).device
    return policy(torch.as_tensor(state, dtype=torch.float32, device=device)).cpu().numpy()


def clip_to_space(action, space):
    """The action clipped to a Box space's bounds (a student's policy may step outside them, and
    MuJoCo accepts such actions without a word); an action of another space is left alone."""
    if isinstance(space, gym.spaces.Box):
        return np.clip(action, space.low, space.high)
    return action


def evaluate(env, policy, n_episodes=10, seed=0):
    """Run the policy (no exploration noise) for `n_episodes`; return the mean and std of returns.

    Episode k starts from `env.reset(seed=seed + k)`, so that two policies evaluated with the same
    seed face the same start states.
    """
    returns = []
    for episode in range(n_episodes):
        state, _ = env.reset(seed=seed + episode)
        episode_return, done = 0.0, False
        while not done:
            action = clip_to_space(policy_action(policy, state), env.action_space)
            state, reward, terminated, truncated, _ = env.step(action)
            episode_return += reward
            done = terminated or truncated
        returns.append(episode_return)
    return float(np.mean(returns)), float(np.std(returns))


def record_video(env_id, policy, path, seed=0, max_steps=1000, fps=None):
    """Play one episode of `policy` (or of random actions if `policy` is None) and write an MP4.

    Returns the path of the video. Works on a machine with no display (see
    `choose_mujoco_gl_backend`).
    """
    from moviepy import ImageSequenceClip  # imported here: only videos need it

    env = gym.make(env_id, render_mode="rgb_array")
    state, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    frames = [env.render()]
    for _ in range(max_steps):
        if policy is None:
            action = env.action_space.sample()
        else:
            action = clip_to_space(policy_action(policy, state), env.action_space)
        state, _, terminated, truncated, _ = env.step(action)
        frames.append(env.render())
        if terminated or truncated:
            break
    fps = fps or env.metadata.get("render_fps", 30)
    env.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ImageSequenceClip(frames, fps=fps).write_videofile(str(path), logger=None)
    return path


def moving_average(values, window):
    """Mean of each run of `window` consecutive values (shorter at the start)."""
    values = np.asarray(values, dtype=float)
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    starts = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (cumulative[1:] - cumulative[starts]) / (np.arange(1, len(values) + 1) - starts)


def plot_learning_curve(returns, window=10, ax=None, label=None, steps=None, evaluations=None):
    """Plot episode returns against episodes, or against environment steps when `steps` is given.

    `returns` is one list of episode returns (drawn raw, faint, with its moving average), or a list
    of such lists, one per seed (drawn as the mean of the moving averages ± one std, over the
    episodes, or the steps, that every seed reached). `steps` holds the environment step at which
    each episode ended (`agent.episode_end_steps`), one list per seed as `returns`. `evaluations`
    holds (environment step, evaluated return) pairs, or one list of them per seed, drawn as points
    (several seeds: mean ± std at each step).
    """
    import matplotlib.pyplot as plt  # imported here: evaluation without plotting needs no matplotlib

    ax = ax or plt.figure(figsize=(7, 4)).gca()
    several_seeds = len(returns) > 0 and np.ndim(returns[0]) == 1
    if several_seeds:
        curves = [moving_average(run, window) for run in returns]
        if steps is None:
            length = min(len(curve) for curve in curves)
            x, curves = np.arange(length), np.array([curve[:length] for curve in curves])
        else:  # each seed's curve read at common steps, up to the last step that every seed reached
            x = np.linspace(max(run[0] for run in steps), min(run[-1] for run in steps), 200)
            curves = np.array([np.interp(x, run_steps, curve) for run_steps, curve in zip(steps, curves)])
        mean, std = curves.mean(axis=0), curves.std(axis=0)
        (line,) = ax.plot(x, mean, label=label or f"mean of {len(returns)} seeds")
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.25)
    else:
        x = np.arange(len(returns)) if steps is None else np.asarray(steps)
        (line,) = ax.plot(x, returns, alpha=0.3)
        label = label or f"moving average ({window})"
        ax.plot(x, moving_average(returns, window), color=line.get_color(), label=label)
    if evaluations is not None and len(evaluations) > 0:
        plot_evaluations(ax, evaluations, several_seeds, line.get_color())
    ax.set_xlabel("episode" if steps is None else "environment steps")
    ax.set_ylabel("return")
    ax.legend()
    return ax


def plot_evaluations(ax, evaluations, several_seeds, color):
    """Evaluated returns as points: (step, return) pairs, or per seed, as mean ± std at each step."""
    if several_seeds:
        length = min(len(run) for run in evaluations)
        points = np.array([run[:length] for run in evaluations], dtype=float)  # (seeds, length, 2)
        x, y = points[0, :, 0], points[:, :, 1]
        ax.errorbar(x, y.mean(axis=0), yerr=y.std(axis=0), fmt="o", color=color, capsize=3,
                    label="evaluated return (mean ± std)")
    else:
        x, y = np.array(evaluations, dtype=float).T
        ax.plot(x, y, "o", color=color, markeredgecolor="black", label="evaluated return")


# What each column of an agent's history shows, for the axis labels of `plot_history`.
HISTORY_LABELS = {
    "critic_loss": "critic loss",
    "mean_q": "mean Q(s, a) on the batch",
    "actor_loss": "actor loss",
    "alpha": "temperature α",
    "entropy": "policy entropy (nats)",
    "updates_per_second": "updates per second",
}


def plot_history(history, columns=None, axes=None, label=None):
    """Plot the diagnostics of a training run against environment steps, one panel per column.

    `history` maps column names to equal-length lists and has an "env_steps" column (an agent's
    `agent.history`, or a DataFrame read from metrics.csv); an agent may be passed instead of its
    history. `columns` defaults to every diagnostic present among critic loss, mean Q, actor loss, α,
    entropy and updates per second. Pass the `axes` of an earlier call (and a `label`) to draw a second
    run on the same panels. A column the run did not record keeps its panel, which says so, and one
    printed line says how to record it: the plots work with any agent that trains.
    """
    import matplotlib.pyplot as plt

    if hasattr(history, "history") and not hasattr(history, "keys"):
        history = history.history  # an agent: its diagnostics
    if not hasattr(history, "keys"):  # an agent whose own loop keeps no history
        history = {}
        print("No diagnostics to plot: this agent has no `history`. The course's loop fills one: end your "
              "agent's train with `return training.train(self, env, max_steps)` (solutions/training.py).")
    columns = columns or [name for name in HISTORY_LABELS if name in history]
    if not columns:
        return []
    if axes is None:
        rows = (len(columns) + 1) // 2
        axes = plt.subplots(rows, 2, figsize=(11, 3 * rows), squeeze=False, sharex=True)[1].ravel()
        for unused in axes[len(columns):]:
            unused.set_visible(False)
    missing = [name for name in columns if name not in history]
    if history and missing:
        print(f"Not recorded by this agent: {', '.join(missing)}. Its steps record a value with "
              f"self.history.add({missing[0]}=value.detach()) (solutions/history.py); the other panels are drawn.")
    for ax, name in zip(axes, columns):
        ax.set_ylabel(HISTORY_LABELS.get(name, name))
        ax.set_xlabel("environment steps")
        if name in missing:
            ax.text(0.5, 0.5, f"{name}: not recorded", ha="center", va="center", transform=ax.transAxes)
            continue
        ax.plot(np.asarray(history["env_steps"], dtype=float), np.asarray(history[name], dtype=float), label=label)
        if label is not None:
            ax.legend()
    return axes
