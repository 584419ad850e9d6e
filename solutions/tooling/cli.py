"""The instructors' command line: train an agent, save it, evaluate it, film it.

    python -m solutions train --algo td3 --env InvertedPendulum-v5 --steps 10000 --seed 0 --out runs/td3
    python -m solutions evaluate runs/td3/checkpoint.pt --episodes 10 --video

    python -m solutions train --resume runs/td3/checkpoint.pt --steps 10000
    python -m solutions sweep --algos sac td3 --seeds 0 1 2 --steps 10000 --out runs/sweep

`train` writes into --out: checkpoint.pt (the networks' weights, the config, and what a resumed run
needs: targets, optimizer states, α, counters, random states, the episode in progress, and with
--save-buffer the replay buffer), metrics.csv and TensorBoard event files (the agent's history:
losses, mean Q, α, entropy, updates per second, against environment steps), learning_curve.png
(returns against environment steps, with the evaluations), evaluation.json (mean ± std over 10
episodes of the deterministic policy) and policy.mp4.

`--device auto` (the default) trains, and evaluates, on the GPU when torch sees one, else on the CPU,
and says which in one line; `--device cuda` on a machine without a GPU is a one-line error.

`sweep` trains a grid of runs in parallel with Ray and summarizes them (solutions/tooling/sweep.py).
torch takes the idle cores only (solutions/tooling/threads.py).

Every mistake on the command line is a one-line error before anything is written; an existing
checkpoint is replaced only with --overwrite (resuming a run replaces its own); a run that fails
mid-way saves the networks it has.
"""

import argparse
import csv
import difflib
import json
import math
import sys
from pathlib import Path

import gymnasium as gym
import torch
from tqdm.auto import tqdm

from solutions.config import parse_overrides
from solutions.evaluation import evaluate, plot_learning_curve, record_video
from solutions.tooling.checkpoint import (
    CheckpointError,
    first_line,
    load_checkpoint,
    resume_run,
    save_checkpoint,
    training_state,
)
from solutions.tooling.device import DEVICE_CHOICES, describe_device, on_device, pick_device
from solutions.tooling.registry import ALGOS, DEFAULTS, make_agent
from solutions.tooling.runs import new_run_record, train_and_evaluate
from solutions.tooling.summary import threshold_for
from solutions.tooling.sweep import grid, run_sweep
from solutions.tooling.threads import set_torch_threads


def overrides(pairs, defaults):
    """--set's key=value pairs as a config dict; a pair that cannot be read is a one-line exit."""
    try:
        return parse_overrides(pairs, defaults)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


def check_train_args(args):
    """One-line errors for numbers that cannot make a run, before anything is built or written."""
    for option, value in (("--steps", args.steps), ("--episodes", args.episodes), ("--eval-every", args.eval_every)):
        if value < 1:
            raise SystemExit(f"error: {option} is {value}, but it must be a positive whole number, e.g. {option} 10")
    if any(width < 1 for width in args.hidden):
        raise SystemExit(f"error: --hidden {' '.join(map(str, args.hidden))}: every layer width must be positive")
    if args.target_return is not None and not math.isfinite(args.target_return):
        raise SystemExit(f"error: --target-return is {args.target_return}, but it must be a finite number")


def device_of(args):
    """--device as a torch.device; 'cuda' on a machine without a GPU is a one-line error, before anything is built."""
    try:
        return pick_device(args.device)
    except ValueError as error:
        raise SystemExit(f"error: --device {args.device}: {error}") from None


def make_env(env_id):
    """gym.make(env_id); an unknown id is a one-line error with the closest registered ids."""
    if env_id not in gym.registry:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
        hint = f"closest registered ids: {', '.join(close)}" if close else "gymnasium.pprint_registry() lists them"
        raise SystemExit(f"error: unknown environment '{env_id}'; {hint}")
    try:
        return gym.make(env_id)
    except Exception as error:  # a missing simulator (box2d, mujoco) or a bad version
        raise SystemExit(f"error: cannot make '{env_id}': {first_line(error)}") from None


def check_can_write(checkpoint, overwrite):
    """An existing checkpoint is replaced only when asked: a trained run is never lost by mistake."""
    if checkpoint.exists() and not overwrite:
        raise SystemExit(
            f"error: {checkpoint} already exists; choose another --out, or pass --overwrite to replace it"
        )


def save_after_failure(checkpoint, algo, env_id, hidden, agent, networks, episode_returns, error):
    """The one-line error of a run that failed mid-way, after saving its networks if they are finite."""
    message = "error: stopped by Ctrl-C" if isinstance(error, KeyboardInterrupt) else f"error: {first_line(error)}"
    if agent.env_steps == 0:
        return message
    finite = all(torch.isfinite(p).all() for net in networks.values() for p in net.state_dict().values()
                 if p.is_floating_point())
    if not finite:
        return f"{message} (not saved: the networks hold non-finite weights)"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(checkpoint, algo, env_id, agent.config, hidden, networks, episode_returns)
    return f"{message} (the networks after {agent.env_steps} steps are saved in {checkpoint})"


def train_command(args):
    # Every check that can fail comes before the first step and the first file written.
    try:  # the event files are written at the end: a missing package is said now, not then
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise SystemExit("error: the TensorBoard event files need the tensorboard package: "
                         "pip install 'tensorboard>=2.14,<3'") from None
    check_train_args(args)
    device = device_of(args)
    if args.resume:
        try:
            checkpoint, agent, env, networks, run = resume_run(args.resume, device)
        except CheckpointError as error:
            raise SystemExit(f"error: {error}") from None
        algo, env_id, hidden = checkpoint["algo"], checkpoint["env_id"], checkpoint["hidden_sizes"]
        out = Path(args.out or Path(args.resume).parent)
    else:
        algo, env_id, hidden = args.algo, args.env, args.hidden
        out = Path(args.out or f"runs/{algo}-{env_id}-seed{args.seed}")
    checkpoint_path = out / "checkpoint.pt"
    if not (args.resume and checkpoint_path.resolve() == Path(args.resume).resolve()):
        check_can_write(checkpoint_path, args.overwrite)  # resuming a run replaces its own checkpoint
    if not args.resume:
        config = {**overrides(args.set, DEFAULTS[algo]), "seed": args.seed}
        if args.target_return is not None:  # one progress bar for the whole run instead of one per chunk
            config.setdefault("tqdm_disable", True)
        torch.manual_seed(args.seed)  # the networks' initial weights
        env = make_env(env_id)
        try:
            agent = make_agent(algo, env, config, hidden, device)
        except (ValueError, TypeError) as error:
            raise SystemExit(f"error: {error}") from None
        networks, run = agent.networks, new_run_record()
    print(describe_device(device))
    start_step = agent.env_steps
    try:
        train_run(agent, env, env_id, algo, args, run)
    except (Exception, KeyboardInterrupt) as error:  # a NaN from the env, a simulator error, Ctrl-C in an
        # evaluation between chunks: keep what was learned (Ctrl-C inside `train` returns normally)
        message = save_after_failure(checkpoint_path, algo, env_id, hidden, agent, networks,
                                     run["episode_returns"], error)
        raise SystemExit(message) from None

    out.mkdir(parents=True, exist_ok=True)
    # Saved before evaluating: the evaluation runs on its own environment and leaves the run's alone.
    run_state = {**run, "training_state": training_state(agent, env, with_buffer=args.save_buffer)}
    save_checkpoint(checkpoint_path, algo, env_id, agent.config, hidden, networks, run["episode_returns"], run_state)
    mean, report = evaluation_report(gym.make(env_id), networks["pi"], args.episodes, out)
    evaluations = [*((evaluation[0], evaluation[1]) for evaluation in run["evaluations"]), (agent.env_steps, mean)]
    write_metrics(out, agent.history, run, evaluations, start_step, SummaryWriter)
    label = f"{algo.upper()} on {env_id}"
    ax = plot_learning_curve(run["episode_returns"], label=label, steps=run["episode_end_steps"],
                             evaluations=evaluations)
    ax.figure.savefig(out / "learning_curve.png", dpi=100, bbox_inches="tight")
    lines = [f"checkpoint:     {checkpoint_path}", f"learning curve: {out / 'learning_curve.png'}",
             f"metrics:        {out / 'metrics.csv'} and TensorBoard events (tensorboard --logdir {out})",
             f"evaluation:     {out / 'evaluation.json'} ({report})"]
    if not args.no_video:
        lines.append(f"video:          {record_video(env_id, networks['pi'], out / 'policy.mp4')}")
    print("\n".join(lines))


def train_run(agent, env, env_id, algo, args, run):
    """--steps more steps; with --target-return, in chunks of --eval-every, until the evaluated return reaches it."""
    if args.target_return is None:
        train_and_evaluate(agent, env, None, args.steps, run=run)
        return
    start = agent.env_steps
    with tqdm(total=args.steps, desc=algo.upper(), unit="step") as progress:
        def show(steps, mean, std):
            progress.update(steps - start - progress.n)
            progress.set_postfix(evaluated_return=f"{mean:.0f}")

        train_and_evaluate(agent, env, gym.make(env_id), args.steps, args.eval_every, eval_episodes=10,
                           eval_seed=20_000, stop_at_return=args.target_return, run=run, on_evaluation=show)
    print(f"evaluated mean return {run['evaluations'][-1][1]:.1f} after {agent.env_steps} environment steps")


def write_metrics(out, history, run, evaluations, start_step, SummaryWriter):
    """metrics.csv (the whole history, one row per record) and TensorBoard events of this call's steps."""
    columns = list(history)
    with open(out / "metrics.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        writer.writerows(zip(*(history[name] for name in columns)))
    with SummaryWriter(log_dir=str(out)) as events:  # tags as CleanRL's: losses/..., charts/...
        for i, step in enumerate(history.get("env_steps", [])):
            if step > start_step:
                for name in columns:
                    if name not in ("env_steps", "updates", "episodes"):
                        group = "charts" if name in ("updates_per_second", "alpha", "entropy") else "losses"
                        events.add_scalar(f"{group}/{name}", history[name][i], int(step))
        for step, episode_return in zip(run["episode_end_steps"], run["episode_returns"]):
            if step > start_step:
                events.add_scalar("charts/episodic_return", episode_return, int(step))
        for step, mean in evaluations:
            if step > start_step:
                events.add_scalar("charts/evaluated_return", mean, int(step))


def evaluation_report(env, policy, episodes, out):
    mean, std = evaluate(env, policy, n_episodes=episodes, seed=10_000)
    summary = {"mean_return": mean, "std_return": std, "episodes": episodes}
    (out / "evaluation.json").write_text(json.dumps(summary, indent=2) + "\n")
    return mean, f"mean return {mean:.1f} ± {std:.1f} over {episodes} episodes"


def evaluate_command(args):
    device = device_of(args)
    try:
        checkpoint, env, networks = load_checkpoint(args.checkpoint)
    except CheckpointError as error:
        raise SystemExit(f"error: {error}") from None
    networks = on_device(networks, device)
    print(describe_device(device, "Evaluating"))
    out = Path(args.checkpoint).parent
    _, report = evaluation_report(env, networks["pi"], args.episodes, out)
    print(f"{checkpoint['algo'].upper()} on {checkpoint['env_id']}: {report}")
    if args.video:
        print(f"video: {record_video(checkpoint['env_id'], networks['pi'], out / 'policy.mp4')}")


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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m solutions", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train an agent; save it, its curve, evaluation and video")
    train.add_argument("--algo", choices=ALGOS, default="td3")
    train.add_argument("--env", default="InvertedPendulum-v5")
    train.add_argument("--steps", type=int, default=10_000, help="environment steps")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="output folder (default runs/ALGO-ENV-seedSEED)")
    train.add_argument("--hidden", type=int, nargs="+", default=[256, 256], help="hidden layer widths")
    train.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="agent config overrides")
    train.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    train.add_argument("--target-return", type=float, help="stop once the evaluated mean return reaches it")
    train.add_argument("--eval-every", type=int, default=1000, help="steps between evaluations (with --target-return)")
    train.add_argument("--no-video", action="store_true")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in DIR/checkpoint.pt "
                       "(--steps more steps; algorithm, environment, sizes and config come from it)")
    train.add_argument("--save-buffer", action="store_true", help="also save the replay buffer, for --resume")
    train.add_argument("--overwrite", action="store_true", help="replace the checkpoint already in --out")
    train.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                       help="where the networks train (default auto: the GPU when torch sees one, else the CPU)")
    train.set_defaults(run=train_command)
    evaluate_parser = commands.add_parser("evaluate", help="evaluate a saved checkpoint")
    evaluate_parser.add_argument("checkpoint")
    evaluate_parser.add_argument("--episodes", type=int, default=10)
    evaluate_parser.add_argument("--video", action="store_true", help="also write policy.mp4 beside it")
    evaluate_parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                                 help="where the policy runs (default auto: the GPU when torch sees one, else the CPU)")
    evaluate_parser.set_defaults(run=evaluate_command)
    add_sweep_command(commands)
    args = parser.parse_args(argv)
    if args.command != "sweep":  # a sweep's tasks take one thread each
        set_torch_threads()  # the idle cores only: a busy neighbour and this run would fight over the rest
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
