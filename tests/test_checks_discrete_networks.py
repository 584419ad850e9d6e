"""The checks of discrete SAC's networks (solutions/checks/discrete_networks.py) pass the reference
networks, and name the mistake planted in a broken copy of each: one mistake, one FAIL."""

import time

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions import checks
from solutions.sac_discrete import categoricalPolicy, discreteQNetwork, sac_discrete_agent

# --- Planted mistakes in the critic ---------------------------------------------------------


class QOneValue(discreteQNetwork):
    """One output, as the continuous critic: Q(s) of shape (B, 1)."""

    def __init__(self, env, hidden_sizes=(64, 64)):
        super().__init__(env, hidden_sizes)
        self.net[-1] = nn.Linear(hidden_sizes[-1], 1)


class QBatchOnly(discreteQNetwork):
    def forward(self, state):
        return self.net(state.flatten(1))


class QUnusedLayer(discreteQNetwork):
    def __init__(self, env, hidden_sizes=(64, 64)):
        super().__init__(env, hidden_sizes)
        self.extra = nn.Linear(4, 4)


class QNoHiddenSizes(discreteQNetwork):
    def __init__(self, env):
        super().__init__(env)


# --- Planted mistakes in the policy ---------------------------------------------------------


class PolicyLogOfProbabilities(categoricalPolicy):
    def probabilities(self, state):
        probs = F.softmax(self.net(state), dim=-1)
        return probs, torch.log(probs)


class PolicySamplesGreedily(categoricalPolicy):
    def sample(self, state):
        return self.net(state).argmax(dim=-1)


class PolicySamplesWithTrailingOne(categoricalPolicy):
    def sample(self, state):
        probs, _ = self.probabilities(state)
        return torch.multinomial(probs.reshape(-1, self.n_actions), 1).reshape(*probs.shape[:-1], 1)


class PolicyForwardGivesProbabilities(categoricalPolicy):
    def forward(self, state):
        return self.probabilities(state)[0]


class PolicyDetachedLogits(categoricalPolicy):
    def probabilities(self, state):
        log_probs = F.log_softmax(self.net(state).detach(), dim=-1)
        return log_probs.exp(), log_probs


PLANTED = [
    ("check_discrete_q_network", QOneValue, "has shape (B, n)", "does not output env.action_space.n values"),
    ("check_discrete_q_network", QBatchOnly, "has shape (B, n)", "use dim=-1"),
    ("check_discrete_q_network", QUnusedLayer, "gradients reach every parameter", "no gradient reaches extra.weight"),
    ("check_discrete_q_network", QNoHiddenSizes, "hidden_sizes=(16, 16)", "TypeError"),
    ("check_categorical_policy", PolicyLogOfProbabilities, "extreme", "F.log_softmax"),
    ("check_categorical_policy", PolicySamplesGreedily, "sample(s) draws", "takes the greedy action"),
    ("check_categorical_policy", PolicySamplesWithTrailingOne, "sample(s) draws", "expected (64,) and torch.int64"),
    ("check_categorical_policy", PolicyForwardGivesProbabilities, "greedy action", "return their argmax"),
    ("check_categorical_policy", PolicyDetachedLogits, "gradients reach every parameter", "no gradient reaches"),
]
REFERENCES = {"check_discrete_q_network": discreteQNetwork, "check_categorical_policy": categoricalPolicy}


def run(check_name, cls, capsys):
    result = getattr(checks, check_name)(cls)
    return result, capsys.readouterr().out.strip().splitlines()


@pytest.mark.parametrize("check_name", REFERENCES)
def test_the_reference_network_passes_every_property_quickly(check_name, capsys):
    start = time.perf_counter()
    result, lines = run(check_name, REFERENCES[check_name], capsys)
    assert time.perf_counter() - start < 2.0
    assert result is True and len(lines) >= 5
    assert all(line.startswith("PASS ") for line in lines), lines


@pytest.mark.parametrize(
    ("check_name", "cls", "property_text", "hint"), PLANTED, ids=[cls.__name__ for _, cls, _, _ in PLANTED]
)
def test_a_planted_mistake_gives_one_fail_naming_it(check_name, cls, property_text, hint, capsys):
    result, lines = run(check_name, cls, capsys)
    failures = [line for line in lines if line.startswith("FAIL ")]
    assert result is False
    assert len(failures) == 1, "\n".join(failures)
    assert property_text in failures[0].split(":")[0] and hint in failures[0], failures[0]
    assert ". Likely mistake: " in failures[0] and ". Look at: " in failures[0]


@pytest.mark.parametrize("check_name", REFERENCES)
def test_a_network_that_cannot_be_built_gives_a_fail_line(check_name, capsys):
    class Broken(nn.Module):
        def __init__(self, *args):
            raise RuntimeError("not written yet")

    result, lines = run(check_name, Broken, capsys)
    assert result is False and lines and all(line.startswith("FAIL ") for line in lines)
    assert "raised RuntimeError: not written yet" in lines[0]


def test_the_agent_check_builds_the_networks_it_is_given(capsys):
    """check_sac_discrete_agent(agent, Q, pi) builds the agent with the given network classes."""
    built = []

    class CountedQ(discreteQNetwork):
        def __init__(self, env, hidden_sizes=(64, 64)):
            super().__init__(env, hidden_sizes)
            built.append("Q")

    class CountedPolicy(categoricalPolicy):
        def __init__(self, env, hidden_sizes=(64, 64)):
            super().__init__(env, hidden_sizes)
            built.append("pi")

    assert checks.check_sac_discrete_agent(sac_discrete_agent, CountedQ, CountedPolicy) is True
    assert built.count("Q") >= 2 and built.count("pi") >= 1
    assert all(line.startswith("PASS ") for line in capsys.readouterr().out.strip().splitlines())
