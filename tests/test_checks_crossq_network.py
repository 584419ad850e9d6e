"""check_crossq_network passes the reference critic and critics written in other correct ways, and
names the mistake planted in a broken copy: one FAIL per mistake."""

import pytest
import torch
import torch.nn as nn

from solutions import checks
from solutions.crossq import crossQNetwork


def run(cls, capsys):
    result = checks.check_crossq_network(cls)
    return result, capsys.readouterr().out.strip().splitlines()


class Critic(nn.Module):
    """A CrossQ critic with its parts as options, to plant one mistake at a time."""

    def __init__(self, env, hidden_sizes=(256, 256), momentum=0.01, input_norm=True, hidden_norm=True,
                 squeeze=True, widths=None, use_action=True, extra=False, order="relu, bn"):
        super().__init__()
        obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
        self.squeeze, self.use_action = squeeze, use_action
        layers, n = [nn.BatchNorm1d(obs_dim + act_dim, momentum=momentum)] if input_norm else [], obs_dim + act_dim
        for width in widths or hidden_sizes:
            norm = [nn.BatchNorm1d(width, momentum=momentum)] if hidden_norm else []
            layers += [nn.Linear(n, width), *([nn.ReLU(), *norm] if order == "relu, bn" else [*norm, nn.ReLU()])]
            n = width
        self.net = nn.Sequential(*layers, nn.Linear(n, 1))
        self.extra = nn.Linear(3, 3) if extra else None

    def forward(self, state, action):
        action = action if self.use_action else torch.zeros_like(action)
        out = self.net(torch.cat([state, action], dim=-1))
        return out.squeeze(-1) if self.squeeze else out


def critic(**options):
    class Planted(Critic):
        def __init__(self, env, hidden_sizes=(256, 256)):
            super().__init__(env, hidden_sizes, **options)

    return Planted


class SeparateNorms(nn.Module):
    """BN of s and BN of a, then concatenated: the same as BN of [s, a], since BN works per feature."""

    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
        self.state_norm = nn.BatchNorm1d(obs_dim, momentum=0.01)
        self.action_norm = nn.BatchNorm1d(act_dim, momentum=0.01)
        self.hidden = nn.ModuleList()
        n = obs_dim + act_dim
        for width in hidden_sizes:
            self.hidden.append(nn.Sequential(nn.Linear(n, width), nn.ReLU(), nn.BatchNorm1d(width, momentum=0.01)))
            n = width
        self.out = nn.Linear(n, 1)

    def forward(self, state, action):
        x = torch.cat([self.state_norm(state), self.action_norm(action)], dim=-1)
        for layer in self.hidden:
            x = layer(x)
        return self.out(x)[:, 0]


@pytest.mark.parametrize("cls", [crossQNetwork, critic(), critic(order="bn, relu"), SeparateNorms],
                         ids=["reference", "options", "bn before relu", "separate norms"])
def test_a_correct_critic_passes_every_property(cls, capsys):
    result, lines = run(cls, capsys)
    assert result is True, lines
    assert len(lines) >= 6 and all(line.startswith("PASS ") for line in lines), lines


PLANTED = [
    ("(B, 1)", critic(squeeze=False), "shape (B,)", "no squeeze(-1)"),
    ("fixed widths", critic(widths=(64, 64)), "hidden_sizes", "hidden_sizes is not used"),
    ("no BN at all", critic(input_norm=False, hidden_norm=False), "batch normalisation", "no nn.BatchNorm1d"),
    ("no input BN", critic(input_norm=False), "batch normalisation", "[s, a] is not normalised"),
    ("no hidden BN", critic(hidden_norm=False), "batch normalisation", "no BN after the hidden layer of width 24"),
    ("Flax momentum", critic(momentum=0.99), "momentum", "Flax's convention"),
    ("default momentum", critic(momentum=0.1), "momentum", "default momentum 0.1"),
    ("ignores the action", critic(use_action=False), "depends on the state and on the action", "action is not fed"),
    ("unused layer", critic(extra=True), "gradients reach every parameter", "no gradient reaches extra.weight"),
]


@pytest.mark.parametrize(("name", "cls", "property_text", "hint"), PLANTED, ids=[p[0] for p in PLANTED])
def test_a_planted_mistake_gives_one_fail_naming_it(name, cls, property_text, hint, capsys):
    result, lines = run(cls, capsys)
    failures = [line for line in lines if line.startswith("FAIL ")]
    assert result is False and len(failures) == 1, "\n".join(lines)
    assert property_text in failures[0].split(": ")[0] and hint in failures[0], failures[0]


def test_the_check_leaves_the_callers_random_state_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    checks.check_crossq_network(crossQNetwork)
    assert torch.equal(torch.rand(3), expected)
