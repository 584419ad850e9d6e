"""An agent's update recorded once as a CUDA graph and replayed: an opt-in speed-up on a GPU.

Why it exists: the networks of this course are small (two layers of 256), so on a GPU an update is
not limited by arithmetic but by the launches of its many short kernels (an SAC update runs a few
hundred), each issued one by one from Python. A CUDA graph records every kernel of one update, the
optimizers' steps and the target averages included, and replays them all with a single launch.
The eager `agent.update()` stays the default and the code the notebooks teach; this wrapper runs
exactly that code, once, under capture. The training loop uses it when the agent's config sets
`captured_update=True` (solutions/training.py), and builds it before the first environment step:
building it only checks the device and switches the optimizers; the capture waits for the updates.

What a graph needs, and how it is given here:
- Fixed memory. A replay reads its inputs from the addresses seen at capture, so the batch lives in
  static tensors; before each replay the buffer's sample is copied into them.
- Optimizers in their capturable form: `capturable=True` keeps each step count on the GPU, so that
  no Python number is baked into the graph and no host synchronisation happens inside it.
- A warm-up: lazily created state (Adam's moments, cuBLAS workspaces) must exist before capture,
  so the first `warmup_updates` calls run the eager update on a side stream, as PyTorch's
  CUDA-graph notes ask. They are real updates: a captured run makes the updates an eager one makes.
- Python runs once, at capture. A branch that depends on a counter (TD3's and CrossQ's actor step
  every `policy_update_freq` critic steps) is captured once per phase of that counter, and each
  replay advances the counter as the eager update would.
- The diagnostics (`agent.history.add`) that the update hands over are graph outputs, overwritten
  at every replay: each replay hands a copy of them to the history, as the eager update does.
Random numbers (smoothing noise, SAC's policy samples) are drawn inside the graph from the CUDA
generator, which PyTorch advances at every replay as the eager update advances it.
"""

import warnings

import torch


class CapturedUpdate:
    """`captured = CapturedUpdate(agent)`, then `captured()` in place of `agent.update()`."""

    def __init__(self, agent, warmup_updates=3):
        if agent.device.type != "cuda":
            raise ValueError(
                f"a captured update (config captured_update=True) needs the networks on a CUDA GPU, but this "
                f"agent's are on {agent.device}: build them on the GPU (network.to('cuda'), or --device cuda on "
                "the command line), or keep the eager agent.update() (captured_update=False)."
            )
        self.agent = agent
        self.warmup_updates = warmup_updates
        self.calls = 0
        self.period = int(agent.config.get("policy_update_freq", 1))
        self.batch = None  # the static batch that the graphs read, made at the capture
        self.graphs = None  # one per phase of the actor delay, recorded at the first call after the warm-up
        make_optimizers_capturable(agent)

    def __call__(self):
        """One update: eager during the warm-up, then a fresh batch into the static tensors and one replay."""
        agent = self.agent
        self.calls += 1
        if self.calls <= self.warmup_updates:
            self._eager_update_on_a_side_stream()
            return
        batch = agent.memory.sample(agent.batch_size)
        if self.graphs is None:
            self.batch = [tensor.clone() for tensor in batch]
            self.graphs, self.diagnostics = zip(*(self._capture(phase) for phase in range(self.period)))
        else:
            for static, sampled in zip(self.batch, batch):
                static.copy_(sampled)
        phase = getattr(agent, "critic_updates", 0) % self.period
        self.graphs[phase].replay()
        if hasattr(agent, "critic_updates"):
            agent.critic_updates += 1
        names, values = self.diagnostics[phase]
        if names and agent.history.recording:
            agent.history.add(**dict(zip(names, values.clone())))  # one copy, before the next replay overwrites it

    def _eager_update_on_a_side_stream(self):
        side_stream = torch.cuda.Stream()
        side_stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side_stream), warnings.catch_warnings():
            # torch warns that a capturable optimizer steps outside a capture: here it does so on purpose.
            warnings.filterwarnings("ignore", message=".*capturable=True.*")
            self.agent.update()
        torch.cuda.current_stream().wait_stream(side_stream)

    def _capture(self, phase):
        """Record one eager update whose counter stands at `phase` (mod the period); no kernel runs."""
        agent = self.agent
        counter = getattr(agent, "critic_updates", None)
        if counter is not None:  # the branch taken at capture is the one this phase takes
            agent.critic_updates = phase
        added = {}
        agent.memory.sample = lambda batch_size: self.batch  # the update reads the static batch
        agent.history.add = lambda **values: added.update(values)  # the diagnostics, as graph outputs
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                agent.update()
                values = torch.stack([value.float() for value in added.values()]) if added else None
        finally:
            del agent.memory.sample, agent.history.add  # the buffer's and the history's own methods again
            if counter is not None:
                agent.critic_updates = counter
        return graph, (list(added), values)


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
