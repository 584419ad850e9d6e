"""Properties that the deterministic actor and the squashed-Gaussian policy share: actions within an
asymmetric action space, and action_scale and action_bias registered as buffers."""

from copy import deepcopy

import torch

from solutions.checks.fixtures import BIAS, HIGH, LOW, SCALE
from solutions.checks.report import Failure, numbers, tensor


def check_within_bounds(actions, look_at):
    """Actions within [LOW, HIGH], or a FAIL that says how they were most likely produced."""
    actions = tensor(actions, "the action", look_at).detach()
    low, high = torch.as_tensor(LOW), torch.as_tensor(HIGH)
    if torch.all((actions >= low - 1e-5) & (actions <= high + 1e-5)):
        return
    largest = actions.abs().amax(dim=0)
    if torch.all(largest <= 1 + 1e-5):
        mistake = (
            "no action scaling / no bias: tanh gives (-1, 1); multiply by action_scale = (high - low) / 2 "
            "and add action_bias = (high + low) / 2"
        )
    elif torch.all(largest <= SCALE + 1e-5):
        mistake = "action scaling without the bias: add action_bias = (high + low) / 2 after scaling"
    elif torch.all(largest <= torch.maximum(low.abs(), high.abs()) + 1e-5):
        mistake = "scaling by high (or by max |bound|): right only when the bounds are symmetric about zero"
    else:
        mistake = "no tanh (an unbounded output): squash the last layer's output with tanh, then scale"
    raise Failure(
        f"actions reach {numbers(actions.amin(0))} to {numbers(actions.amax(0))}, outside the bounds "
        f"low = {numbers(LOW)}, high = {numbers(HIGH)}",
        mistake,
        look_at,
    )


def check_scale_and_bias(report, policy, name):
    """action_scale and action_bias: the right values, registered as buffers."""

    @report.check("action_scale = (high - low) / 2 and action_bias = (high + low) / 2", f"{name}.__init__")
    def values():
        for attribute, expected in (("action_scale", SCALE), ("action_bias", BIAS)):
            if not hasattr(policy, attribute):
                raise Failure(
                    f"the network has no attribute {attribute}",
                    "the agents read pi.action_scale and pi.action_bias (to scale noise and to clip): "
                    "register them with self.register_buffer",
                    f"{name}.__init__",
                )
            value = torch.as_tensor(getattr(policy, attribute)).detach().float().cpu()
            if value.shape != expected.shape or not torch.allclose(value, expected):
                raise Failure(
                    f"{attribute} = {numbers(value)} for low = {numbers(LOW)}, high = {numbers(HIGH)}",
                    "action_scale = (high - low) / 2 and action_bias = (high + low) / 2, per dimension",
                    f"{name}.__init__",
                )

    @report.check("action_scale and action_bias are buffers (not trained) that follow .to()", name)
    def buffers():
        for attribute in ("action_scale", "action_bias"):
            if attribute in dict(policy.named_parameters()):
                raise Failure(
                    f"{attribute} is an nn.Parameter",
                    "the optimizer would train the bounds: use self.register_buffer (moved and saved with "
                    "the network, but not trained)",
                    f"{name}.__init__",
                )
            if attribute not in dict(policy.named_buffers()):
                raise Failure(
                    f"{attribute} is not a registered buffer",
                    "a plain tensor attribute: .to(device) does not move it and the state_dict does not "
                    "save it. Use self.register_buffer",
                    f"{name}.__init__",
                )
        moved = deepcopy(policy).to(torch.float64)
        if moved.action_scale.dtype != torch.float64 or moved.action_bias.dtype != torch.float64:
            raise Failure(
                "after .to(torch.float64), action_scale or action_bias kept their dtype",
                "they do not follow .to(): use self.register_buffer",
                f"{name}.__init__",
            )
