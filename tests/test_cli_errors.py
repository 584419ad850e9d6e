"""Every command-line mistake is one line, before any step, and a trained checkpoint survives it byte
for byte; a run that fails mid-way saves the networks it has."""

import hashlib
import subprocess
import sys

import gymnasium as gym
import pytest
import torch

from solutions.tooling.checkpoint import load_checkpoint, save_checkpoint
from solutions.tooling.cli import main
from solutions.tooling.registry import build_networks

TINY = ["--algo", "ddpg", "--hidden", "8", "--episodes", "1", "--no-video",
        "--set", "delay_learning=50", "batch_size=16", "tqdm_disable=True"]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    main(["train", "--steps", "100", "--out", str(out), *TINY])
    return out


def cli_error(argv):
    """The message of the SystemExit that main(argv) raises: what the user sees on stderr."""
    with pytest.raises(SystemExit) as error:
        main(argv)
    message = str(error.value.code)
    assert "\n" not in message and message.startswith("error: "), message
    return message


MISTAKES = [
    (["--steps", "0"], "error: --steps is 0, but it must be a positive whole number, e.g. --steps 10"),
    (["--steps", "-5"], "error: --steps is -5, but it must be a positive whole number, e.g. --steps 10"),
    (["--episodes", "0"], "error: --episodes is 0, but it must be a positive whole number"),
    (["--eval-every", "0", "--target-return", "100"], "error: --eval-every is 0, but it must be a positive whole"),
    (["--hidden", "64", "0"], "error: --hidden 64 0: every layer width must be positive"),
    (["--env", "Pendulam-v1"], "error: unknown environment 'Pendulam-v1'; closest registered ids: Pendulum-v1"),
    (["--env", "NoSuchThing-v0"], "error: unknown environment 'NoSuchThing-v0'; gymnasium.pprint_registry() lists"),
    (["--env", "CartPole-v1"], "error: ddpg needs a continuous action space (gymnasium.spaces.Box), but this "
                               "environment's is "
                               "Discrete(2): choose sac_discrete."),
    (["--set", "learning_rate=3e-4x"], "error: --set learning_rate=3e-4x: learning_rate takes a positive number "
                                       "(Adam's step size), and '3e-4x' is not one; for example --set "
                                       "learning_rate=0.0003"),
    (["--set", "gamma=0.99x"], "error: --set gamma=0.99x: gamma takes a number with 0 < gamma <= 1 (the discount "
                               "factor), and '0.99x' is not one; for example --set gamma=0.99"),
    (["--set", "gamma=1.5"], "error: --set gamma=1.5: gamma takes a number with 0 < gamma <= 1"),
    (["--set", "tqdm_disable=yes"], "error: --set tqdm_disable=yes: tqdm_disable takes True or False, and 'yes' is "
                                    "not one; for example --set tqdm_disable=False"),
    (["--set", "batch_size=32.5"], "error: --set batch_size=32.5: batch_size takes a positive whole number"),
    (["--set", "noise_type=pink"], "error: --set noise_type=pink: noise_type takes 'gaussian' or 'ou', and 'pink' "
                                   "is not one; for example --set noise_type=gaussian"),
    (["--set", "gama=0.9"], "error: ddpg_agent does not know the config key 'gama'. Did you mean 'gamma'?"),
    (["--set", "batch_size=512", "buffer_size=256"], "error: ddpg_agent: config 'batch_size' is 512, larger than "
                                                     "'buffer_size' 256"),
    (["--set", "gamma"], "error: --set takes key=value, got 'gamma'"),
    (["--device", "cpu", "--set", "captured_update=True"], "error: a captured update (config captured_update=True) "
                                                           "needs the networks on a CUDA GPU, but this agent's are "
                                                           "on cpu: build them on the GPU"),
]


@pytest.mark.parametrize("mistake, message", MISTAKES)
def test_a_mistake_is_one_line_and_the_trained_checkpoint_survives_it(trained_run, mistake, message):
    checkpoint = trained_run / "checkpoint.pt"
    before = digest(checkpoint)
    # --overwrite: even when replacing the run is allowed, a mistake writes nothing.
    argv = ["train", "--out", str(trained_run), "--overwrite", *TINY, "--steps", "100", *mistake]
    assert cli_error(argv).startswith(message)
    assert digest(checkpoint) == before


def test_an_existing_checkpoint_is_replaced_only_with_overwrite(trained_run, tmp_path):
    before = digest(trained_run / "checkpoint.pt")
    message = cli_error(["train", "--steps", "100", "--out", str(trained_run), *TINY])
    assert message == (f"error: {trained_run / 'checkpoint.pt'} already exists; choose another --out, "
                       "or pass --overwrite to replace it")
    assert digest(trained_run / "checkpoint.pt") == before
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "checkpoint.pt").write_bytes((trained_run / "checkpoint.pt").read_bytes())
    main(["train", "--steps", "60", "--seed", "3", "--out", str(copy), "--overwrite", *TINY])
    replaced, _, _ = load_checkpoint(copy / "checkpoint.pt")
    assert replaced["config"]["seed"] == 3  # asked for, so replaced


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_is_one_line_before_anything_is_built(trained_run, monkeypatch):
    before = digest(trained_run / "checkpoint.pt")
    built = []
    monkeypatch.setattr("solutions.tooling.cli.make_agent", lambda *args: built.append(args))
    for command in (["train", "--out", str(trained_run), "--overwrite", *TINY, "--steps", "100"],
                    ["evaluate", str(trained_run / "checkpoint.pt")]):
        assert cli_error([*command, "--device", "cuda"]) == (
            "error: --device cuda: device 'cuda' was asked for, but torch sees no GPU (torch.cuda.is_available() is "
            "False): use 'auto' or 'cpu', or install a CUDA build of torch on a machine with a GPU.")
    assert built == [] and digest(trained_run / "checkpoint.pt") == before


def test_the_mistakes_print_one_line_and_no_traceback(trained_run):
    before = digest(trained_run / "checkpoint.pt")
    for mistake in (["--steps", "-5"], ["--env", "Pendulam-v1"], ["--set", "gamma=0.99x"]):
        result = subprocess.run(
            [sys.executable, "-m", "solutions", "train", "--out", str(trained_run), "--overwrite", *TINY, *mistake],
            capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    assert digest(trained_run / "checkpoint.pt") == before


class NaNRewardAt(gym.Wrapper):
    def __init__(self, env, at):
        super().__init__(env)
        self.at, self.steps = at, 0

    def step(self, action):
        state, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        return state, float("nan") if self.steps == self.at else reward, terminated, truncated, info


def test_a_run_that_dies_mid_way_saves_the_last_good_networks(tmp_path):
    gym.register("PendulumNaNAt137-v0", entry_point=lambda **kw: NaNRewardAt(gym.make("Pendulum-v1", **kw), 137))
    out = tmp_path / "run"
    try:
        message = cli_error(["train", "--steps", "300", "--env", "PendulumNaNAt137-v0", "--out", str(out), *TINY])
    finally:
        gym.registry.pop("PendulumNaNAt137-v0")
    assert message.startswith("error: step 137: env.step returned a non-finite reward (nan); training stopped")
    assert message.endswith(f"(the networks after 136 steps are saved in {out / 'checkpoint.pt'})")
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    weights = [w for state in saved["networks"].values() for w in state.values()]
    assert all(torch.isfinite(w).all() for w in weights)
    assert saved["episode_returns"] == [] and saved["env_id"] == "PendulumNaNAt137-v0"  # 200-step episodes
    torch.manual_seed(0)  # the CLI's seed: the networks as they were before training
    initial = build_networks("ddpg", gym.make("Pendulum-v1"), (8,))["pi"].state_dict()
    assert not torch.equal(saved["networks"]["pi"]["net.0.weight"], initial["net.0.weight"])  # 87 updates kept


def test_a_checkpoint_of_another_architecture_names_the_layer_and_both_shapes(tmp_path):
    env = gym.make("InvertedPendulum-v5")
    networks = build_networks("sac", env, (16, 16))
    path = tmp_path / "checkpoint.pt"
    # The record says hidden sizes (8,), the weights are of (16, 16) networks.
    save_checkpoint(path, "sac", "InvertedPendulum-v5", {}, (8,), networks, [1.0])
    before = digest(path)
    message = cli_error(["evaluate", str(path), "--episodes", "1"])
    assert message == (
        f"error: '{path}' has another architecture than the sac networks with hidden sizes [8] it records: "
        "layer Q1.net.0.weight is [16, 5] in the checkpoint but [8, 5] in the networks; it was not written "
        "by this package's train command"
    )
    assert digest(path) == before


def test_ctrl_c_between_chunks_saves_the_networks(tmp_path, monkeypatch):
    def interrupted_evaluation(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("solutions.tooling.runs.evaluate", interrupted_evaluation)
    out = tmp_path / "run"
    message = cli_error(["train", "--steps", "200", "--target-return", "0", "--eval-every", "60", "--out", str(out),
                         *TINY])
    assert message == f"error: stopped by Ctrl-C (the networks after 60 steps are saved in {out / 'checkpoint.pt'})"
    assert torch.load(out / "checkpoint.pt", weights_only=True)["algo"] == "ddpg"
