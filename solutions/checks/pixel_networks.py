"""Check for the networks of DDPG from pixels, notebook 5, section 3.1 (solutions/pixel_networks.py):
`pixel_networks(env)` returns a critic Q and an actor pi that read stacks of 4 grey 84x84 frames and
share one convolutional encoder, their attribute `encoder`."""

from copy import deepcopy

import torch
import torch.nn as nn

from solutions.checks.fixtures import ACT_DIM, BIAS, FRAMES, SCALE, SIDE, fake_pixel_env
from solutions.checks.policy_properties import check_scale_and_bias, check_within_bounds
from solutions.checks.report import Failure, NotJudged, Report, isolated, shape, tensor

B = 5  # stacks per batch
SHARED = "Q and pi share one encoder: Q.encoder is pi.encoder"


def pixels(batch=B, seed=0):
    """A batch of (4, 84, 84) stacks of pixel values 0..255, as uint8 (what the environment gives)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, FRAMES, SIDE, SIDE), generator=g, dtype=torch.uint8)


def actions(batch=B, seed=0):
    g = torch.Generator().manual_seed(seed)
    return BIAS + SCALE * (2 * torch.rand(batch, ACT_DIM, generator=g) - 1)


def dead_parameters(module, output, skip=()):
    """The names of the module's parameters (other than those in `skip`) that `output` gives no gradient."""
    module.zero_grad(set_to_none=True)
    output.sum().backward()
    skipped = {id(p) for p in skip}
    return [n for n, p in module.named_parameters()
            if id(p) not in skipped and (p.grad is None or p.grad.abs().sum() == 0)]


@isolated
def check_pixel_networks(pixel_networks):
    """Check a function (or class) pixel_networks(env) -> (Q, pi): a critic and an actor for frame
    stacks, which share one encoder (Q.encoder is pi.encoder)."""
    report = Report(pixel_networks)
    name = getattr(pixel_networks, "__name__", "pixel_networks")
    built = []

    @report.check(f"{name}(env) returns two modules, a critic Q and an actor pi", name)
    def builds():
        networks = pixel_networks(fake_pixel_env())
        if not (isinstance(networks, (tuple, list)) and len(networks) == 2):
            raise Failure(
                f"{name}(env) returned a {type(networks).__name__}",
                "return the critic and the actor as a pair: `return Q, pi`",
                name,
            )
        if not all(isinstance(network, nn.Module) for network in networks):
            raise Failure(
                f"{name}(env) returned a {type(networks[0]).__name__} and a {type(networks[1]).__name__}",
                "each network is an nn.Module, so that .to(device), .parameters() and deepcopy work",
                name,
            )
        built.extend(networks)

    if not built:
        return False
    Q, pi = built
    S, A = pixels(), actions()

    @report.check(SHARED, name)
    def shared_encoder():
        missing = [label for label, network in (("Q", Q), ("pi", pi)) if not hasattr(network, "encoder")]
        if missing:
            raise Failure(
                f"{' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} no attribute `encoder`",
                "keep the convolutional encoder as the attribute `encoder` of both networks: the agent trains "
                "it with the critic's loss only, and tells its parameters from the actor's own by it",
                name,
            )
        if Q.encoder is not pi.encoder:
            raise Failure(
                "Q.encoder and pi.encoder are two different modules",
                "each network builds an encoder of its own: build one encoder and give the same object to both",
                name,
            )
        if not isinstance(Q.encoder, nn.Module) or not list(Q.encoder.parameters()):
            raise Failure(
                f"Q.encoder is a {type(Q.encoder).__name__} with no parameters",
                "the encoder is an nn.Module holding the convolutions (e.g. an nn.Sequential)",
                name,
            )

    on_error = "the network fails on uint8 pixels: convert them in forward, e.g. pixels.float() / 255"

    @report.check("Q(s, a) for a batch of uint8 stacks (B, 4, 84, 84) has shape (B,), float32", "Q.forward", on_error)
    def critic_shape():
        out = tensor(Q(S, A), "Q(s, a)", "Q.forward")
        if out.shape == (B, 1):
            raise Failure(
                f"for a batch of {B} pairs, Q(s, a) has shape ({B}, 1), expected ({B},)",
                "the trailing dimension of 1 is kept: (B, 1) - (B,) broadcasts to (B, B) in the critic's loss "
                "without any error. Drop it in forward, e.g. with .squeeze(-1)",
                "Q.forward",
            )
        if out.shape != (B,):
            raise Failure(
                f"for a batch of {B} pairs, Q(s, a) has shape {shape(out)}, expected ({B},)",
                "the head does not output one value, or features and action are not concatenated along the "
                "last dimension",
                "Q.forward",
            )
        if out.dtype != torch.float32:
            raise Failure(f"Q(s, a) has dtype {out.dtype}", "a conversion to float64 in forward", "Q.forward")

    one_stack = ("one stack (C, H, W) is not turned into a batch of one: explore and the evaluation pass one "
                 "observation; unsqueeze(0) it, then drop the batch dimension again")
    for label, states, expected, hint in (
        ("a batch of uint8 stacks", S, (B, ACT_DIM), on_error),
        ("one uint8 stack (4, 84, 84)", S[0], (ACT_DIM,), one_stack),
    ):

        @report.check(f"pi(s) for {label} has shape {expected}, float32", "pi.forward", hint)
        def actor_shape(states=states, expected=expected):
            out = tensor(pi(states), "pi(s)", "pi.forward")
            if out.shape != expected:
                mistake = one_stack if states.dim() == 3 else (
                    "the head does not output act_dim values, or a reshape / squeeze in forward")
                raise Failure(f"pi(s) has shape {shape(out)}, expected {expected}", mistake, "pi.forward")
            if out.dtype != torch.float32:
                raise Failure(f"pi(s) has dtype {out.dtype}", "a conversion to float64 in forward", "pi.forward")

    @report.check("uint8 and float32 stacks of the same pixel values give the same Q and pi", "forward", on_error)
    def any_dtype():
        with torch.no_grad():
            pairs = {"Q": (Q(S, A), Q(S.float(), A)), "pi": (pi(S), pi(S.float()))}
        differ = [label for label, (from_uint8, from_float) in pairs.items()
                  if not torch.allclose(from_uint8.float(), from_float.float(), atol=1e-5)]
        if differ:
            raise Failure(
                f"{' and '.join(differ)} differ between uint8 pixels and the same values as float32",
                "the replay buffer gives float32 pixel values in 0..255, the environment uint8 ones: scale "
                "both the same way (pixels.float() / 255), whatever their dtype",
                "forward",
            )

    @report.check("actions stay within [low, high] on an asymmetric action space, even saturated", "pi.forward")
    def within_bounds():
        # Large weights saturate the tanh: a copy of the actor whose parameters are 30 times larger.
        saturated = deepcopy(pi)
        with torch.no_grad():
            for parameter in saturated.parameters():
                parameter.mul_(30.0)
            check_within_bounds(saturated(S.float()), "pi.forward and action_scale, action_bias in __init__")

    check_scale_and_bias(report, pi, "pi")

    for varied in ("action", "state"):

        @report.check(f"Q(s, a) depends on the {varied}", "Q.forward")
        def depends(varied=varied):
            with torch.no_grad():
                other = Q(S, actions(seed=1)) if varied == "action" else Q(pixels(seed=1), A)
                if torch.allclose(Q(S, A), other, atol=1e-7):
                    raise Failure(
                        f"Q(s, a) did not change when the {varied} changed",
                        f"the {varied} does not reach the head: concatenate the encoder's features of s with a",
                        "Q.forward",
                    )

    @report.check("gradients reach every parameter of Q, and every parameter of pi outside the encoder", "forward")
    def gradients():
        if SHARED in report.failed:
            raise NotJudged("not judged while the networks do not share an encoder (see the FAIL above)")
        dead = [f"Q.{n}" for n in dead_parameters(Q, Q(S, A))]
        dead += [f"pi.{n}" for n in dead_parameters(pi, pi(S), skip=list(pi.encoder.parameters()))]
        if dead:
            raise Failure(
                f"no gradient reaches {', '.join(dead[:4])}{' ...' if len(dead) > 4 else ''}",
                "a layer defined but not used in forward, layers kept in a Python list (use nn.Sequential or "
                "nn.ModuleList), or a .detach() in the critic",
                "forward",
            )

    return report.all_passed
