"""Everything a training run needs to go on later: saved into a checkpoint, restored to resume.

`training_state(agent, env)` gathers, as tensors and plain containers (what
`torch.load(weights_only=True)` reads back):
- every network of the agent, targets included, and every optimizer's state (Adam's moments and
  step counts), by attribute name; other tensors such as SAC's log α; the OU noise's state;
- the counters: environment steps, updates, critic updates, episodes, and the history so far;
- the random streams: torch's (and the GPU's, for an agent on one), the environment's and its action space's;
- for a MuJoCo environment, the episode in progress: its last observation and return so far, the
  time limit's step count and the simulator's integration state (positions, velocities, warm
  start), so that the resumed run takes the very step the uninterrupted one would have (any other
  environment starts a new episode on resume);
- with `with_buffer`, the replay buffer's filled rows.

`restore_training_state(agent, env, state)` puts them back into a freshly built agent of the same
algorithm, config and network sizes, and into a fresh environment of the same id.
"""

from copy import deepcopy

import gymnasium as gym
import numpy as np
import torch

COUNTERS = ("env_steps", "critic_updates")


def training_state(agent, env, with_buffer=False):
    parts = vars(agent).items()
    # deepcopy: a state_dict holds the live tensors, which the next update would change under the copy.
    state = {
        "modules": {name: deepcopy(value.state_dict()) for name, value in parts if isinstance(value, torch.nn.Module)},
        "optimizers": {name: deepcopy(value.state_dict()) for name, value in parts
                       if isinstance(value, torch.optim.Optimizer)},
        "tensors": {name: value.detach().clone() for name, value in parts if isinstance(value, torch.Tensor)},
        "counters": {name: getattr(agent, name) for name in COUNTERS if hasattr(agent, name)},
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
