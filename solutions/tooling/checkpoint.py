"""Checkpoints: the networks of a run, and everything it needs to go on later, saved so that no save loses it.

- `save_checkpoint` / `load_checkpoint`: the networks' weights, the algorithm, environment, sizes and
  config (what `python -m solutions evaluate` needs), and with `run` what a resumed run needs.
- `training_state(agent, env)` gathers that, as tensors and plain containers (what
  `torch.load(weights_only=True)` reads back): every network, optimizer and tensor attribute of the
  agent (targets, Adam's moments and step counts, SAC's log α) by name; the OU noise's state; the
  environment steps and the counter of the agent's periodic update (`periodic_update`, see `Agent` in
  solutions/training.py); the history so far; the random streams (torch's, the GPU's for an agent on
  one, the environment's and its action space's); for a MuJoCo environment the episode in progress
  (its last observation, return so far, time-limit count and simulator state, so that the resumed run
  takes the very step the uninterrupted one would have; any other environment starts a new episode);
  with `with_buffer`, the replay buffer's filled rows. `restore_training_state` puts them back into a
  freshly built agent and environment, and `resume_run` does both for a checkpoint file.
- `atomic_write`: every file here (and each record of a sweep) is written to a temporary file in the
  same folder, flushed and synced to the disk, then renamed over the old one. A process killed at any
  moment, even while writing a large checkpoint with its replay buffer, leaves the previous file whole.
"""

import contextlib
import json
import os
import tempfile
from copy import deepcopy
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from solutions.tooling.device import on_device
from solutions.tooling.registry import build_agent, build_networks

CHECKPOINT_FORMAT = "solutions-checkpoint-v1"


class CheckpointError(ValueError):
    """A file that is not a checkpoint this package can load or resume; the message says why and what to do."""


# --- writing a file whole or not at all ---------------------------------------------------------------

def atomic_write(path, write):
    """Write `path` by `write(binary_file)` so that it is either the old file or the new one, never half of one."""
    path = Path(path)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # what a process killed mid-write left behind
        stale.unlink(missing_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes on the disk before the name points at them
        os.replace(temporary, path)  # atomic: readers see the old file or the new one
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself reaches the disk
    finally:
        os.close(folder)


def write_json(path, record):
    atomic_write(path, lambda file: file.write((json.dumps(record, indent=1) + "\n").encode()))


def torch_save(value, path):
    """torch.save(value, path), written atomically."""
    atomic_write(path, lambda file: torch.save(value, file))


# --- checkpoint files ----------------------------------------------------------------------------------

def save_checkpoint(path, algo, env_id, config, hidden_sizes, networks, episode_returns, run=None):
    """Write the networks and config; `run` (a run record with its `training_state`) adds what resuming needs."""
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "algo": algo,
        "env_id": env_id,
        "config": dict(config),
        "hidden_sizes": list(hidden_sizes),
        "networks": {name: net.state_dict() for name, net in networks.items()},
        "episode_returns": [float(r) for r in episode_returns],
        **({"run": run} if run is not None else {}),
    }
    torch_save(checkpoint, path)


def load_checkpoint(path):
    """(checkpoint dict, environment, networks with the saved weights); CheckpointError if it cannot be loaded."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at '{path}'. Make one with: python -m solutions train --out DIR")
    try:
        # weights_only=True: only tensors and plain containers are unpickled, never arbitrary code.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        raise CheckpointError(f"'{path}' is not a readable checkpoint (corrupt, or not a torch file).") from None
    try:
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a checkpoint written by `python -m solutions train`")
        env = gym.make(checkpoint["env_id"])
        networks = build_networks(checkpoint["algo"], env, tuple(checkpoint["hidden_sizes"]))
        mismatch = architecture_mismatch(networks, checkpoint["networks"])
        if mismatch is None:
            for name, net in networks.items():
                net.load_state_dict(checkpoint["networks"][name])
    except Exception as error:  # a wrong format, algorithm, environment or network shape
        raise CheckpointError(f"'{path}' does not hold this package's networks: {first_line(error)}") from None
    if mismatch is not None:
        raise CheckpointError(
            f"'{path}' has another architecture than the {checkpoint['algo']} networks with hidden sizes "
            f"{checkpoint['hidden_sizes']} it records: {mismatch}; it was not written by this package's train command"
        )
    return checkpoint, env, networks


def first_line(error):
    return str(error).splitlines()[0] if str(error).strip() else type(error).__name__


def architecture_mismatch(networks, saved):
    """The first layer whose shape differs between built networks and saved weights, in words; None if none."""
    for name, net in networks.items():
        built, stored = net.state_dict(), saved.get(name, {})
        for key in [*built, *(k for k in stored if k not in built)]:
            if key not in stored:
                return f"layer {name}.{key} {list(built[key].shape)} is missing from the checkpoint"
            if key not in built:
                return f"the checkpoint's layer {name}.{key} {list(stored[key].shape)} is not in the networks"
            if built[key].shape != stored[key].shape:
                return (f"layer {name}.{key} is {list(stored[key].shape)} in the checkpoint "
                        f"but {list(built[key].shape)} in the networks")
    return None


def resume_run(path, device):
    """(checkpoint, agent, env, networks, run record) of a checkpoint saved with its run, ready to train on."""
    checkpoint, _, networks = load_checkpoint(path)
    networks = on_device(networks, device)
    if "run" not in checkpoint:
        raise CheckpointError(f"'{path}' holds networks only (an older checkpoint); it cannot be resumed.")
    env = gym.make(checkpoint["env_id"])
    agent = build_agent(checkpoint["algo"], checkpoint["config"], networks)
    run = {key: value for key, value in checkpoint["run"].items() if key != "training_state"}
    restore_training_state(agent, env, checkpoint["run"]["training_state"])
    return checkpoint, agent, env, networks, run


# --- the state of a run ----------------------------------------------------------------------------------

def counters(agent):
    """The agent's counters: its environment steps, and the counter of its periodic update if it has one."""
    periodic = getattr(type(agent), "periodic_update", None)
    return ("env_steps",) + ((periodic[0],) if periodic else ())


def training_state(agent, env, with_buffer=False):
    parts = vars(agent).items()
    # deepcopy: a state_dict holds the live tensors, which the next update would change under the copy.
    state = {
        "modules": {name: deepcopy(value.state_dict()) for name, value in parts if isinstance(value, torch.nn.Module)},
        "optimizers": {name: deepcopy(value.state_dict()) for name, value in parts
                       if isinstance(value, torch.optim.Optimizer)},
        "tensors": {name: value.detach().clone() for name, value in parts if isinstance(value, torch.Tensor)},
        "counters": {name: getattr(agent, name) for name in counters(agent)},
        "history": {"columns": dict(agent.history), "updates": agent.history.updates,
                    "episodes": agent.history.episodes},
        "torch_rng": torch.get_rng_state(),
        # On a GPU, the batches and the noise are drawn from the GPU's generator.
        **({"cuda_rng": torch.cuda.get_rng_state(agent.device)} if agent.device.type == "cuda" else {}),
        "environment": environment_state(env),
        "episode": None,
    }
    if getattr(agent, "ou_noise", None) is not None:
        state["ou_noise"] = agent.ou_noise.state.clone()
    unfinished = getattr(agent, "unfinished_episode", None)
    # Only a simulator whose state is saved can continue its episode; any other starts a new one.
    if unfinished is not None and unfinished[0] is env and "mujoco" in state["environment"]:
        state["episode"] = {"state": torch.as_tensor(np.asarray(unfinished[1])), "return": float(unfinished[2])}
    if with_buffer and agent.memory.storage is not None:
        size = len(agent.memory)
        state["buffer"] = {"rows": {name: rows[:size].clone() for name, rows in agent.memory.storage.items()},
                           "next_index": agent.memory.next_index, "size": size}
    return state


def restore_training_state(agent, env, state):
    """Load `state` into `agent` and `env` (both fresh); the next `agent.train(env, n)` goes on."""
    for name, module_state in state["modules"].items():
        getattr(agent, name).load_state_dict(module_state)
    for name, optimizer_state in state["optimizers"].items():
        getattr(agent, name).load_state_dict(optimizer_state)
    with torch.no_grad():
        for name, tensor in state["tensors"].items():
            getattr(agent, name).copy_(tensor)  # in place: the optimizer holds this very tensor
    for name, value in state["counters"].items():
        setattr(agent, name, value)
    history = state["history"]
    agent.history.update({name: list(column) for name, column in history["columns"].items()})
    agent.history.updates, agent.history.episodes = history["updates"], history["episodes"]
    if "ou_noise" in state:
        agent.ou_noise.state = state["ou_noise"].to(agent.device, copy=True)  # saved from, or loaded to, the CPU
    if "buffer" in state:
        load_buffer(agent.memory, state["buffer"])
    restore_environment(env, state["environment"])
    if state["episode"] is not None:
        agent.unfinished_episode = (env, state["episode"]["state"].numpy(), state["episode"]["return"])
    torch.set_rng_state(state["torch_rng"])
    if "cuda_rng" in state and agent.device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"], agent.device)


def load_buffer(memory, saved):
    rows = saved["rows"]
    size = saved["size"]
    if size > memory.capacity:
        raise ValueError(f"the saved replay buffer holds {size} transitions, more than buffer_size {memory.capacity}")
    memory.storage = {name: torch.zeros((memory.capacity, *rows[name].shape[1:]), dtype=rows[name].dtype,
                                        device=memory.device) for name in rows}
    for name in rows:
        memory.storage[name][:size] = rows[name]
    memory.size, memory.next_index = size, saved["next_index"] % memory.capacity


def time_limit(env):
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit):
            return env
        env = env.env
    return None


def environment_state(env):
    base = env.unwrapped
    state = {"np_random": base.np_random.bit_generator.state,
             "action_space": env.action_space.np_random.bit_generator.state}
    limit = time_limit(env)
    if limit is not None:
        state["elapsed_steps"] = limit._elapsed_steps
    if hasattr(base, "model") and hasattr(base, "data"):  # a MuJoCo environment
        import mujoco

        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        physics = np.empty(mujoco.mj_stateSize(base.model, spec))
        mujoco.mj_getState(base.model, base.data, physics, spec)
        state["mujoco"] = torch.from_numpy(physics)
    return state


def restore_environment(env, state):
    env.reset()  # the wrappers want a reset before the first step; its draws are overwritten below
    base = env.unwrapped
    base.np_random.bit_generator.state = state["np_random"]
    env.action_space.np_random.bit_generator.state = state["action_space"]
    limit = time_limit(env)
    if limit is not None and "mujoco" in state:  # the episode in progress goes on
        limit._elapsed_steps = state["elapsed_steps"]
    if "mujoco" in state:
        import mujoco

        mujoco.mj_setState(base.model, base.data, state["mujoco"].numpy(), mujoco.mjtState.mjSTATE_INTEGRATION)
