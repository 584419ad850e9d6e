"""The instructors' command line: train an agent, save it, evaluate it, film it.

    python -m solutions train --algo td3 --env InvertedPendulum-v5 --steps 10000 --seed 0 --out runs/td3
    python -m solutions evaluate runs/td3/checkpoint.pt --episodes 10 --video

    python -m solutions train --resume runs/td3/checkpoint.pt --steps 10000

`train` writes into --out: checkpoint.pt (the networks' weights, the config, and what a resumed run
needs: targets, optimizer states, α, counters, random states, the episode in progress, and with
--save-buffer the replay buffer), metrics.csv and TensorBoard event files (the agent's history:
losses, mean Q, α, entropy, updates per second, against environment steps), learning_curve.png
(returns against environment steps, with the evaluations), evaluation.json (mean ± std over 10
episodes of the deterministic policy) and policy.mp4.

`--device auto` (the default) trains, and evaluates, on the GPU when torch sees one, else on the CPU,
and says which in one line; `--device cuda` on a machine without a GPU is a one-line error.

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
from solutions.tooling.checkpoint import restore_training_state, training_state
from solutions.tooling.device import DEVICE_CHOICES, describe_device, on_device, pick_device
from solutions.tooling.registry import ALGOS, DEFAULTS, build_agent, build_networks

CHECKPOINT_FORMAT = "solutions-checkpoint-v1"


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


def first_line(error):
    return str(error).splitlines()[0] if str(error).strip() else type(error).__name__


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


def save_checkpoint(path, algo, env_id, config, hidden_sizes, networks, episode_returns, run=None):
    """Write the networks and config; `run` (see `run_record`) adds what a resumed run needs."""
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "algo": algo,
            "env_id": env_id,
            "config": dict(config),
            "hidden_sizes": list(hidden_sizes),
            "networks": {name: net.state_dict() for name, net in networks.items()},
            "episode_returns": [float(r) for r in episode_returns],
            **({"run": run} if run is not None else {}),
        },
        path,
    )


def load_checkpoint(path):
    """Rebuild the networks of a checkpoint; exit with a one-line error if it cannot be loaded."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"error: no checkpoint at '{path}'. Make one with: python -m solutions train --out DIR")
    try:
        # weights_only=True: only tensors and plain containers are unpickled, never arbitrary code.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        raise SystemExit(f"error: '{path}' is not a readable checkpoint (corrupt, or not a torch file).") from None
    try:
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a checkpoint written by `python -m solutions train`")
        env = gym.make(checkpoint["env_id"])
        networks = build_networks(checkpoint["algo"], env, tuple(checkpoint["hidden_sizes"]))
        mismatch = architecture_mismatch(networks, checkpoint["networks"])
        if mismatch is None:
            for name, net in networks.items():
                net.load_state_dict(checkpoint["networks"][name])
    except Exception as error:  # a wrong format, algorithm, environment or network shape
        raise SystemExit(f"error: '{path}' does not hold this package's networks: {first_line(error)}") from None
    if mismatch is not None:
        raise SystemExit(
            f"error: '{path}' has another architecture than the {checkpoint['algo']} networks with hidden sizes "
            f"{checkpoint['hidden_sizes']} it records: {mismatch}; it was not written by this package's train command"
        )
    return checkpoint, env, networks


def architecture_mismatch(networks, saved):
    """The first layer whose shape differs between built networks and saved weights, in words; None if none."""
    for name, net in networks.items():
        built, stored = net.state_dict(), saved.get(name, {})
        for key in [*built, *(k for k in stored if k not in built)]:
            if key not in stored:
                return f"layer {name}.{key} {list(built[key].shape)} is missing from the checkpoint"
            if key not in built:
                return f"the checkpoint's layer {name}.{key} {list(stored[key].shape)} is not in the networks"
            if built[key].shape != stored[key].shape:
                return (f"layer {name}.{key} is {list(stored[key].shape)} in the checkpoint "
                        f"but {list(built[key].shape)} in the networks")
    return None


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
        checkpoint, agent, env, networks, run = resume(args, device)
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
            networks = on_device(build_networks(algo, env, tuple(hidden)), device)
            agent = build_agent(algo, config, networks)
        except (ValueError, TypeError) as error:
            raise SystemExit(f"error: {error}") from None
        run = {"episode_returns": [], "episode_end_steps": [], "evaluations": []}
    print(describe_device(device))
    start_step = agent.env_steps
    try:
        if args.target_return is None:
            agent.train(env, args.steps)
            add_episodes(run, agent)
        else:
            train_until(agent, env, networks["pi"], env_id, algo, args, run)
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
    evaluations = [*run["evaluations"], (agent.env_steps, mean)]
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


def resume(args, device):
    """The agent, environment and run record of --resume's checkpoint, ready to train on `device`."""
    checkpoint, _, networks = load_checkpoint(args.resume)
    networks = on_device(networks, device)
    if "run" not in checkpoint:
        raise SystemExit(f"error: '{args.resume}' holds networks only (an older checkpoint); it cannot be resumed.")
    env = gym.make(checkpoint["env_id"])
    agent = build_agent(checkpoint["algo"], checkpoint["config"], networks)
    run = {key: list(value) for key, value in checkpoint["run"].items() if key != "training_state"}
    restore_training_state(agent, env, checkpoint["run"]["training_state"])
    return checkpoint, agent, env, networks, run


def add_episodes(run, agent):
    run["episode_returns"] += [float(r) for r in agent.episode_returns]
    run["episode_end_steps"] += list(agent.episode_end_steps)


def train_until(agent, env, policy, env_id, algo, args, run):
    """Train in chunks of --eval-every steps; stop once the evaluated mean return reaches --target-return."""
    eval_env, end = gym.make(env_id), agent.env_steps + args.steps
    with tqdm(total=args.steps, desc=algo.upper(), unit="step") as progress:
        while agent.env_steps < end:
            agent.train(env, min(args.eval_every, end - agent.env_steps))
            add_episodes(run, agent)
            mean, _ = evaluate(eval_env, policy, n_episodes=10, seed=20_000)
            run["evaluations"].append((agent.env_steps, mean))
            progress.update(agent.env_steps - (end - args.steps) - progress.n)
            progress.set_postfix(evaluated_return=f"{mean:.0f}")
            if mean >= args.target_return:
                break
    print(f"evaluated mean return {mean:.1f} after {agent.env_steps} environment steps")


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
    checkpoint, env, networks = load_checkpoint(args.checkpoint)
    networks = on_device(networks, device)
    print(describe_device(device, "Evaluating"))
    out = Path(args.checkpoint).parent
    _, report = evaluation_report(env, networks["pi"], args.episodes, out)
    print(f"{checkpoint['algo'].upper()} on {checkpoint['env_id']}: {report}")
    if args.video:
        print(f"video: {record_video(checkpoint['env_id'], networks['pi'], out / 'policy.mp4')}")


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
    from solutions.tooling.sweep import add_sweep_command  # imported here: solutions.tooling.sweep imports this module

    add_sweep_command(commands)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
