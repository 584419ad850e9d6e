"""Check for the discrete SAC agent of notebook 3, section 12 (solutions/sac_discrete.py)."""

import gymnasium as gym
import numpy as np
import torch

from solutions.checks.agent_properties import (
    DONE_NOT_NEGATED,
    MISSING_DONE,
    MISSING_GAMMA,
    TAKES_MAX,
    check_actor_step,
    check_critic_step,
    check_detached,
    check_soft_update,
    check_target_copies,
    compare_target,
    require_attributes,
)
from solutions.checks.fake_episodes import check_train
from solutions.checks.fixtures import (
    DISCRETE_CONFIG,
    N_ACTIONS,
    OBS_DIM,
    agent_factory,
    discrete_batch,
    fake_discrete_env,
)
from solutions.checks.report import Failure, Report, isolated
from solutions.sac_discrete import categoricalPolicy as ReferencePolicy
from solutions.sac_discrete import discreteQNetwork as ReferenceQNetwork


@isolated
def check_sac_discrete_agent(sac_discrete_agent, discreteQNetwork=ReferenceQNetwork, categoricalPolicy=ReferencePolicy):
    """Check a discrete SAC agent class: sac_discrete_agent(config, Q1, Q2, pi), with small networks of
    the given classes (yours, or by default the reference ones), each built as cls(env, hidden_sizes)."""
    report, env = Report(sac_discrete_agent), fake_discrete_env()
    batch = X, A, R, Y, D = discrete_batch()
    gamma, tau = DISCRETE_CONFIG["gamma"], DISCRETE_CONFIG["tau"]

    networks = (discreteQNetwork, discreteQNetwork, categoricalPolicy)
    make = agent_factory(sac_discrete_agent, DISCRETE_CONFIG, env, networks, perturbed=("Q1", "Q2"))

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
        check_critic_step(make(), batch, ("Q1", "Q2"), ("pi", "Q1_target", "Q2_target"))

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

    check_train(report, make, gym.spaces.Discrete(N_ACTIONS))
    return report.all_passed
