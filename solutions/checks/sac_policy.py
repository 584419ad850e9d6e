"""Check for the squashed-Gaussian policy of notebook 3 (solutions/sac_policy.py)."""

import numpy as np
import torch
import torch.nn.functional as F

from solutions.checks.fixtures import ACT_DIM, BIAS, OBS_DIM, SCALE, fake_env
from solutions.checks.policy_properties import check_scale_and_bias, check_within_bounds
from solutions.checks.report import Failure, NotJudged, Report, isolated, shape, tensor


@isolated
def check_squashed_gaussian_policy(squashedGaussianPolicy):
    """Check a SAC policy class: mean_and_log_std(s), sample(s) -> (a, log π(a|s)), forward(s)."""
    report, name = Report(squashedGaussianPolicy), getattr(squashedGaussianPolicy, "__name__", "policy")
    pi = report.build(f"{name}(env) builds", lambda: squashedGaussianPolicy(fake_env()), f"{name}.__init__")
    if pi is None:
        return False
    sample, forward = f"{name}.sample", f"{name}.forward"
    moderate, large = torch.randn(64, OBS_DIM), 1000 * torch.randn(256, OBS_DIM)

    on_error = "sum(1) or cat(..., dim=1) works only for batches: use dim=-1"

    @report.check("sample gives actions (B, act) and log π (B,); (act,) and () for one observation", sample, on_error)
    def shapes():
        for states, expected in ((moderate, (64, ACT_DIM)), (moderate[0], (ACT_DIM,))):
            action, log_prob = pi.sample(states)
            if tensor(action, "the action", sample).shape != expected:
                raise Failure(f"actions have shape {shape(action)}, expected {expected}", "a reshape", sample)
            if tensor(log_prob, "log π", sample).shape != expected[:-1]:
                if log_prob.shape == expected:
                    mistake = "log π is not summed over the action dimensions: sum(dim=-1)"
                elif log_prob.shape == (*expected[:-1], 1):
                    mistake = "log π keeps a trailing dimension of 1: sum(dim=-1) without keepdim"
                else:
                    mistake = "log π is summed over the batch too: sum over the last dimension only"
                raise Failure(f"log π has shape {shape(log_prob)}, expected {expected[:-1]}", mistake, sample)

    @report.check("sampled actions stay within [low, high] on an asymmetric action space", sample)
    def within_bounds():
        with torch.no_grad():
            for states in (moderate, large):
                check_within_bounds(pi.sample(states)[0], f"{sample} (action_scale, action_bias)")

    @report.check("log π equals TransformedDistribution(Normal, [Tanh, Affine]) within 1e-4", sample)
    def log_prob_matches():
        torch.manual_seed(5)
        action, log_prob = pi.sample(moderate)
        with torch.no_grad():
            mean, log_std = (t.double() for t in pi.mean_and_log_std(moderate))
            action, log_prob = action.detach().double(), log_prob.detach().double().reshape(-1)
            scale, bias = SCALE.double(), BIAS.double()
            torch.manual_seed(5)  # the same noise ε, if it is drawn with torch.randn_like(mean)
            u = mean + log_std.exp() * torch.randn_like(mean.float()).double()
            rows = torch.ones(len(moderate), dtype=torch.bool)
            if not torch.allclose(torch.tanh(u) * scale + bias, action, atol=1e-5):
                # ε drawn in another way: recover u from the action, on the rows where tanh(u) is far
                # enough from ±1 for that to be accurate.
                u = torch.atanh(((action - bias) / scale).clamp(-1 + 1e-12, 1 - 1e-12))
                rows = u.abs().amax(dim=1) < 1.5
            normal = torch.distributions.Normal(mean, log_std.exp())
            transforms = [
                torch.distributions.TanhTransform(),
                torch.distributions.AffineTransform(bias, scale),
            ]
            squashed = torch.distributions.TransformedDistribution(normal, transforms)
            expected = squashed.log_prob(torch.tanh(u) * scale + bias).sum(-1)
            gaussian = normal.log_prob(u).sum(-1)
            tanh_term = (2 * (np.log(2) - u - F.softplus(-2 * u))).sum(-1)  # Σ log(1 - tanh²(u))
            scale_term = torch.log(scale).sum()
        if log_prob.shape != expected.shape:
            raise Failure(f"log π has shape {shape(log_prob)}", "see the property on shapes", sample)
        gap = (log_prob - expected)[rows].abs().max().item()
        if gap < 1e-4:
            return
        variants = {
            "the tanh correction - Σ log(1 - tanh²(u)) is missing (trick 1)": gaussian - scale_term,
            "the action-scale term - Σ log(action_scale) is missing (the affine map to [low, high] changes "
            "densities too)": gaussian - tanh_term,
            "both the tanh correction and the action-scale term are missing": gaussian,
            "the tanh correction is added instead of subtracted": gaussian + tanh_term - scale_term,
        }
        mistake = next(
            (text for text, variant in variants.items() if (log_prob - variant)[rows].abs().max() < 1e-4),
            "log π(a|s) = Σ_i [log N(u_i; μ_i, σ_i²) - log(1 - tanh²(u_i)) - log(action_scale_i)], with "
            "the same u that gave the action",
        )
        raise Failure(f"log π differs from TransformedDistribution(...).log_prob by up to {gap:.3g}", mistake, sample)

    @report.check("log π is finite for large pre-tanh values", sample)
    def finite_when_saturated():
        with torch.no_grad():
            action, log_prob = pi.sample(large)
        infinite = int((~torch.isfinite(tensor(log_prob, "log π", sample))).sum())
        if infinite and pi.mean_and_log_std(large)[1].max() > 2 + 1e-5:
            raise NotJudged("not judged while log σ is unbounded (see the property on log σ)")
        if infinite:
            raise Failure(
                f"log π is inf or nan on {infinite} of 256 rows where the pre-tanh value u is large",
                "log(1 - tanh(u)²) is log(0) once tanh(u) rounds to ±1 (|u| > 9 or so): write it as "
                "2 (log 2 - u - softplus(-2u)), which is exact (an epsilon inside the log changes the density)",
                sample,
            )
        if not torch.all(torch.isfinite(action)):
            raise Failure("sampled actions are not finite for large inputs", "a division by σ", sample)

    @report.check("log σ stays within [-5, 2]", f"{name}.mean_and_log_std")
    def log_std_range():
        with torch.no_grad():
            log_std = torch.cat([pi.mean_and_log_std(states)[1] for states in (moderate, large)])
        if log_std.min() < -5 - 1e-5 or log_std.max() > 2 + 1e-5:
            raise Failure(
                f"log σ ranges from {log_std.min():.3g} to {log_std.max():.3g}",
                "log σ is not kept in [LOG_STD_MIN, LOG_STD_MAX] = [-5, 2] (trick 2): squash it with "
                "LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) (tanh(x) + 1) / 2, or clamp it",
                f"{name}.mean_and_log_std",
            )

    @report.check("sample is reparametrised (gradients reach μ and σ through the action)", sample)
    def reparametrised():
        action, log_prob = pi.sample(moderate)
        if not action.requires_grad:
            raise Failure(
                "the sampled action carries no graph",
                "the action is drawn with .sample() (no reparametrisation) or under torch.no_grad(): use "
                "u = μ + σ ε, or Normal(μ, σ).rsample(), so that the actor's gradient goes through the "
                "action",
                sample,
            )
        parameters = dict(pi.named_parameters())
        grads = torch.autograd.grad(action.sum(), list(parameters.values()), allow_unused=True)
        dead = [n for n, g in zip(parameters, grads, strict=True) if g is None or g.abs().sum() == 0]
        if dead:
            raise Failure(
                f"the gradient of the sampled action does not reach {', '.join(dead)}",
                "a .detach() on μ or σ, or an action not built as tanh(μ + σ ε) · action_scale + action_bias",
                sample,
            )
        if not log_prob.requires_grad:
            raise Failure("log π carries no graph", "log π computed from detached values", sample)

    @report.check("forward(s) = action_scale · tanh(μ) + action_bias, deterministic", forward)
    def deterministic_forward():
        with torch.no_grad():
            out = pi(moderate)
            if isinstance(out, tuple):
                raise Failure(
                    f"pi(s) returned a tuple of {len(out)}",
                    "forward must return only the deterministic action: evaluate() and record_video() call policy(s)",
                    forward,
                )
            mean, _ = pi.mean_and_log_std(moderate)
            expected = torch.tanh(mean) * SCALE + BIAS
            again = pi(moderate)
        if not torch.equal(out, again):
            raise Failure(
                "two calls of pi(s) gave different actions",
                "forward samples: the deterministic action is action_scale · tanh(μ) + action_bias",
                forward,
            )
        if not torch.allclose(out, expected, atol=1e-5):
            mistake = "forward is not action_scale · tanh(μ) + action_bias"
            if torch.allclose(out, torch.tanh(mean), atol=1e-5):
                mistake = "no action scaling / no bias on tanh(μ)"
            gap = (out - expected).abs().max()
            raise Failure(f"pi(s) differs from action_scale · tanh(μ) + action_bias by {gap:.3g}", mistake, forward)

    check_scale_and_bias(report, pi, name)
    return report.all_passed
