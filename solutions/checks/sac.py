"""Check for the SAC agent of notebook 3 (solutions/sac.py)."""

from copy import deepcopy

import torch

from solutions.checks.agent_properties import (
    DONE_NOT_NEGATED,
    MISSING_DONE,
    MISSING_GAMMA,
    TAKES_MAX,
    check_actor_step,
    check_critic_step,
    check_detached,
    check_explore,
    check_soft_update,
    check_target_copies,
    compare_target,
    require_attributes,
    same_weights,
    snapshot,
)
from solutions.checks.fake_episodes import check_train
from solutions.checks.fixtures import BATCH, SAC_CONFIG, agent_factory, fake_env, fixed_batch, perturb
from solutions.checks.report import Failure, Report, isolated
from solutions.networks import QNetwork as ReferenceQNetwork
from solutions.sac_policy import squashedGaussianPolicy as ReferencePolicy


def q_values(Q, states, actions):
    """Q(s, a) as one value per pair, shape (B,), whether the critic gives (B,) or (B, 1)."""
    return Q(states, actions).reshape(len(states))


@isolated
def check_sac_agent(sac_agent, QNetwork=ReferenceQNetwork, squashedGaussianPolicy=ReferencePolicy):
    """Check a SAC agent class: sac_agent(config, Q1, Q2, pi), with small networks of the given classes
    (yours, or by default the reference ones), each built as cls(env, hidden_sizes)."""
    report, env = Report(sac_agent), fake_env()
    batch = X, A, R, Y, D = fixed_batch()
    gamma, tau = SAC_CONFIG["gamma"], SAC_CONFIG["tau"]

    networks = (QNetwork, QNetwork, squashedGaussianPolicy)
    make = agent_factory(sac_agent, SAC_CONFIG, env, networks, perturbed=("Q1", "Q2"))

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
            next_q = torch.min(q_values(Q1_target, Y, a), q_values(Q2_target, Y, a))
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
                    R + gamma * (1 - D) * (torch.min(q_values(Q1, Y, a), q_values(Q2, Y, a)) - alpha * log_prob)
                ),
                TAKES_MAX: R + gamma * (1 - D) * (
                    torch.max(q_values(Q1_target, Y, a), q_values(Q2_target, Y, a)) - alpha * log_prob
                ),
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
                return (alpha * log_prob - torch.min(q_values(agent.Q1, X, a), q_values(agent.Q2, X, a))).mean().item()

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

    check_train(report, make)
    return report.all_passed
