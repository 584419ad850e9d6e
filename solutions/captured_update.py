"""An agent's update recorded once as a CUDA graph and replayed: an opt-in speed-up on a GPU.

Why it exists: the networks of this course are small (two layers of 256), so on a GPU an update is
not limited by arithmetic but by the launches of its many short kernels (an SAC update runs a few
hundred), each issued one by one from Python. A CUDA graph records every kernel of one update, the
optimizers' steps and the target averages included, and replays them all with a single launch.
The eager `agent.update()` stays the default and the code the notebooks teach; this wrapper runs
exactly that code, once, under capture.

What a graph needs, and how it is given here:
- Fixed memory. A replay reads its inputs from the addresses seen at capture, so the batch lives in
  static tensors; before each replay the buffer's sample is copied into them.
- Optimizers in their capturable form: `capturable=True` keeps each step count on the GPU, so that
  no Python number is baked into the graph and no host synchronisation happens inside it.
- A warm-up: lazily created state (Adam's moments, cuBLAS workspaces) must exist before capture,
  so a few eager updates run first, on a side stream, as PyTorch's CUDA-graph notes ask.
- Python runs once, at capture. A branch that depends on a counter (TD3's and CrossQ's actor step
  every `policy_update_freq` critic steps) is captured once per phase of that counter, and each
  replay advances the counter as the eager update would.
Random numbers (smoothing noise, SAC's policy samples) are drawn inside the graph from the CUDA
generator, which PyTorch advances at every replay.
"""

import warnings

import torch


class CapturedUpdate:
    """`captured = CapturedUpdate(agent)`, then `captured()` in place of `agent.update()`."""

    def __init__(self, agent, warmup_updates=3):
        if agent.device.type != "cuda":
            raise ValueError(
                f"a captured update needs the networks on a CUDA GPU, but this agent's are on "
                f"{agent.device}: move them with .to('cuda'), or keep the eager agent.update()."
            )
        self.agent = agent
        make_optimizers_capturable(agent)
        self.period = int(agent.config.get("policy_update_freq", 1))
        side_stream = torch.cuda.Stream()
        side_stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side_stream), warnings.catch_warnings():
            # torch warns that a capturable optimizer steps outside a capture: here it does so on purpose.
            warnings.filterwarnings("ignore", message=".*capturable=True.*")
            for _ in range(warmup_updates):  # real updates on real batches: they count as updates
                agent.update()
        torch.cuda.current_stream().wait_stream(side_stream)
        self.batch = [tensor.clone() for tensor in agent.memory.sample(agent.batch_size)]
        self.graphs, self.outputs = [], []
        for phase in range(self.period):
            graph, outputs = self._capture(phase)
            self.graphs.append(graph)
            self.outputs.append(outputs)

    def _capture(self, phase):
        """Record one eager update whose counter stands at `phase` (mod the period)."""
        agent = self.agent
        counter = getattr(agent, "critic_updates", None)
        if counter is not None:  # the branch taken at capture is the one this phase takes
            agent.critic_updates = phase
        agent.memory.sample = lambda batch_size: self.batch  # the update reads the static batch
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                outputs = agent.update()
        finally:
            del agent.memory.sample  # the buffer's own method again
            if counter is not None:  # capture ran no kernel: no update has happened
                agent.critic_updates = counter
        return graph, outputs

    def __call__(self):
        """One update: a fresh batch into the static tensors, then one replay."""
        agent = self.agent
        for static, sampled in zip(self.batch, agent.memory.sample(agent.batch_size)):
            static.copy_(sampled)
        phase = getattr(agent, "critic_updates", 0) % self.period
        self.graphs[phase].replay()
        if hasattr(agent, "critic_updates"):
            agent.critic_updates += 1
        return self.outputs[phase]


def make_optimizers_capturable(agent):
    """Switch every optimizer of the agent to capturable=True, its step counts onto the GPU."""
    for optimizer in vars(agent).values():
        if not isinstance(optimizer, torch.optim.Optimizer):
            continue
        for group in optimizer.param_groups:
            group["capturable"] = True
            for parameter in group["params"]:
                state = optimizer.state.get(parameter, {})
                if "step" in state:  # a step count made before, as a CPU tensor
                    state["step"] = state["step"].to(parameter.device, torch.float32)
