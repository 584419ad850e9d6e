"""Experiments at scale: a grid of training runs executed in parallel with Ray, and their summary.

    python -m solutions sweep --algos sac td3 --envs InvertedPendulum-v5 --seeds 0 1 --steps 1500 --out runs/sweep

A run is one agent trained on one environment with one seed and one config variant, for its own
budget of environment steps, its deterministic policy evaluated every `eval_every` steps. Each run is
one Ray task with one CPU (and one torch thread: small networks gain nothing from more), so a sweep
fills every core of this machine (`ray.init()`), or of a cluster (`--address`, the standard Ray
address); `--gpus-per-run` gives each task a share of a GPU and trains on it.

Results stream into --out as each run finishes, one JSON file per run in runs/ (its evaluations
against environment steps, its episode returns, its config, its timing and the Ray node it ran on).
Running the same sweep again skips the runs already finished, so an interrupted sweep resumes. A run
that raises is reported with its error and the others go on; a worker process that dies (killed,
out of memory) is retried by Ray. At the end, summary.md and summary.png: per cell of the grid, the
environment steps to reach a threshold, the final return's interquartile mean (IQM) with a 95%
bootstrap confidence interval, and the mean return ± its 95% CI against environment steps.
"""

import json
import os
import re
import socket
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import gymnasium as gym
import torch
from tqdm.auto import tqdm

from solutions.tooling.checkpoint import write_json
from solutions.tooling.registry import make_agent
from solutions.tooling.runs import train_and_evaluate
from solutions.tooling.summary import summary
from solutions.tooling.threads import set_torch_threads

RUN_DEFAULTS = {"variant": "default", "config": {}, "steps": 10_000, "eval_every": 1000, "eval_episodes": 10,
                "eval_seed": 10_000, "hidden_sizes": [256, 256], "stop_at_return": None, "device": "cpu",
                "print_evaluations": False}


def run_spec(algo, env, seed, **settings):
    """One run's full description, a plain JSON-able dict: RUN_DEFAULTS updated with `settings`."""
    unknown = set(settings) - set(RUN_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown run setting(s) {sorted(unknown)}; known: {', '.join(RUN_DEFAULTS)}")
    spec = {"algo": algo, "env": env, "seed": int(seed), **RUN_DEFAULTS, **settings}
    spec["hidden_sizes"] = list(spec["hidden_sizes"])
    return json.loads(json.dumps(spec))  # as it will read back from its JSON file (tuples become lists)


def grid(algos, envs, seeds, variants=None, **settings):
    """Every run of algos x envs x seeds x variants. `variants` maps a name to config overrides, or to
    {"config": ..., "steps": ..., "eval_every": ...} when the variant has its own budget or schedule."""
    variants = variants or {"default": {}}
    specs = []
    for env in envs:
        for algo in algos:
            for name, variant in variants.items():
                own = variant if "config" in variant else {"config": variant}
                for seed in seeds:
                    specs.append(run_spec(algo, env, seed, **{**settings, **own, "variant": name}))
    return specs


def run_id(spec):
    """The run's file name: readable, and unique within a grid."""
    name = f"{spec['algo']}-{spec['variant']}-{spec['env']}-seed{spec['seed']}"
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name)


def train_run(spec):
    """Train and evaluate one run; return its record (what the run's JSON file holds)."""
    started = time.time()
    torch.manual_seed(spec["seed"])  # the networks' initial weights
    env, eval_env = gym.make(spec["env"]), gym.make(spec["env"])
    config = {**spec["config"], "seed": spec["seed"], "tqdm_disable": True}
    agent = make_agent(spec["algo"], env, config, spec["hidden_sizes"], spec["device"])

    def show(steps, mean, std):
        if spec["print_evaluations"]:
            print(f"{run_id(spec)}: {steps:>7} steps, return {mean:7.1f} ± {std:5.1f}", flush=True)

    run = train_and_evaluate(agent, env, eval_env, spec["steps"], spec["eval_every"], spec["eval_episodes"],
                             spec["eval_seed"], spec["stop_at_return"], on_evaluation=show)
    return {"run_id": run_id(spec), "spec": spec, "config": jsonable(agent.config),
            "evaluations": [[steps, round(mean, 2), round(std, 2)] for steps, mean, std in run["evaluations"]],
            "episode_returns": [round(r, 2) for r in run["episode_returns"]],
            "timing": {"train_seconds": round(run["train_seconds"], 2), "eval_seconds": round(run["eval_seconds"], 2),
                       "wall_seconds": round(time.time() - started, 2), "started": started},
            "node_id": node_id(), "host": socket.gethostname(), "pid": os.getpid()}


def jsonable(config):
    return {key: value if isinstance(value, (bool, int, float, str, type(None))) else str(value)
            for key, value in config.items()}


def node_id():
    """The Ray node this process runs on (None outside Ray)."""
    import ray  # imported here, as in every function that needs Ray: the CLI's other commands do not

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None


def start_ray(address=None, num_cpus=None):
    """Start Ray on this machine's cores, or connect to the cluster at `address`, unless already up.
    Returns whether this call started it (whoever starts Ray stops it)."""
    import ray

    if ray.is_initialized():
        return False
    where = f"the Ray cluster at {address}" if address else f"Ray on this machine ({num_cpus or os.cpu_count()} CPUs)"
    print(f"Starting {where} ...", flush=True)
    for attempt in range(3):
        try:
            # A local Ray listens on the loopback address only, never on the machine's network address.
            local = {} if address else {"num_cpus": num_cpus, "_node_ip_address": "127.0.0.1"}
            # No dashboard, hence no metrics agent: without this switch, the Ray processes that this call
            # starts print errors about the agent they cannot reach into the notebook's output.
            os.environ.setdefault("RAY_enable_metrics_collection", "0")
            with warnings.catch_warnings():  # a tip about a default of future Ray versions, not about us
                warnings.filterwarnings("ignore", ".*RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", FutureWarning)
                ray.init(address=address, **local, include_dashboard=False, logging_level="ERROR")
            return True
        except Exception as error:
            # Ray gives its processes a fixed 30 s to register; on a machine busy with other work
            # they can miss it. Clean up what did start, and try again.
            ray.shutdown()
            if attempt == 2 or "timed out during startup" not in str(error):
                raise
            print(f"Ray did not start in time ({error}); trying again ...", flush=True)


def read_finished(path, spec):
    """The record of a run already finished with this very spec, or None (a changed spec runs again)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("spec") == spec and "error" not in record else None


def error_record(spec, error):
    """What a failed run leaves: its spec, the error's one-line message and the full traceback."""
    import ray

    cause = error.cause if isinstance(error, ray.exceptions.RayTaskError) and error.cause else error
    message = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return {"run_id": run_id(spec), "spec": spec, "error": f"{type(cause).__name__}: {message}",
            "traceback": "".join(traceback.format_exception(error))}


def run_sweep(specs, out, address=None, num_cpus=None, gpus_per_run=0, max_retries=3, run=train_run,
              summarize=True, threshold=None):
    """Run every spec not finished yet in `out`, one Ray task each; return the records of all of them
    (failed runs hold an "error"). `run(spec)` trains one run (default `train_run`; any function that
    returns a JSON-able dict). Writes out/runs/RUN_ID.json as each finishes, then the summary. Ray is
    started if it is not running yet, and then stopped at the end; a Ray already running is left so."""
    import ray

    if gpus_per_run:  # the device is part of the spec: a run on CUDA is not the same run as on a CPU
        specs = [{**spec, "device": "cuda"} for spec in specs]
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    ids = [run_id(spec) for spec in specs]
    if len(set(ids)) != len(ids):
        raise ValueError("two runs of the sweep have the same algorithm, variant, environment and seed")
    records = {i: read_finished(out / "runs" / f"{i}.json", spec) for i, spec in zip(ids, specs)}
    todo = [(i, spec) for i, spec in zip(ids, specs) if records[i] is None]
    print(f"{len(specs)} runs: {len(specs) - len(todo)} already finished in {out} (skipped), {len(todo)} to run",
          flush=True)
    if todo:
        started_ray = start_ray(address, num_cpus)
        try:
            run_todo(todo, records, out, gpus_per_run, max_retries, run, len(specs))
        finally:
            if started_ray:
                ray.shutdown()
    results = [records[i] for i in ids]
    if summarize and any("error" not in r for r in results):
        text = summary(results, out, threshold)
        print(text, flush=True)
        print(f"summary: {out / 'summary.md'}, {out / 'summary.png'}", flush=True)
    return results


def first_failure(records, runs_folder):
    """One line naming the first failed run and where its traceback is, or None if every run finished."""
    failed = [r for r in records if "error" in r]
    if not failed:
        return None
    return (f"{len(failed)} of {len(records)} runs failed; {failed[0]['run_id']}: {failed[0]['error']} "
            f"(its traceback: {Path(runs_folder) / failed[0]['run_id']}.json)")


def require_all_finished(records):
    """Exit with a one-line error naming the first failed run, for callers that need every run."""
    failure = first_failure(records, "runs")
    if failure:
        raise SystemExit(f"error: {failure}")
    return records


def run_experiment(run, specs, name):
    """A notebook's experiment: `run(spec)` for every spec, in parallel on this machine's cores.

    Each call trains anew, in a fresh folder (so that an agent changed since is never read back from
    an earlier call's files). Ray starts at the notebook's first experiment and keeps running for the
    next ones; it stops with the kernel. Returns the records in the order of `specs`, or raises the
    first failed run's error, with the folder that holds its traceback.
    """
    out = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    start_ray()  # started here, not by run_sweep, which would stop it at the end
    records = run_sweep(specs, out, run=run, summarize=False)
    failure = first_failure(records, out / "runs")
    if failure:
        raise RuntimeError(failure)
    return records


def on_one_thread(run, spec):
    """A Ray task: one CPU, so one torch thread (more would only fight the other tasks for the cores)."""
    set_torch_threads(1)
    return run(spec)


def run_todo(todo, records, out, gpus_per_run, max_retries, run, total):
    """Submit every run as a Ray task and write each record as its task ends, whichever ends first."""
    import ray

    # max_retries: Ray runs again a task whose worker process died; a task that raises is not retried
    # (its error is the run's result).
    task = ray.remote(on_one_thread).options(num_cpus=1, num_gpus=gpus_per_run, max_retries=max_retries)
    run_ref = ray.put(run)  # the run function (a notebook's own, with the student's agent) shipped once
    pending = {}
    for i, spec in todo:
        pending[task.remote(run_ref, spec)] = (i, spec)
    with tqdm(total=total, initial=total - len(todo), desc="runs", unit="run") as progress:
        while pending:
            [done], _ = ray.wait(list(pending), num_returns=1)
            i, spec = pending.pop(done)
            try:
                records[i] = ray.get(done)
            except Exception as error:  # the run raised (or its worker died max_retries + 1 times)
                records[i] = error_record(spec, error)
                progress.write(f"FAILED {i}: {records[i]['error']}")
            write_json(out / "runs" / f"{i}.json", records[i])
            progress.set_postfix(failed=sum("error" in r for r in records.values() if r), refresh=False)
            progress.update(1)
