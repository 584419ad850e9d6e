"""The instructors' command line: checkpoints, their errors, and a video written with no display."""

import csv
import json
import os
import subprocess
import sys

import gymnasium as gym
import pytest
import torch

from solutions.evaluation import evaluate, record_video
from solutions.tooling.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from solutions.tooling.cli import main
from solutions.tooling.device import describe_device, pick_device
from solutions.tooling.registry import build_networks


@pytest.mark.parametrize("algo", ["td3", "crossq"])
def test_train_then_evaluate_round_trip(algo, tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--algo", algo, "--steps", "300", "--seed", "1", "--out", str(out), "--hidden", "16", "16",
          "--set", "delay_learning=100", "batch_size=32", "tqdm_disable=True", "--episodes", "2", "--no-video"])
    printed = capsys.readouterr().out
    assert "checkpoint:" in printed and (out / "learning_curve.png").stat().st_size > 1000
    device_lines = [line for line in printed.splitlines() if line.startswith("Training on the ")]
    assert device_lines == [describe_device(pick_device("auto"))]  # --device auto: said once
    summary = json.loads((out / "evaluation.json").read_text())
    checkpoint, env, networks = load_checkpoint(out / "checkpoint.pt")
    assert checkpoint["algo"] == algo and checkpoint["config"]["delay_learning"] == 100
    assert checkpoint["config"]["seed"] == 1 and checkpoint["hidden_sizes"] == [16, 16]
    # the reloaded policy is the trained one: same evaluation, same weights
    mean, std = evaluate(env, networks["pi"], n_episodes=2, seed=10_000)
    assert (mean, std) == (summary["mean_return"], summary["std_return"])
    main(["evaluate", str(out / "checkpoint.pt"), "--episodes", "2", "--device", "cpu"])
    printed = capsys.readouterr().out
    assert f"mean return {mean:.1f}" in printed and printed.startswith("Evaluating on the CPU (")


def test_device_cpu_trains_there_even_beside_a_gpu(tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--algo", "sac", "--steps", "120", "--out", str(out), "--hidden", "8", "--device", "cpu",
          "--set", "delay_learning=100", "batch_size=16", "tqdm_disable=True", "--episodes", "1", "--no-video"])
    assert capsys.readouterr().out.startswith(describe_device("cpu") + "\n")


def test_checkpoint_holds_every_network(tmp_path):
    env = gym.make("InvertedPendulum-v5")
    networks = build_networks("sac", env, (8,))
    save_checkpoint(tmp_path / "c.pt", "sac", "InvertedPendulum-v5", {"alpha": 0.1}, (8,), networks, [1.0])
    _, _, loaded = load_checkpoint(tmp_path / "c.pt")
    assert set(loaded) == {"Q1", "Q2", "pi"}
    for name in networks:
        for a, b in zip(networks[name].state_dict().values(), loaded[name].state_dict().values()):
            assert torch.equal(a, b)


@pytest.mark.parametrize("content, message", [
    (b"not a checkpoint at all", "is not a readable checkpoint"),
    (None, "does not hold this package's networks"),
])
def test_corrupt_or_foreign_file_is_a_one_line_error(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"weights": torch.zeros(3)}, path)  # a torch file, but not one of ours
    else:
        path.write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "solutions", "evaluate", str(path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_checkpoint_says_how_to_make_one(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at .* python -m solutions train"):
        load_checkpoint(tmp_path / "nothing.pt")
    with pytest.raises(SystemExit, match="error: no checkpoint at .* python -m solutions train"):
        main(["evaluate", str(tmp_path / "nothing.pt")])


def test_unknown_config_key_from_the_command_line(tmp_path):
    with pytest.raises(SystemExit, match="does not know the config key 'gama'. Did you mean 'gamma'"):
        main(["train", "--steps", "10", "--set", "gama=0.9", "--no-video", "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()  # nothing written for a run that did not start


def test_video_is_written_with_no_display(tmp_path):
    # A fresh process with no display and no MUJOCO_GL: the package must pick a backend itself.
    unset = ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL", "PYOPENGL_PLATFORM")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    code = (
        "from solutions.evaluation import record_video; "
        f"print(record_video('InvertedPendulum-v5', None, r'{tmp_path / 'random.mp4'}', seed=0))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    video = tmp_path / "random.mp4"
    assert video.stat().st_size > 1000
    assert video.read_bytes()[4:8] == b"ftyp"  # an MP4 container


def test_video_of_a_policy_shows_a_whole_episode(tmp_path):
    env = gym.make("InvertedPendulum-v5")
    policy = build_networks("ddpg", env, (8,))["pi"]
    path = record_video("InvertedPendulum-v5", policy, tmp_path / "policy.mp4", max_steps=30)
    assert path.stat().st_size > 1000


def test_training_stops_once_the_target_return_is_reached(tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--algo", "ddpg", "--steps", "2000", "--out", str(out), "--hidden", "8", "--no-video",
          "--set", "delay_learning=100", "batch_size=16", "--target-return", "0", "--eval-every", "200"])
    # any return is >= 0: the first evaluation, after 200 steps, stops the run
    assert "after 200 environment steps" in capsys.readouterr().out


def train_sac(out, *extra, steps=2000):
    main(["train", "--algo", "sac", "--steps", str(steps), "--seed", "3", "--out", str(out), "--hidden", "16", "16",
          "--set", "batch_size=32", "tqdm_disable=True", "--episodes", "1", "--no-video", *extra])
    return torch.load(out / "checkpoint.pt", weights_only=True)


def test_train_writes_metrics_tensorboard_events_and_a_curve_against_steps(tmp_path, monkeypatch, capsys):
    from matplotlib.figure import Figure
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    x_labels = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda figure, *a, **k: (x_labels.append(figure.axes[0].get_xlabel()),
                                                                     save(figure, *a, **k)))
    out = tmp_path / "run"
    train_sac(out, steps=1400)
    assert x_labels == ["environment steps"] and (out / "learning_curve.png").stat().st_size > 1000
    with open(out / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    # 1400 - 1000 + 1 = 401 updates: a row every 100
    assert len(rows) == 4 and [int(float(row["env_steps"])) for row in rows] == [1099, 1199, 1299, 1399]
    assert {"env_steps", "episodes", "critic_loss", "mean_q", "actor_loss", "alpha", "entropy",
            "updates_per_second"} <= set(rows[0])
    assert all(0 < float(row["alpha"]) < 0.2 for row in rows)  # α starts at 0.2 and falls while entropy > target
    events = EventAccumulator(str(out))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"losses/critic_loss", "losses/mean_q", "charts/alpha", "charts/entropy", "charts/episodic_return",
            "charts/evaluated_return"} <= set(scalars)
    assert [event.step for event in events.Scalars("losses/mean_q")] == [1099, 1199, 1299, 1399]
    assert events.Scalars("losses/mean_q")[-1].value == pytest.approx(float(rows[-1]["mean_q"]))


def test_resumed_run_equals_the_uninterrupted_one(tmp_path):
    whole = train_sac(tmp_path / "whole", steps=4000)
    saved = train_sac(tmp_path / "resumed", "--save-buffer", steps=2000)
    assert saved["run"]["training_state"]["episode"] is not None  # saved in the middle of an episode
    main(["train", "--resume", str(tmp_path / "resumed" / "checkpoint.pt"), "--steps", "2000", "--episodes", "1",
          "--no-video"])
    resumed = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)
    state_whole, state_resumed = whole["run"]["training_state"], resumed["run"]["training_state"]
    assert state_resumed["counters"]["env_steps"] == 4000
    assert state_resumed["history"]["updates"] == state_whole["history"]["updates"] == 3001  # one warm-up only
    assert resumed["run"]["episode_returns"] == whole["run"]["episode_returns"]
    assert resumed["run"]["episode_end_steps"] == whole["run"]["episode_end_steps"]
    for name, weights in whole["networks"].items():
        assert all(torch.equal(a, b) for a, b in zip(weights.values(), resumed["networks"][name].values()))


def test_resume_without_the_buffer_waits_for_one_batch_not_a_warm_up(tmp_path):
    train_sac(tmp_path / "run", steps=1100)
    main(["train", "--resume", str(tmp_path / "run" / "checkpoint.pt"), "--steps", "100", "--episodes", "1",
          "--no-video"])
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["run"]["training_state"]
    assert state["counters"]["env_steps"] == 1200
    # 101 updates before saving, then none for the 31 steps that refill one batch of 32, then one per step
    assert state["history"]["updates"] == 101 + 100 - 31
