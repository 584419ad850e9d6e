"""The instructors' command line: train an agent, save it, evaluate it, film it.

    python -m solutions train --algo td3 --env InvertedPendulum-v5 --steps 10000 --seed 0 --out runs/td3
    python -m solutions evaluate runs/td3/checkpoint.pt --episodes 10 --video

`train` writes into --out: checkpoint.pt (the networks' weights and the config), learning_curve.png,
evaluation.json (mean ± std over 10 episodes of the deterministic policy) and policy.mp4.
"""

import argparse
import ast
import json
import sys
from pathlib import Path

import gymnasium as gym
import torch
from tqdm.auto import tqdm

from solutions.crossq import crossq_agent, crossQNetwork
from solutions.ddpg import ddpg_agent
from solutions.evaluation import evaluate, plot_learning_curve, record_video
from solutions.networks import QNetwork, policyNetwork
from solutions.sac import sac_agent
from solutions.sac_policy import squashedGaussianPolicy
from solutions.td3 import td3_agent

CHECKPOINT_FORMAT = "solutions-checkpoint-v1"


ALGOS = ["ddpg", "td3", "sac", "crossq"]


def build_networks(algo, env, hidden_sizes):
    """The networks each agent takes, by the names its constructor gives them."""
    if algo == "ddpg":
        return {"Q": QNetwork(env, hidden_sizes), "pi": policyNetwork(env, hidden_sizes)}
    if algo == "crossq":  # batch-norm critics, SAC's policy
        return {
            "Q1": crossQNetwork(env, hidden_sizes),
            "Q2": crossQNetwork(env, hidden_sizes),
            "pi": squashedGaussianPolicy(env, hidden_sizes),
        }
    policy_class = policyNetwork if algo == "td3" else squashedGaussianPolicy
    return {
        "Q1": QNetwork(env, hidden_sizes),
        "Q2": QNetwork(env, hidden_sizes),
        "pi": policy_class(env, hidden_sizes),
    }


def build_agent(algo, config, networks):
    if algo == "ddpg":
        return ddpg_agent(config, networks["Q"], networks["pi"])
    agent_class = {"td3": td3_agent, "sac": sac_agent, "crossq": crossq_agent}[algo]
    return agent_class(config, networks["Q1"], networks["Q2"], networks["pi"])


def parse_overrides(pairs):
    """['learning_rate=3e-4', 'seed=1'] -> {'learning_rate': 0.0003, 'seed': 1}."""
    config = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --set takes key=value, got '{pair}'")
        try:
            config[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            config[key] = value  # a bare word such as ou
    return config


def save_checkpoint(path, algo, env_id, config, hidden_sizes, networks, episode_returns):
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "algo": algo,
            "env_id": env_id,
            "config": config,
            "hidden_sizes": list(hidden_sizes),
            "networks": {name: net.state_dict() for name, net in networks.items()},
            "episode_returns": [float(r) for r in episode_returns],
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
        for name, net in networks.items():
            net.load_state_dict(checkpoint["networks"][name])
    except Exception as error:  # a wrong format, algorithm, environment or network shape
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SystemExit(f"error: '{path}' does not hold this package's networks: {reason}") from None
    return checkpoint, env, networks


def train_command(args):
    config = {**parse_overrides(args.set), "seed": args.seed}
    torch.manual_seed(args.seed)  # the networks' initial weights
    env = gym.make(args.env)
    networks = build_networks(args.algo, env, tuple(args.hidden))
    try:
        agent = build_agent(args.algo, config, networks)
        if args.target_return is None:
            episode_returns = agent.train(env, args.steps)
        else:
            episode_returns = train_until(agent, env, networks["pi"], args)
    except (ValueError, TypeError) as error:
        raise SystemExit(f"error: {error}") from None

    out = Path(args.out or f"runs/{args.algo}-{args.env}-seed{args.seed}")
    out.mkdir(parents=True, exist_ok=True)

    checkpoint = out / "checkpoint.pt"
    save_checkpoint(checkpoint, args.algo, args.env, agent.config, args.hidden, networks, episode_returns)
    plot_learning_curve(episode_returns, label=f"{args.algo.upper()} on {args.env}").figure.savefig(
        out / "learning_curve.png", dpi=100, bbox_inches="tight"
    )
    report = evaluation_report(env, networks["pi"], args.episodes, out)
    lines = [f"checkpoint:     {checkpoint}", f"learning curve: {out / 'learning_curve.png'}"]
    lines.append(f"evaluation:     {out / 'evaluation.json'} ({report})")
    if not args.no_video:
        lines.append(f"video:          {record_video(args.env, networks['pi'], out / 'policy.mp4')}")
    print("\n".join(lines))


def train_until(agent, env, policy, args):
    """Train in chunks of --eval-every steps; stop once the evaluated mean return reaches --target-return."""
    agent.config["tqdm_disable"] = True  # one progress bar for the whole run instead of one per chunk
    eval_env, episode_returns = gym.make(args.env), []
    with tqdm(total=args.steps, desc=args.algo.upper(), unit="step") as progress:
        while agent.env_steps < args.steps:
            episode_returns += agent.train(env, min(args.eval_every, args.steps - agent.env_steps))
            mean, _ = evaluate(eval_env, policy, n_episodes=10, seed=20_000)
            progress.update(agent.env_steps - progress.n)
            progress.set_postfix(evaluated_return=f"{mean:.0f}")
            if mean >= args.target_return:
                break
    print(f"evaluated mean return {mean:.1f} after {agent.env_steps} environment steps")
    return episode_returns


def evaluation_report(env, policy, episodes, out):
    mean, std = evaluate(env, policy, n_episodes=episodes, seed=10_000)
    summary = {"mean_return": mean, "std_return": std, "episodes": episodes}
    (out / "evaluation.json").write_text(json.dumps(summary, indent=2) + "\n")
    return f"mean return {mean:.1f} ± {std:.1f} over {episodes} episodes"


def evaluate_command(args):
    checkpoint, env, networks = load_checkpoint(args.checkpoint)
    out = Path(args.checkpoint).parent
    report = evaluation_report(env, networks["pi"], args.episodes, out)
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
    train.set_defaults(run=train_command)
    evaluate_parser = commands.add_parser("evaluate", help="evaluate a saved checkpoint")
    evaluate_parser.add_argument("checkpoint")
    evaluate_parser.add_argument("--episodes", type=int, default=10)
    evaluate_parser.add_argument("--video", action="store_true", help="also write policy.mp4 beside it")
    evaluate_parser.set_defaults(run=evaluate_command)
    from solutions.sweep import add_sweep_command  # imported here: solutions.sweep imports this module

    add_sweep_command(commands)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
