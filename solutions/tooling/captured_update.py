"""An agent's update recorded once as a CUDA graph and replayed: an opt-in speed-up on a GPU.

Why it exists: the networks of this course are small (two layers of 256), so on a GPU an update is
not limited by arithmetic but by the launches of its many short kernels (an SAC update runs a few
hundred), each issued one by one from Python. A CUDA graph records every kernel of one update, the
optimizers' steps and the target averages included, and replays them all with a single launch.
The eager `agent.update()` stays the default and the code the notebooks teach; this wrapper runs
exactly that code, once, under capture. `capture_update(agent)` puts it in the place of
`agent.update`; the registry's `make_agent` (hence the command line and the sweeps) does so when the
agent's config sets `captured_update=True`, and the training loop refuses such an agent otherwise.
Building it only checks the device and switches the optimizers; the capture waits for the updates.

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
  replay advances the counter as the eager update would. The agent declares that branch
  (`periodic_update = (counter, period)`, or None for an update that is the same at every call); an
  agent that declares nothing is refused, since a branch the capture does not know would be frozen.
- The diagnostics (`agent.history.add`) that the update hands over are graph outputs, overwritten
  at every replay: each replay hands a copy of them to the history, as the eager update does.
Random numbers (smoothing noise, SAC's policy samples) are drawn inside the graph from the CUDA
generator, which PyTorch advances at every replay as the eager update advances it.
"""

import warnings

import torch


def capture_update(agent, warmup_updates=3):
    """Replace `agent.update` by its captured form (once: an agent already captured keeps its graphs)."""
    if not getattr(agent.update, "replays_a_cuda_graph", False):
        agent.update = CapturedUpdate(agent, warmup_updates)
    return agent.update


class CapturedUpdate:
    """`captured = CapturedUpdate(agent)`, then `captured()` in place of `agent.update()`."""

    replays_a_cuda_graph = True  # what the training loop checks for an agent with captured_update=True

    def __init__(self, agent, warmup_updates=3):
        if not hasattr(type(agent), "periodic_update"):
            raise ValueError(
                f"{type(agent).__name__} declares no periodic_update, so a captured update cannot know which of its "
                "branches depend on a counter: declare periodic_update = (counter attribute, period attribute), or "
                "None if update() does the same at every call (see Agent in solutions/training.py)."
            )
        if agent.device.type != "cuda":
            raise ValueError(
                f"a captured update (config captured_update=True) needs the networks on a CUDA GPU, but this "
                f"agent's are on {agent.device}: build them on the GPU (network.to('cuda'), or --device cuda on "
                "the command line), or keep the eager agent.update() (captured_update=False)."
            )
        self.agent = agent
        self.eager_update = agent.update  # the agent's own method, which the capture records
        self.warmup_updates = warmup_updates
        self.calls = 0
        # The counter attribute whose phase picks the branch, and the period of that branch.
        self.counter, period = type(agent).periodic_update or (None, None)
        self.period = 1 if period is None else int(getattr(agent, period))
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
        phase = getattr(agent, self.counter) % self.period if self.counter else 0
        self.graphs[phase].replay()
        if self.counter:
            setattr(agent, self.counter, getattr(agent, self.counter) + 1)
        names, values = self.diagnostics[phase]
        if names and agent.history.recording:
            agent.history.add(**dict(zip(names, values.clone())))  # one copy, before the next replay overwrites it

    def _eager_update_on_a_side_stream(self):
        side_stream = torch.cuda.Stream()
        side_stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side_stream), warnings.catch_warnings():
            # torch warns that a capturable optimizer steps outside a capture: here it does so on purpose.
            warnings.filterwarnings("ignore", message=".*capturable=True.*")
            self.eager_update()
        torch.cuda.current_stream().wait_stream(side_stream)

    def _capture(self, phase):
        """Record one eager update whose counter stands at `phase` (mod the period); no kernel runs."""
        agent = self.agent
        counter = getattr(agent, self.counter) if self.counter else None
        if self.counter:  # the branch taken at capture is the one this phase takes
            setattr(agent, self.counter, phase)
        added = {}
        agent.memory.sample = lambda batch_size: self.batch  # the update reads the static batch
        agent.history.add = lambda **values: added.update(values)  # the diagnostics, as graph outputs
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.eager_update()
                values = torch.stack([value.float() for value in added.values()]) if added else None
        finally:
            del agent.memory.sample, agent.history.add  # the buffer's and the history's own methods again
            if self.counter:
                setattr(agent, self.counter, counter)
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
