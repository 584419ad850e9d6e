"""Checks for the networks of discrete SAC, notebook 3 section 12 (solutions/sac_discrete.py): the
critic discreteQNetwork, Q(s, ·) with one value per action, and the policy categoricalPolicy."""

import torch

from solutions.checks.fixtures import HIDDEN, N_ACTIONS, OBS_DIM, fake_discrete_env
from solutions.checks.report import Failure, NotJudged, Report, isolated, shape, tensor

BATCH_ONLY = "sum(1), softmax(dim=1) or argmax(dim=1) work only for batches: use dim=-1"


def check_hidden_sizes(report, cls, name):
    """The agent checks build each network as cls(env, hidden_sizes), the second argument positional."""

    @report.check(f"{name}(env, hidden_sizes=(16, 16)) builds (the agent check builds it so)", f"{name}.__init__")
    def builds_with_hidden_sizes():
        cls(fake_discrete_env(), HIDDEN)


def check_gradients(parameters, loss, look_at, name):
    """Gradients of `loss` reach every parameter."""
    if not parameters:
        raise Failure(
            "the network has no parameters",
            "layers kept in a plain Python list (use nn.Sequential or nn.ModuleList) or built in forward",
            f"{name}.__init__",
        )
    if not loss.requires_grad:
        grads = [None] * len(parameters)  # the output carries no graph at all
    else:
        grads = torch.autograd.grad(loss, list(parameters.values()), allow_unused=True)
    dead = [n for n, g in zip(parameters, grads, strict=True) if g is None or g.abs().sum() == 0]
    if dead:
        raise Failure(
            f"no gradient reaches {', '.join(dead)}",
            "a layer defined in __init__ but not used, or a .detach(), .item() or NumPy conversion",
            look_at,
        )


@isolated
def check_discrete_q_network(discreteQNetwork):
    """Check a discrete critic class: discreteQNetwork(env), and forward(state) -> Q(s, ·), n values."""
    report, name = Report(discreteQNetwork), getattr(discreteQNetwork, "__name__", "discreteQNetwork")
    Q = report.build(f"{name}(env) builds", lambda: discreteQNetwork(fake_discrete_env()), f"{name}.__init__")
    if Q is None:
        return False
    forward = f"{name}.forward"
    S = torch.randn(5, OBS_DIM)
    check_hidden_sizes(report, discreteQNetwork, name)

    @report.check(
        f"Q(s) has shape (B, n) for a batch, (n,) for one state, n = {N_ACTIONS} actions, float32", forward, BATCH_ONLY
    )
    def shapes():
        for states, expected in ((S, (5, N_ACTIONS)), (S[0], (N_ACTIONS,))):
            out = tensor(Q(states), "Q(s)", forward)
            if out.shape != expected:
                raise Failure(
                    f"Q(s) has shape {shape(out)} for states of shape {tuple(states.shape)}, expected {expected}",
                    "the last layer does not output env.action_space.n values (one per action), or a reshape "
                    "or squeeze in forward",
                    forward,
                )
            if out.dtype != torch.float32:
                raise Failure(f"Q(s) has dtype {out.dtype}", "a conversion to float64 in forward", forward)

    @report.check("Q(s) depends on the state", forward)
    def depends():
        with torch.no_grad():
            if torch.allclose(Q(S), Q(torch.randn(5, OBS_DIM)), atol=1e-7):
                raise Failure(
                    "Q(s) did not change when the state changed", "the state is not fed to the network", forward
                )

    @report.check("gradients reach every parameter", forward)
    def gradients():
        check_gradients(dict(Q.named_parameters()), Q(S).sum(), forward, name)

    return report.all_passed


@isolated
def check_categorical_policy(categoricalPolicy):
    """Check a categorical policy class: probabilities(s) -> (π(·|s), log π(·|s)), sample(s) -> an
    action index, forward(s) -> the greedy action argmax_a π(a|s)."""
    report, name = Report(categoricalPolicy), getattr(categoricalPolicy, "__name__", "categoricalPolicy")
    pi = report.build(f"{name}(env) builds", lambda: categoricalPolicy(fake_discrete_env()), f"{name}.__init__")
    if pi is None:
        return False
    probabilities, sample, forward = f"{name}.probabilities", f"{name}.sample", f"{name}.forward"
    moderate, large = torch.randn(64, OBS_DIM), 1000 * torch.randn(256, OBS_DIM)  # large: extreme logits
    check_hidden_sizes(report, categoricalPolicy, name)

    @report.check(
        "probabilities(s) gives (π, log π), each (B, n) for a batch and (n,) for one state", probabilities, BATCH_ONLY
    )
    def shapes():
        for states, expected in ((moderate, (64, N_ACTIONS)), (moderate[0], (N_ACTIONS,))):
            out = pi.probabilities(states)
            if not isinstance(out, tuple) or len(out) != 2:
                raise Failure(
                    f"probabilities(s) returned {type(out).__name__}",
                    "return the pair (probs, log_probs)",
                    probabilities,
                )
            for label, value in zip(("π", "log π"), out):
                if tensor(value, label, probabilities).shape != expected:
                    raise Failure(
                        f"{label} has shape {shape(value)} for states of shape {tuple(states.shape)}, "
                        f"expected {expected}",
                        "one value per action, along the last dimension",
                        probabilities,
                    )

    @report.check("π(·|s) is a distribution (≥ 0, sums to 1) and log π is its log", probabilities)
    def distribution():
        if "probabilities(s) gives (π, log π), each (B, n) for a batch and (n,) for one state" in report.failed:
            raise NotJudged("not judged while the shapes are wrong (see the FAIL on shapes)")
        with torch.no_grad():
            probs, log_probs = pi.probabilities(moderate)
        if probs.min() < 0 or not torch.allclose(probs.sum(-1), torch.ones(64), atol=1e-5):
            raise Failure(
                f"π(·|s) has values from {probs.min():.3g} to {probs.max():.3g}, rows summing to "
                f"{probs.sum(-1).min():.3g} to {probs.sum(-1).max():.3g}",
                "the logits are returned as probabilities, or the softmax is taken over the batch: "
                "softmax(logits, dim=-1)",
                probabilities,
            )
        if not torch.allclose(log_probs.exp(), probs, atol=1e-5):
            raise Failure(
                "exp(log π) differs from π", "log π must be log_softmax of the same logits as π", probabilities
            )

    @report.check("log π is finite, and π log π is not nan, when the logits are extreme", probabilities)
    def finite_when_extreme():
        if "probabilities(s) gives (π, log π), each (B, n) for a batch and (n,) for one state" in report.failed:
            raise NotJudged("not judged while the shapes are wrong (see the FAIL on shapes)")
        with torch.no_grad():
            probs, log_probs = pi.probabilities(large)
        bad = int((~torch.isfinite(log_probs)).any(-1).sum() + torch.isnan(probs * log_probs).any(-1).sum())
        if bad:
            raise Failure(
                "log π is -inf (or π log π nan) on some of 256 states with extreme logits",
                "log π computed as torch.log(probs): a probability that rounds to 0 gives log 0 = -inf and "
                "0 · (-inf) = nan. Use F.log_softmax(logits, dim=-1), and probs = log_probs.exp()",
                probabilities,
            )

    @report.check("gradients reach every parameter through probabilities(s)", probabilities)
    def gradients():
        probs, log_probs = pi.probabilities(moderate)
        weights = torch.arange(1.0, N_ACTIONS + 1)
        check_gradients(
            dict(pi.named_parameters()), (probs * weights).sum() + (log_probs * weights).sum(), probabilities, name
        )

    @report.check(
        "sample(s) draws an index a ~ π(·|s): a long tensor, (B,) for a batch, 0-d for one state", sample, BATCH_ONLY
    )
    def samples():
        with torch.no_grad():
            for states, expected in ((moderate, (64,)), (moderate[0], ())):
                a = tensor(pi.sample(states), "the sampled action", sample)
                if a.shape != expected or a.dtype != torch.long:
                    raise Failure(
                        f"sample(s) gave shape {shape(a)} and dtype {a.dtype} for states of shape "
                        f"{tuple(states.shape)}, expected {expected} and torch.int64",
                        "probabilities returned instead of an index, or a reshape: "
                        "torch.distributions.Categorical(probs=probs).sample()",
                        sample,
                    )
            state = moderate[:1].repeat(3000, 1)  # one state, 3000 draws
            probs = pi.probabilities(state[0])[0]
            counts = torch.bincount(pi.sample(state).reshape(-1), minlength=N_ACTIONS)[:N_ACTIONS]
        frequencies = counts.float() / 3000
        if (frequencies - probs).abs().max() > 0.05:
            raise Failure(
                f"in one state, 3000 draws gave frequencies {frequencies.tolist()} for π = "
                f"{[round(p, 3) for p in probs.tolist()]}",
                "sample takes the greedy action or draws from another distribution: sample from π(·|s)",
                sample,
            )

    @report.check(
        "forward(s) is the greedy action argmax_a π(a|s): (B,) for a batch, 0-d for one state", forward, BATCH_ONLY
    )
    def greedy():
        with torch.no_grad():
            for states, expected in ((moderate, (64,)), (moderate[0], ())):
                out = pi(states)
                if isinstance(out, tuple):
                    raise Failure(
                        f"pi(s) returned a tuple of {len(out)}",
                        "forward returns only the greedy action: evaluate() calls policy(s)",
                        forward,
                    )
                out = tensor(out, "pi(s)", forward)
                if out.shape != expected or out.dtype != torch.long:
                    raise Failure(
                        f"pi(s) gave shape {shape(out)} and dtype {out.dtype}, expected {expected} and torch.int64",
                        "the probabilities or the logits are returned: return their argmax(dim=-1) "
                        "(env.step takes one index)",
                        forward,
                    )
            probs = pi.probabilities(moderate)[0]
            if not torch.equal(pi(moderate), probs.argmax(-1)):
                raise Failure(
                    "pi(s) differs from argmax_a π(a|s)",
                    "forward samples, or takes the argmax of something else than the logits",
                    forward,
                )

    return report.all_passed
