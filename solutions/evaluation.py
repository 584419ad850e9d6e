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


def plot_learning_curve(returns, window=10, ax=None, label=None):
    """Plot episode returns against episodes.

    `returns` is one list of episode returns (drawn raw, faint, with its moving average), or a list
    of such lists, one per seed (drawn as the mean of the moving averages ± one std, over the
    episodes that every seed reached).
    """
    import matplotlib.pyplot as plt  # imported here: evaluation without plotting needs no matplotlib

    ax = ax or plt.figure(figsize=(7, 4)).gca()
    several_seeds = len(returns) > 0 and np.ndim(returns[0]) == 1
    if several_seeds:
        length = min(len(run) for run in returns)
        curves = np.array([moving_average(run[:length], window) for run in returns])
        mean, std = curves.mean(axis=0), curves.std(axis=0)
        (line,) = ax.plot(mean, label=label or f"mean of {len(returns)} seeds")
        ax.fill_between(np.arange(length), mean - std, mean + std, color=line.get_color(), alpha=0.25)
    else:
        (line,) = ax.plot(returns, alpha=0.3)
        label = label or f"moving average ({window})"
        ax.plot(moving_average(returns, window), color=line.get_color(), label=label)
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.legend()
    return ax
