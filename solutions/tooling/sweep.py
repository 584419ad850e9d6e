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
import numpy as np
import torch
from matplotlib.figure import Figure
from scipy import stats
from tqdm.auto import tqdm

from solutions.evaluation import evaluate
from solutions.tooling.cli import overrides
from solutions.tooling.device import on_device
from solutions.tooling.registry import ALGOS, DEFAULTS, build_agent, build_networks

RUN_DEFAULTS = {"variant": "default", "config": {}, "steps": 10_000, "eval_every": 1000, "eval_episodes": 10,
                "eval_seed": 10_000, "hidden_sizes": [256, 256], "stop_at_return": None, "device": "cpu",
                "print_evaluations": False}


def make_agent(algo, env, config, hidden_sizes, device):
    """The one place the sweep builds an agent: its networks (on `device`) and the agent around them."""
    networks = on_device(build_networks(algo, env, tuple(hidden_sizes)), device)
    return build_agent(algo, config, networks), networks["pi"]


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
    agent, policy = make_agent(spec["algo"], env, config, spec["hidden_sizes"], spec["device"])
    evaluations, episode_returns, train_seconds, eval_seconds = [], [], 0.0, 0.0
    while agent.env_steps < spec["steps"]:
        start = time.perf_counter()
        episode_returns += agent.train(env, min(spec["eval_every"], spec["steps"] - agent.env_steps))
        train_seconds += time.perf_counter() - start
        start = time.perf_counter()
        mean, std = evaluate(eval_env, policy, n_episodes=spec["eval_episodes"], seed=spec["eval_seed"])
        eval_seconds += time.perf_counter() - start
        evaluations.append([agent.env_steps, round(mean, 2), round(std, 2)])
        if spec["print_evaluations"]:
            print(f"{run_id(spec)}: {agent.env_steps:>7} steps, return {mean:7.1f} ± {std:5.1f}", flush=True)
        if spec["stop_at_return"] is not None and mean >= spec["stop_at_return"]:
            break
    return {"run_id": run_id(spec), "spec": spec, "config": jsonable(agent.config),
            "evaluations": evaluations, "episode_returns": [round(float(r), 2) for r in episode_returns],
            "timing": {"train_seconds": round(train_seconds, 2), "eval_seconds": round(eval_seconds, 2),
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


def write_json(path, record):
    """Write whole or not at all: a sweep killed mid-write leaves no half file that reads as finished."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(record, indent=1) + "\n")
    partial.replace(path)


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
    torch.set_num_threads(1)
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


def cell_name(record):
    spec = record["spec"]
    variant = "" if spec["variant"] in ("default", spec["algo"]) else f" ({spec['variant']})"
    return f"{spec['algo']}{variant}", spec["env"]


def iqm(values, axis=-1):
    """Interquartile mean: the mean of the middle 50% of the values (robust to one outlying seed)."""
    return stats.trim_mean(values, 0.25, axis=axis)


def bootstrap_ci(values, statistic):
    """95% percentile-bootstrap interval of `statistic` over seeds (scipy.stats.bootstrap); NaN for one seed."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    result = stats.bootstrap((values,), statistic, confidence_level=0.95, n_resamples=2000,
                             method="percentile", random_state=0)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def threshold_for(env_id, threshold):
    """The given threshold, else the environment's registered reward_threshold (950 for the pendulum)."""
    return threshold if threshold is not None else gym.spec(env_id).reward_threshold


def steps_to_reach(record, threshold):
    return next((steps for steps, mean, _ in record["evaluations"] if mean >= threshold), None)


def summary(results, out, threshold=None):
    """Write out/summary.md (one row per cell of the grid) and out/summary.png; return the markdown."""
    cells = {}
    for r in results:
        if "error" not in r:
            cells.setdefault(cell_name(r), []).append(r)
    lines = ["| agent | environment | seeds | budget | threshold | reached | median steps to threshold | "
             "steps per seed | final return IQM [95% CI] | train s per seed |", "|---" * 10 + "|"]
    for (agent, env_id), runs in cells.items():
        runs.sort(key=lambda r: r["spec"]["seed"])
        level = threshold_for(env_id, threshold)
        reached = [steps_to_reach(r, level) if level is not None else None for r in runs]
        median = np.median([np.inf if s is None else s for s in reached])
        budget = max(r["spec"]["steps"] for r in runs)
        median_text = f"{median:,.0f}" if np.isfinite(median) else f"> {budget:,}"
        final = [r["evaluations"][-1][1] for r in runs]
        low, high = bootstrap_ci(final, iqm)
        interval = f" [{low:.0f}, {high:.0f}]" if np.isfinite(low) else ""
        seeds = ", ".join(str(r["spec"]["seed"]) for r in runs)
        per_seed = ", ".join("—" if s is None else f"{s:,}" for s in reached)
        seconds = ", ".join(f"{r['timing']['train_seconds']:.0f}" for r in runs)
        level_text = "—" if level is None else f"{level:g}"
        lines.append(f"| {agent} | {env_id} | {seeds} | {budget:,} | {level_text} | "
                     f"{sum(s is not None for s in reached)}/{len(runs)} | {median_text} | {per_seed} | "
                     f"{iqm(final):.0f}{interval} | {seconds} |")
    failed = [r for r in results if "error" in r]
    lines += [""] + [f"FAILED {r['run_id']}: {r['error']}" for r in failed] + [""] * bool(failed)
    lines.append("Final return: the last evaluation of each seed (mean over its evaluation episodes); IQM with a "
                 "95% percentile-bootstrap interval over seeds (scipy.stats.bootstrap, 2,000 resamples). An "
                 "unreached threshold counts as more than the budget for the median.")
    text = "\n".join(lines) + "\n"
    Path(out, "summary.md").write_text(text)
    plot_summary(cells, threshold, Path(out, "summary.png"))
    return text


def plot_summary(cells, threshold, path):
    """Mean evaluated return over seeds ± its 95% bootstrap CI against environment steps, one panel per env."""
    envs = sorted({env_id for _, env_id in cells})
    # A Figure of its own, not pyplot's: summaries are written to files, on machines that may have no
    # display, and a notebook that imports this module keeps its inline figures.
    fig = Figure(figsize=(6.5 * len(envs), 4))
    axes = fig.subplots(1, len(envs), squeeze=False)
    for ax, env_id in zip(axes[0], envs):
        for (agent, cell_env), runs in cells.items():
            if cell_env != env_id:
                continue
            by_step = {}
            for r in runs:
                for steps, mean, _ in r["evaluations"]:
                    by_step.setdefault(steps, []).append(mean)
            steps = np.array(sorted(by_step))
            means = np.array([np.mean(by_step[s]) for s in steps])
            intervals = np.array([bootstrap_ci(by_step[s], np.mean) for s in steps])
            line, = ax.plot(steps, means, marker="o", markersize=3, label=f"{agent} ({len(runs)} seeds)")
            ax.fill_between(steps, intervals[:, 0], intervals[:, 1], color=line.get_color(), alpha=0.2)
        level = threshold_for(env_id, threshold)
        if level is not None:
            ax.axhline(level, color="grey", linestyle="--", linewidth=1, label=f"threshold ({level:g})")
        ax.set(title=env_id, xlabel="environment steps", ylabel="evaluated return (mean, 95% CI)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def add_sweep_command(commands):
    """Register `python -m solutions sweep` on the CLI's subcommands."""
    sweep = commands.add_parser("sweep", help="train a grid of runs in parallel with Ray; summarize them")
    sweep.add_argument("--algos", nargs="+", choices=ALGOS, default=["td3", "sac"])
    sweep.add_argument("--envs", nargs="+", default=["InvertedPendulum-v5"])
    sweep.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    sweep.add_argument("--steps", type=int, default=10_000, help="environment steps per run")
    sweep.add_argument("--eval-every", type=int, default=1000, help="environment steps between evaluations")
    sweep.add_argument("--eval-episodes", type=int, default=10)
    sweep.add_argument("--hidden", type=int, nargs="+", default=[256, 256], help="hidden layer widths")
    sweep.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides of every run")
    sweep.add_argument("--variant", nargs="+", action="append", metavar=("NAME", "KEY=VALUE"),
                       help="a config variant (repeat the flag for several); default: the agent's defaults")
    sweep.add_argument("--threshold", type=float, help="return to reach (default: the env's reward_threshold)")
    sweep.add_argument("--stop-at-threshold", action="store_true", help="end a run once it reaches the threshold")
    sweep.add_argument("--out", required=True, help="output folder (a rerun skips the runs finished there)")
    sweep.add_argument("--address", help="a Ray cluster's address (default: start Ray on this machine)")
    sweep.add_argument("--num-cpus", type=int, help="CPUs for a local Ray (default: all)")
    sweep.add_argument("--gpus-per-run", type=float, default=0, help="GPUs (or a fraction) per run; trains on CUDA")
    sweep.add_argument("--max-retries", type=int, default=3, help="tries again a run whose worker process died")
    sweep.set_defaults(run=sweep_command)


def sweep_command(args):
    if args.gpus_per_run and args.address is None and not torch.cuda.is_available():
        raise SystemExit("error: --gpus-per-run needs a GPU, and torch sees none here. Drop the flag to train on CPUs.")
    defaults = {key: value for algo in args.algos for key, value in DEFAULTS[algo].items()}  # --set's types
    common = overrides(args.set, defaults)
    variants = {name: {**common, **overrides(pairs, defaults)} for name, *pairs in args.variant or []}
    for env_id in args.envs:
        try:
            gym.spec(env_id)
        except gym.error.Error as error:
            raise SystemExit(f"error: --envs: {error}") from None
    specs = grid(args.algos, args.envs, args.seeds, variants or {"default": common}, steps=args.steps,
                 eval_every=args.eval_every, eval_episodes=args.eval_episodes, hidden_sizes=args.hidden)
    if args.stop_at_threshold:
        for spec in specs:
            spec["stop_at_return"] = threshold_for(spec["env"], args.threshold)
    results = run_sweep(specs, args.out, args.address, args.num_cpus, args.gpus_per_run, args.max_retries,
                        threshold=args.threshold)
    if any("error" in r for r in results):
        raise SystemExit(1)
