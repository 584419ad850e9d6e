"""A small animation of a trained policy for the README: the SAC agent that `make demo` trains.

    make demo                                   # trains SAC on InvertedPendulum-v5, writes runs/demo/checkpoint.pt
    python benchmarks/policy_animation.py       # writes benchmarks/results/sac_inverted_pendulum.gif

One evaluation episode (seed 0) of the checkpoint's deterministic policy, rendered by MuJoCo (the package
picks a back end that works with no display), every `--every`-th frame of the first `--steps` steps, scaled
to `--size` pixels and written as a looping GIF with a few hundred kB at most.
"""

import argparse
from pathlib import Path

import gymnasium as gym
from PIL import Image

from solutions.evaluation import clip_to_space, policy_action
from solutions.tooling.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def frames_of(env_id, policy, steps, every, seed=0):
    env = gym.make(env_id, render_mode="rgb_array")
    state, _ = env.reset(seed=seed)
    frames = [env.render()]
    for step in range(1, steps + 1):
        state, _, terminated, truncated, _ = env.step(clip_to_space(policy_action(policy, state), env.action_space))
        if step % every == 0:
            frames.append(env.render())
        if terminated or truncated:
            break
    env.close()
    return frames


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "runs" / "demo" / "checkpoint.pt"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sac_inverted_pendulum.gif"))
    parser.add_argument("--steps", type=int, default=300, help="environment steps shown")
    parser.add_argument("--every", type=int, default=3, help="keep one frame in this many")
    parser.add_argument("--size", type=int, default=200, help="width and height in pixels")
    args = parser.parse_args()
    checkpoint, _, networks = load_checkpoint(args.checkpoint)
    frames = frames_of(checkpoint["env_id"], networks["pi"], args.steps, args.every)
    images = [Image.fromarray(frame).resize((args.size, args.size), Image.LANCZOS).quantize(colors=64)
              for frame in frames]
    fps = gym.make(checkpoint["env_id"]).metadata.get("render_fps", 25) / args.every
    images[0].save(args.out, save_all=True, append_images=images[1:], loop=0, duration=round(1000 / fps),
                   optimize=True)
    print(f"{args.out}: {len(images)} frames, {Path(args.out).stat().st_size / 1000:.0f} kB "
          f"({checkpoint['algo'].upper()} on {checkpoint['env_id']})")


if __name__ == "__main__":
    main()
