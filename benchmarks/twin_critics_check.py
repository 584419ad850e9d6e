"""Does evaluating the twin critics together pay on a CPU? TD3/SAC's critic loss, separate vs stacked.

The critic step of TD3 and SAC runs two critics of the same shape on the same batch. Stacking
their weights lets one batched product (`torch.bmm`) replace two products, halving the number of
operations that pay dispatch and autograd book-keeping. Three ways of computing the loss
mean (Q1(s, a) - y)² + mean (Q2(s, a) - y)² and its gradient, with identical weights:
- separate: two `QNetwork`s, as the package's agents do;
- torch.func: the two critics' parameters stacked by `torch.func.stack_module_state` and the
  network vectorised over them with `torch.func.vmap` (the ensemble recipe of PyTorch's tutorials);
- bmm: the stacked weights applied by hand, `torch.baddbmm` per layer (the fastest form we could write).
Each variant runs rounds of forward + backward passes in turn; each keeps its best round. Time is the
process's CPU time on one thread.

    python benchmarks/twin_critics_check.py

writes benchmarks/results/twin_critics_check.md.
"""

import copy
import platform
import time
from pathlib import Path

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from solutions.networks import QNetwork

ENV_ID, BATCH, HIDDEN = "InvertedPendulum-v5", 256, (256, 256)


def separate_loss(critics, states, actions, targets):
    Q1, Q2 = critics
    return F.mse_loss(Q1(states, actions), targets) + F.mse_loss(Q2(states, actions), targets)


def make_func_loss(critics):
    params, buffers = stack_module_state(list(critics))
    base = copy.deepcopy(critics[0]).to("meta")

    def q_values(p, b, states, actions):
        return functional_call(base, (p, b), (states, actions))

    def loss(states, actions, targets):
        q = vmap(q_values, in_dims=(0, 0, None, None))(params, buffers, states, actions)  # (2, B)
        return 2 * F.mse_loss(q, targets.expand_as(q))

    return loss, list(params.values())


def make_bmm_loss(critics):
    layers = [[m for m in Q.net if isinstance(m, torch.nn.Linear)] for Q in critics]
    depth = len(layers[0])
    weights = [torch.stack([q[i].weight.detach().T for q in layers]).requires_grad_() for i in range(depth)]
    biases = [torch.stack([q[i].bias.detach() for q in layers]).unsqueeze(1).requires_grad_() for i in range(depth)]

    def loss(states, actions, targets):
        h = torch.cat([states, actions], dim=-1).expand(2, -1, -1)  # (2, B, in)
        for i in range(depth):
            h = torch.baddbmm(biases[i], h, weights[i])
            if i < depth - 1:  # ReLU between layers, none after the last, as in `mlp`
                h = torch.relu(h)
        q = h.squeeze(-1)  # (2, B)
        return 2 * F.mse_loss(q, targets.expand_as(q))

    return loss, weights + biases


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    env = gym.make(ENV_ID)
    critics = [QNetwork(env, HIDDEN) for _ in range(2)]
    state_dim, action_dim = env.observation_space.shape[0], env.action_space.shape[0]
    states, actions, targets = torch.randn(BATCH, state_dim), torch.randn(BATCH, action_dim), torch.randn(BATCH)
    func_loss, func_params = make_func_loss(critics)
    bmm_loss, bmm_params = make_bmm_loss(critics)
    reference = separate_loss(critics, states, actions, targets)
    for other in (func_loss, bmm_loss):  # the three compute the same loss
        torch.testing.assert_close(other(states, actions, targets), reference, rtol=1e-4, atol=1e-4)

    def separate():
        for Q in critics:
            Q.zero_grad(set_to_none=True)
        separate_loss(critics, states, actions, targets).backward()

    def stacked(loss, params):
        def step():
            for p in params:
                p.grad = None
            loss(states, actions, targets).backward()
        return step

    variants = {"separate (the package)": separate,
                "torch.func stack_module_state + vmap": stacked(func_loss, func_params),
                "stacked weights, baddbmm": stacked(bmm_loss, bmm_params)}
    rounds, n = 7, 200
    best = dict.fromkeys(variants, float("inf"))
    for step in variants.values():
        for _ in range(20):
            step()
    for _ in range(rounds):
        for name, step in variants.items():
            start = time.thread_time()
            for _ in range(n):
                step()
            best[name] = min(best[name], (time.thread_time() - start) / n)
    base = best["separate (the package)"]
    lines = [f"{platform.machine()}, 1 thread, torch {torch.__version__}; two critics, batch {BATCH}, hidden "
             f"layers {list(HIDDEN)}; loss forward + backward, best of {rounds} rounds of {n}, CPU time.", "",
             "| variant | ms per forward + backward | speed vs separate |", "|---|---|---|"]
    lines += [f"| {name} | {1e3 * t:.2f} | {base / t:.2f}x |" for name, t in best.items()]
    text = "\n".join(lines) + "\n"
    Path(__file__).parent.joinpath("results", "twin_critics_check.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
