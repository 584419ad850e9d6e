"""Does torch.compile pay for the chapter's agents on a CPU? DDPG updates per second, eager vs compiled.

Two identical DDPG agents (batch 256, two hidden layers of 256) fill their buffers with the same
random transitions. In one, the four networks are wrapped in torch.compile (Inductor, which also
compiles their backward passes). After warm-up, the two alternate rounds of updates and each
keeps its best rate, so both see the same machine load. Time is the process's CPU time on one thread.

    python benchmarks/compile_check.py

writes benchmarks/results/compile_check.md.
"""

import platform
import time
from pathlib import Path

import torch
from speed import HIDDEN, random_transitions

from solutions.ddpg import ddpg_agent
from solutions.networks import QNetwork, policyNetwork


def make_agent(env, transitions, compiled):
    torch.manual_seed(0)
    agent = ddpg_agent({"tqdm_disable": True}, QNetwork(env, HIDDEN), policyNetwork(env, HIDDEN))
    if compiled:
        for name in ("Q", "pi", "Q_target", "pi_target"):
            setattr(agent, name, torch.compile(getattr(agent, name)))
    for transition in transitions:
        agent.memory.append(*transition)
    return agent


def updates_per_cpu_second(agent, n_updates=200):
    start = time.thread_time()
    for _ in range(n_updates):
        agent.update()
    return n_updates / (time.thread_time() - start)


def main():
    torch.set_num_threads(1)
    env, transitions = random_transitions(5_000)
    eager, compiled = make_agent(env, transitions, False), make_agent(env, transitions, True)
    start = time.perf_counter()
    for _ in range(20):  # the first calls compile (forward and backward graphs)
        compiled.update()
    compile_seconds = time.perf_counter() - start
    for _ in range(20):
        eager.update()
    eager_best = compiled_best = 0.0
    for _ in range(5):
        eager_best = max(eager_best, updates_per_cpu_second(eager))
        compiled_best = max(compiled_best, updates_per_cpu_second(compiled))
    text = (f"{platform.machine()}, 1 thread, torch {torch.__version__}; DDPG, batch 256, "
            f"hidden layers {list(HIDDEN)}; best of 5 rounds of 200 updates, CPU time.\n\n"
            f"| variant | updates per CPU-second |\n|---|---|\n"
            f"| eager (the package's agents) | {eager_best:.0f} |\n"
            f"| torch.compile on the four networks | {compiled_best:.0f} |\n\n"
            f"Compiled / eager: {compiled_best / eager_best:.2f}x; "
            f"compiling took {compile_seconds:.0f} s of wall time.\n")
    Path(__file__).parent.joinpath("results", "compile_check.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
