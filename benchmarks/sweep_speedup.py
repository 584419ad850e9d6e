"""What the sweep gains on this machine, and what it costs per run.

In one run:
(a) notebook 2's experiments (section 6: DDPG and TD3; section 7: TD3 without each of its three
    tricks; 10,000 environment steps, evaluated every 1,000 steps over 3 episodes as the notebook's
    probe does; seeds 0 and 1 by default, where the notebook runs 4: the ratio is that of each group)
    trained one after another in this process, as the notebook did before the sweep, and through
    `solutions.tooling.sweep.run_sweep` on local Ray over all the cores: the ratio of the wall times, Ray's
    start included. The two ways alternate, one group of as many runs as there are cores at a time
    (first one after another, then the same group through the sweep), so that a machine whose load
    drifts during the hour weighs on both alike;
(b) the sweep's overhead per run: `--tiny-runs` runs of 100 environment steps (no gradient step)
    one after another, then through the sweep on a Ray of one CPU already started (each after one
    untimed run that warms the process up); the difference per run is what Ray's scheduling, its
    worker and the run's JSON file add. Starting Ray is timed apart.

    python benchmarks/sweep_speedup.py

writes benchmarks/results/sweep_speedup.json and .md.
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import ray
import torch

from solutions.tooling.sweep import grid, run_sweep, start_ray, train_run

# Notebook 2's runs: TD3 with one critic step per environment step, as the notebook's make_agent sets.
NOTEBOOK_2 = {"section 6": (["ddpg"], {"default": {}}),
              "section 7": (["td3"], {"default": {"updates_per_step": 1},
                                      "no clipped double Q": {"updates_per_step": 1, "clipped_double_q": False},
                                      "no target smoothing": {"updates_per_step": 1, "action_noise_scale": 0.0},
                                      "no delayed updates": {"updates_per_step": 1, "policy_update_freq": 1}})}


def notebook_2_specs(steps, seeds):
    return [spec for algos, variants in NOTEBOOK_2.values()
            for spec in grid(algos, ["InvertedPendulum-v5"], seeds, variants, steps=steps, eval_every=1000,
                             eval_episodes=3)]


def one_after_another(specs):
    start = time.perf_counter()
    for spec in specs:
        train_run(spec)
    return time.perf_counter() - start


def through_sweep(specs):
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        run_sweep(specs, out, summarize=False)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000, help="environment steps per notebook-2 run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--tiny-runs", type=int, default=20)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "sweep_speedup"))
    args = parser.parse_args()
    tiny = grid(["td3"], ["InvertedPendulum-v5"], range(args.tiny_runs + 1), steps=100, eval_every=100,
                eval_episodes=1)
    one_after_another(tiny[:1])  # the first run in a process imports and loads the simulator: not a per-run cost
    tiny_sequential = one_after_another(tiny[1:])
    start = time.perf_counter()
    start_ray(num_cpus=1)
    ray_start = time.perf_counter() - start
    through_sweep(tiny[:1])  # so too for the Ray worker's first task
    tiny_swept = through_sweep(tiny[1:])
    ray.shutdown()

    specs = notebook_2_specs(args.steps, args.seeds)
    start = time.perf_counter()
    start_ray()  # on every core
    ray_start_all = time.perf_counter() - start
    cores = int(ray.cluster_resources()["CPU"])
    sequential, swept = 0.0, ray_start_all
    for first in range(0, len(specs), cores):
        group = specs[first:first + cores]
        sequential += one_after_another(group)
        swept += through_sweep(group)
        print(f"{first + len(group)}/{len(specs)} runs: {sequential:.0f} s one after another, "
              f"{swept:.0f} s through the sweep", flush=True)
    ray.shutdown()

    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
                   f"ray {ray.__version__}", "load_average_at_end": round(os.getloadavg()[0], 1),
        "notebook_2_runs": len(specs), "steps_per_run": args.steps,
        "one_after_another_s": round(sequential, 1), "sweep_s": round(swept, 1),
        "speedup": round(sequential / swept, 2), "ray_start_all_cpus_s": round(ray_start_all, 1),
        "speedup_without_ray_start": round(sequential / (swept - ray_start_all), 2),
        "tiny_runs": args.tiny_runs, "tiny_one_after_another_s": round(tiny_sequential, 2),
        "tiny_sweep_s": round(tiny_swept, 2), "ray_start_s": round(ray_start, 2),
        "overhead_per_run_s": round((tiny_swept - tiny_sequential) / args.tiny_runs, 3),
    }
    text = (f"{result['machine']}; load average {result['load_average_at_end']} at the end (other jobs shared "
            f"the machine).\n\n"
            f"| notebook 2's experiments ({len(specs)} runs of {args.steps:,} steps) | wall time (s) |\n|---|---|\n"
            f"| one after another, in one process | {sequential:.0f} |\n"
            f"| through the sweep, local Ray on {os.cpu_count()} CPUs (its start included; alternating with the "
            f"above, {os.cpu_count()} runs at a time) | {swept:.0f} |\n"
            f"| ratio | {sequential / swept:.2f}x ({sequential / (swept - ray_start_all):.2f}x without Ray's "
            f"start, {ray_start_all:.0f} s) |\n\n"
            f"Overhead of the sweep per run ({args.tiny_runs} runs of 100 steps, Ray of one CPU already started): "
            f"{result['overhead_per_run_s']:.3f} s ({tiny_swept:.2f} s through the sweep against "
            f"{tiny_sequential:.2f} s one after another); starting Ray took {ray_start:.1f} s.\n")
    Path(args.out + ".json").write_text(json.dumps(result, indent=1) + "\n")
    Path(args.out + ".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
