"""Checks for the networks of notebook 1 (solutions/networks.py): the critic QNetwork and the
deterministic actor policyNetwork, each alone or both at once (check_networks, the exercise's check cell)."""

from copy import deepcopy

import numpy as np
import torch

from solutions.checks.fixtures import ACT_DIM, BIAS, HIGH, LOW, OBS_DIM, SCALE, fake_env
from solutions.checks.policy_properties import check_scale_and_bias, check_within_bounds
from solutions.checks.report import Failure, NotJudged, Report, isolated, numbers, shape, tensor


@isolated
def check_q_network(QNetwork):
    """Check a critic class: QNetwork(env), and forward(state, action) -> Q-values of shape (B,) for a batch.
    (One pair at a time is not checked: nothing in the course calls the critic on one pair.)"""
    report, name = Report(QNetwork), getattr(QNetwork, "__name__", "QNetwork")
    Q = report.build(f"{name}(env) builds", lambda: QNetwork(fake_env()), f"{name}.__init__")
    if Q is None:
        return False
    forward = f"{name}.forward"
    S, A = torch.randn(5, OBS_DIM), BIAS + SCALE * torch.rand(5, ACT_DIM)

    @report.check("Q(s, a) for a batch has shape (B,), not (B, 1)", forward)
    def batch_shape():
        out = tensor(Q(S, A), "Q(s, a)", forward)
        if out.shape == (5, 1):
            raise Failure(
                "for a batch of 5 pairs, Q(s, a) has shape (5, 1), expected (5,)",
                "the trailing dimension of 1 is kept: (B, 1) - (B,) broadcasts to (B, B) in the critic's loss "
                "without any error. Drop it in forward, e.g. with .squeeze(-1)",
                forward,
            )
        if out.shape != (5,):
            raise Failure(
                f"for a batch of 5 pairs, Q(s, a) has shape {shape(out)}, expected (5,)",
                "the last layer does not output one value, or state and action are not concatenated "
                "along the last dimension",
                forward,
            )

    @report.check("Q(s, a) is float32", forward)
    def dtype():
        if Q(S, A).dtype != torch.float32:
            raise Failure(f"Q(s, a) has dtype {Q(S, A).dtype}", "a conversion to float64 in forward", forward)

    @report.check("gradients reach every parameter", forward)
    def gradients():
        if not list(Q.parameters()):
            raise Failure(
                "the network has no parameters",
                "layers kept in a plain Python list (use nn.Sequential or nn.ModuleList) or built in forward",
                f"{name}.__init__",
            )
        Q.zero_grad(set_to_none=True)
        Q(S, A).sum().backward()
        dead = [n for n, p in Q.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
        if dead:
            raise Failure(
                f"no gradient reaches {', '.join(dead)}",
                "a layer defined in __init__ but not used in forward, or a .detach(), .item() or NumPy "
                "conversion inside forward",
                forward,
            )

    for varied in ("action", "state"):

        @report.check(f"Q(s, a) depends on the {varied}", forward)
        def depends(varied=varied):
            with torch.no_grad():
                if varied == "action":
                    other = Q(S, BIAS + SCALE * torch.rand(5, ACT_DIM))
                else:
                    other = Q(torch.randn(5, OBS_DIM), A)
                if torch.allclose(Q(S, A), other, atol=1e-7):
                    raise Failure(
                        f"Q(s, a) did not change when the {varied} changed",
                        f"the {varied} is not fed to the network: use torch.cat([state, action], dim=-1)",
                        forward,
                    )

    return report.all_passed


@isolated
def check_policy_network(policyNetwork):
    """Check a deterministic actor class: policyNetwork(env), and forward(state) -> action."""
    report, name = Report(policyNetwork), getattr(policyNetwork, "__name__", "policyNetwork")
    pi = report.build(f"{name}(env) builds", lambda: policyNetwork(fake_env()), f"{name}.__init__")
    if pi is None:
        return False
    forward = f"{name}.forward"
    large_inputs = 1000 * torch.randn(1024, OBS_DIM)  # they saturate tanh

    for label, states, expected in (
        ("one observation", torch.randn(OBS_DIM), (ACT_DIM,)),
        ("a batch", torch.randn(5, OBS_DIM), (5, ACT_DIM)),
    ):

        @report.check(f"π(s) for {label} has shape {expected}", forward)
        def shapes(states=states, expected=expected):
            out = tensor(pi(states), "π(s)", forward)
            if out.shape != expected:
                raise Failure(
                    f"π(s) has shape {shape(out)}, expected {expected}",
                    "the last layer does not output action_dim values, or a reshape / squeeze in forward",
                    forward,
                )
            if out.dtype != torch.float32:
                raise Failure(f"π(s) has dtype {out.dtype}", "a conversion to float64 in forward", forward)

    @report.check("actions stay within [low, high] on an asymmetric action space", forward)
    def within_bounds():
        with torch.no_grad():
            check_within_bounds(pi(large_inputs), f"{forward} and action_scale, action_bias in __init__")

    @report.check("actions cover the range: saturating inputs reach near low and high", forward)
    def covers_range():
        margin = 0.02 * (HIGH - LOW)

        def reached(highest, lowest):
            return np.all(highest >= HIGH - margin) and np.all(lowest <= LOW + margin)

        with torch.no_grad():
            actions = pi(large_inputs).numpy()
        if np.any(actions < LOW - 1e-5) or np.any(actions > HIGH + 1e-5):
            raise NotJudged("not judged while actions leave the bounds (see the FAIL on the bounds)")
        if reached(actions.max(0), actions.min(0)):
            return
        # A randomly initialised network may give one sign only on some dimension, whatever the
        # input. Then push a copy of it toward the bounds: half the states up, half down.
        copy, states = deepcopy(pi), torch.randn(64, OBS_DIM)
        optimizer = torch.optim.Adam(copy.parameters(), lr=1e-2)
        for _ in range(100):
            actions = copy(states)
            up, down = actions[:32], actions[32:]
            if reached(up.detach().numpy().max(0), down.detach().numpy().min(0)):
                return
            optimizer.zero_grad()
            (down.mean() - up.mean()).backward()
            optimizer.step()
        raise Failure(
            f"for saturating inputs, and after 100 gradient steps toward the bounds, actions stay within "
            f"{numbers(down.detach().min(0).values)} to {numbers(up.detach().max(0).values)}, not near "
            f"low = {numbers(LOW)} and high = {numbers(HIGH)}",
            "the output does not cover the action range: tanh applied twice, a scale smaller than "
            "(high - low) / 2, or a sigmoid instead of tanh",
            forward,
        )

    @report.check("gradients reach every parameter", forward)
    def gradients():
        pi.zero_grad(set_to_none=True)
        pi(torch.randn(5, OBS_DIM)).sum().backward()
        dead = [n for n, p in pi.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
        if dead or not list(pi.parameters()):
            raise Failure(
                f"no gradient reaches {', '.join(dead) or 'any parameter'}",
                "a layer defined but not used in forward, layers kept in a Python list, or a .detach()",
                forward,
            )

    check_scale_and_bias(report, pi, name)
    return report.all_passed


def check_networks(QNetwork, policyNetwork):
    """Check both networks of the exercise: the critic's properties, then the actor's; True if all pass."""
    critic_passed = check_q_network(QNetwork)
    return check_policy_network(policyNetwork) and critic_passed
