"""Checks for notebook 3 (SAC): the squashed-Gaussian policy and the agent."""

from copy import deepcopy
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from solutions import networks, sac_discrete, sac_policy
from solutions.checks.common import (
    ACT_DIM,
    BATCH,
    BIAS,
    DONE_NOT_NEGATED,
    HIDDEN,
    MISSING_DONE,
    MISSING_GAMMA,
    OBS_DIM,
    SAC_CONFIG,
    SCALE,
    TAKES_MAX,
    Failure,
    NotJudged,
    Report,
    check_actor_step,
    check_critic_step,
    check_detached,
    check_explore,
    check_scale_and_bias,
    check_soft_update,
    check_target_copies,
    check_train,
    check_within_bounds,
    compare_target,
    fake_env,
    fixed_batch,
    isolated,
    perturb,
    require_attributes,
    same_weights,
    shape,
    snapshot,
    tensor,
)

# ---------------------------------------------------------------------------------------------
# Squashed-Gaussian policy (SAC)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# SAC
# ---------------------------------------------------------------------------------------------


@isolated
def check_sac_agent(sac_agent):
    """Check a SAC agent class: sac_agent(config, Q1, Q2, pi), with small reference networks."""
    report, env = Report(sac_agent), fake_env()
    batch = X, A, R, Y, D = fixed_batch()
    gamma, tau = SAC_CONFIG["gamma"], SAC_CONFIG["tau"]

    def make(overrides=None, shifted=True):
        torch.manual_seed(1)
        Q1, Q2 = networks.QNetwork(env, HIDDEN), networks.QNetwork(env, HIDDEN)
        pi = sac_policy.squashedGaussianPolicy(env, HIDDEN)
        agent = sac_agent({**SAC_CONFIG, **(overrides or {})}, Q1, Q2, pi)
        if shifted:  # the online critics differ from the targets: using the wrong ones shows
            perturb(agent.Q1, 2)
            perturb(agent.Q2, 3)
        return agent

    @report.check("sac_agent(config, Q1, Q2, pi) builds, with target critics Q1_target, Q2_target", "__init__")
    def builds():
        agent = make(shifted=False)
        require_attributes(agent, ("Q1", "Q2", "pi", "Q1_target", "Q2_target", "alpha"))
        check_target_copies(agent, (("Q1_target", "Q1"), ("Q2_target", "Q2")))
        if abs(float(agent.alpha) - SAC_CONFIG["alpha"]) > 1e-6:
            raise Failure(
                f"agent.alpha = {float(agent.alpha)} with config alpha = {SAC_CONFIG['alpha']}",
                "α does not start at config['alpha'] (log_alpha = log(config['alpha']))",
                "__init__",
            )

    if not report.all_passed:
        return False

    @report.check("critic_target = r + γ (1 - terminated) [min_i Q'_i(s', a') - α log π(a'|s')]", "critic_target")
    def target_value():
        agent = make()
        alpha = float(agent.alpha)
        Q1_target, Q2_target, Q1, Q2 = (deepcopy(getattr(agent, n)) for n in ("Q1_target", "Q2_target", "Q1", "Q2"))
        torch.manual_seed(11)
        y = agent.critic_target(R, Y, D)
        torch.manual_seed(11)  # the same a' ~ π(·|s') as critic_target drew
        with torch.no_grad():
            a, log_prob = agent.pi.sample(Y)
            next_q = torch.min(Q1_target(Y, a), Q2_target(Y, a))
            soft_value = next_q - alpha * log_prob
            variants = {
                MISSING_DONE: R + gamma * soft_value,
                DONE_NOT_NEGATED: R + gamma * D * soft_value,
                "the entropy term - α log π(a'|s') is missing from the value of s'": R + gamma * (1 - D) * next_q,
                "α log π(a'|s') is added instead of subtracted (the entropy is -log π)": (
                    R + gamma * (1 - D) * (next_q + alpha * log_prob)
                ),
                "log π(a'|s') is not multiplied by α": R + gamma * (1 - D) * (next_q - log_prob),
                "the online critics are used instead of the target critics": (
                    R + gamma * (1 - D) * (torch.min(Q1(Y, a), Q2(Y, a)) - alpha * log_prob)
                ),
                TAKES_MAX: R + gamma * (1 - D) * (torch.max(Q1_target(Y, a), Q2_target(Y, a)) - alpha * log_prob),
                MISSING_GAMMA: R + (1 - D) * soft_value,
            }
        formula = "r + γ (1 - terminated) [min_i Q'_i(s', a') - α log π(a'|s')]"
        compare_target(y, R + gamma * (1 - D) * soft_value, variants, formula)

    @report.check("the critic target is detached (no graph)", "critic_target")
    def detached():
        check_detached(make())

    @report.check("critic_step changes both critics only (not the actor, not the targets)", "critic_step")
    def critic_step_moves_theta():
        check_critic_step(make(), batch, ("Q1", "Q2"), ("pi", "Q1_target", "Q2_target"))

    @report.check("the actor loss uses the current critics, not the target critics", "actor_step")
    def current_critics():
        def actor_after_step(change):
            """The actor's weights after one actor_step, same noise ε, once `change` is applied."""
            agent = make()
            for name, seed in change:
                perturb(getattr(agent, name), seed, size=1.0)
            torch.manual_seed(13)
            agent.actor_step(X)
            return snapshot(agent.pi)

        unchanged = actor_after_step([])
        if not same_weights(unchanged, actor_after_step([("Q1_target", 20), ("Q2_target", 21)])):
            raise Failure(
                "the actor's update changed when only the target critics changed",
                "the actor loss uses the target critics: it must use the current ones, "
                "mean [α log π(a|s) - min_i Q(s, a; θ_i)] with a ~ π(·|s)",
                "actor_step",
            )
        if same_weights(unchanged, actor_after_step([("Q1", 22), ("Q2", 23)])):
            raise Failure(
                "the actor's update did not change when the current critics changed",
                "the actor loss does not use the current critics Q1 and Q2",
                "actor_step",
            )

    @report.check("actor_step changes w only, and leaves the critics' parameters unchanged", "actor_step")
    def actor_step_moves_w():
        return check_actor_step(make(), X, ("Q1", "Q2"), ("Q1_target", "Q2_target"))

    @report.check("actor_step lowers mean [α log π(a|s) - min_i Q(s, a)] on the batch", "actor_step")
    def actor_step_lowers_loss():
        agent = make()
        alpha = float(agent.alpha)

        def actor_loss():  # with the same noise ε each time
            torch.manual_seed(17)
            with torch.no_grad():
                a, log_prob = agent.pi.sample(X)
                return (alpha * log_prob - torch.min(agent.Q1(X, a), agent.Q2(X, a))).mean().item()

        before = actor_loss()
        torch.manual_seed(17)
        agent.actor_step(X)
        after = actor_loss()
        if not after < before:
            raise Failure(
                f"mean [α log π(a|s) - min_i Q(s, a)], same noise ε, went from {before:.4f} to {after:.4f}",
                "the actor loss has the wrong sign: minimise mean [α log π(a|s) - min_i Q(s, a)]",
                "actor_step",
            )

    @report.check("temperature_step: α falls when the entropy is above target, rises when below", "temperature_step")
    def temperature():
        moves = {}
        for label, log_prob in (("above", -5.0), ("below", 5.0)):  # entropy estimates 5 and -5
            agent = make()
            before = float(agent.alpha)
            agent.temperature_step(torch.full((BATCH,), log_prob))
            moves[label] = float(agent.alpha) - before
        seen = (
            f"with target entropy {SAC_CONFIG['target_entropy']}, α moved by {moves['above']:+.3g} for an "
            f"entropy estimate of 5 (above target) and by {moves['below']:+.3g} for -5 (below target)"
        )
        if moves["above"] == 0 and moves["below"] == 0:
            raise Failure(
                seen,
                "α does not change: no optimizer step on log α, or α is a plain number (learn_alpha ignored)",
                "temperature_step",
            )
        if moves["above"] > 0 and moves["below"] < 0:
            raise Failure(
                seen,
                "the sign of the temperature loss is flipped: L(α) = -log α · mean(log π + H̄), so that α "
                "falls when the entropy -mean log π is above the target H̄",
                "temperature_step",
            )
        if not (moves["above"] < 0 and moves["below"] > 0):
            raise Failure(
                seen,
                "α must fall when the entropy -mean log π is above the target and rise when it is below: "
                "L(α) = -log α · mean(log π + H̄)",
                "temperature_step",
            )

    @report.check("soft_update: θ'_i ← τ θ_i + (1 - τ) θ'_i for both critics", "soft_update")
    def soft_update():
        check_soft_update(make(), (("Q1_target", "Q1"), ("Q2_target", "Q2")), tau)

    @report.check("explore samples a NumPy action a ~ π(·|s) within the bounds", "explore")
    def explore():
        check_explore(make(), "sampled from the policy", "explore must sample a ~ π(·|s), not take pi(s)")

    check_train(report, lambda overrides: make(overrides, shifted=False))
    return report.all_passed


# ---------------------------------------------------------------------------------------------
# Discrete SAC (section 11)
# ---------------------------------------------------------------------------------------------

N_ACTIONS = 3
DISCRETE_CONFIG = {
    **{key: value for key, value in SAC_CONFIG.items() if key not in ("target_entropy", "learn_alpha")},
    "learn_alpha": False,
}


def fake_discrete_env():
    """Like fake_env, with n = 3 discrete actions."""
    return SimpleNamespace(
        observation_space=gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32),
        action_space=gym.spaces.Discrete(N_ACTIONS),
    )


@isolated
def check_sac_discrete_agent(sac_discrete_agent):
    """Check a discrete SAC agent class: sac_discrete_agent(config, Q1, Q2, pi), with small
    reference networks discreteQNetwork and categoricalPolicy."""
    report, env = Report(sac_discrete_agent), fake_discrete_env()
    X, _, R, Y, D = fixed_batch()
    A = (torch.arange(BATCH) % N_ACTIONS).float()  # action indices, stored as floats by the buffer
    gamma, tau = DISCRETE_CONFIG["gamma"], DISCRETE_CONFIG["tau"]

    def make(overrides=None, shifted=True):
        torch.manual_seed(1)
        Q1, Q2 = sac_discrete.discreteQNetwork(env, HIDDEN), sac_discrete.discreteQNetwork(env, HIDDEN)
        pi = sac_discrete.categoricalPolicy(env, HIDDEN)
        agent = sac_discrete_agent({**DISCRETE_CONFIG, **(overrides or {})}, Q1, Q2, pi)
        if shifted:
            perturb(agent.Q1, 2)
            perturb(agent.Q2, 3)
        return agent

    @report.check("sac_discrete_agent(config, Q1, Q2, pi) builds, with target critics Q1_target, Q2_target", "__init__")
    def builds():
        agent = make(shifted=False)
        require_attributes(agent, ("Q1", "Q2", "pi", "Q1_target", "Q2_target", "alpha", "memory"))
        check_target_copies(agent, (("Q1_target", "Q1"), ("Q2_target", "Q2")))

    if not report.all_passed:
        return False

    @report.check(
        "critic_target = r + γ (1 - terminated) Σ_a' π(a'|s') [min_i Q'_i(s', a') - α log π(a'|s')]",
        "critic_target",
    )
    def target_value():
        agent = make()
        alpha = float(agent.alpha)
        y = agent.critic_target(R, Y, D)
        with torch.no_grad():
            probs, log_probs = agent.pi.probabilities(Y)
            next_q = torch.min(agent.Q1_target(Y), agent.Q2_target(Y))
            soft_value = (probs * (next_q - alpha * log_probs)).sum(-1)
            online = torch.min(agent.Q1(Y), agent.Q2(Y))
            variants = {
                MISSING_DONE: R + gamma * soft_value,
                DONE_NOT_NEGATED: R + gamma * D * soft_value,
                "the entropy term - α log π(a'|s') is missing from the value of s'": (
                    R + gamma * (1 - D) * (probs * next_q).sum(-1)
                ),
                "the values are not weighted by π(a'|s'): the soft value is Σ_a' π(a'|s') [...]": (
                    R + gamma * (1 - D) * (next_q - alpha * log_probs).mean(-1)
                ),
                "the online critics are used instead of the target critics": (
                    R + gamma * (1 - D) * (probs * (online - alpha * log_probs)).sum(-1)
                ),
                TAKES_MAX: R
                + gamma
                * (1 - D)
                * (probs * (torch.max(agent.Q1_target(Y), agent.Q2_target(Y)) - alpha * log_probs)).sum(-1),
                MISSING_GAMMA: R + (1 - D) * soft_value,
            }
        formula = "r + γ (1 - terminated) Σ_a' π(a'|s') [min_i Q'_i(s', a') - α log π(a'|s')]"
        compare_target(y, R + gamma * (1 - D) * soft_value, variants, formula)

    @report.check("the critic target is detached (no graph)", "critic_target")
    def detached():
        check_detached(make())

    @report.check("critic_step changes both critics only (not the actor, not the targets)", "critic_step")
    def critic_step():
        check_critic_step(make(), (X, A, R, Y, D), ("Q1", "Q2"), ("pi", "Q1_target", "Q2_target"))

    @report.check("actor_step changes w only, and leaves the critics' parameters unchanged", "actor_step")
    def actor_step_moves_w():
        return check_actor_step(make(), X, ("Q1", "Q2"), ("Q1_target", "Q2_target"))

    @report.check("actor_step lowers mean Σ_a π(a|s) [α log π(a|s) - min_i Q(s, a)] on the batch", "actor_step")
    def actor_step_lowers_loss():
        agent = make()
        alpha = float(agent.alpha)

        def actor_loss():
            with torch.no_grad():
                probs, log_probs = agent.pi.probabilities(X)
                q = torch.min(agent.Q1(X), agent.Q2(X))
                return (probs * (alpha * log_probs - q)).sum(-1).mean().item()

        before = actor_loss()
        agent.actor_step(X)
        after = actor_loss()
        if not after < before:
            raise Failure(
                f"mean Σ_a π(a|s) [α log π(a|s) - min_i Q(s, a)] went from {before:.4f} to {after:.4f}",
                "the actor loss has the wrong sign, or the current critics are not what judges the actions",
                "actor_step",
            )

    @report.check("soft_update: θ'_i ← τ θ_i + (1 - τ) θ'_i for both critics", "soft_update")
    def soft_update():
        check_soft_update(make(), (("Q1_target", "Q1"), ("Q2_target", "Q2")), tau)

    @report.check("explore samples an action index a ~ π(·|s) in {0, ..., n-1}", "explore")
    def explore():
        agent = make()
        actions = [agent.explore(np.zeros(OBS_DIM, np.float32)) for _ in range(50)]
        values = [int(np.asarray(a).item()) if np.asarray(a).size == 1 else None for a in actions]
        if None in values or any(not float(np.asarray(a).item()).is_integer() for a in actions):
            raise Failure(
                f"explore returned {actions[0]!r}",
                "explore must return one action index (an int), not probabilities or a tensor of several values",
                "explore",
            )
        if not all(0 <= v < N_ACTIONS for v in values):
            raise Failure(f"explore returned indices {sorted(set(values))}", "an index outside 0..n-1", "explore")
        if len(set(values)) == 1:
            raise Failure(
                "explore returned the same action 50 times",
                "explore takes the greedy action: it must sample a ~ π(·|s) (Categorical(probs).sample())",
                "explore",
            )

    check_train(report, lambda overrides: make(overrides, shifted=False), gym.spaces.Discrete(N_ACTIONS))
    return report.all_passed
