"""Check for the DDPG agent of notebook 1 (solutions/ddpg.py)."""

from copy import deepcopy

import torch
import torch.nn.functional as F

from solutions.checks.agent_properties import (
    DONE_NOT_NEGATED,
    MISSING_DONE,
    MISSING_GAMMA,
    check_actor_step,
    check_critic_step,
    check_detached,
    check_explore,
    check_soft_update,
    check_target_copies,
    compare_target,
    require_attributes,
)
from solutions.checks.fake_episodes import check_train
from solutions.checks.fixtures import DDPG_CONFIG, agent_factory, fake_env, fixed_batch
from solutions.checks.report import Failure, Report, isolated
from solutions.networks import QNetwork, policyNetwork


@isolated
def check_ddpg_agent(ddpg_agent, QNetwork=QNetwork, policyNetwork=policyNetwork):
    """Check a DDPG agent class: ddpg_agent(config, Q, pi), with small networks of the given classes
    (by default the reference ones; the notebook passes yours)."""
    report, env = Report(ddpg_agent), fake_env()
    batch = X, A, R, Y, D = fixed_batch()
    gamma, tau = DDPG_CONFIG["gamma"], DDPG_CONFIG["tau"]

    make = agent_factory(ddpg_agent, DDPG_CONFIG, env, (QNetwork, policyNetwork), perturbed=("Q", "pi"))

    @report.check("ddpg_agent(config, Q, pi) builds, with target copies Q_target and pi_target", "__init__")
    def builds():
        agent = make(shifted=False)
        # config and memory: the notebook prints agent.config, and the check of train watches agent.memory.
        require_attributes(agent, ("Q", "pi", "Q_target", "pi_target", "config", "memory"))
        check_target_copies(agent, (("Q_target", "Q"), ("pi_target", "pi")))

    if not report.all_passed:
        return False

    @report.check("critic_target = r + γ (1 - terminated) Q'(s', π'(s')) on a hand-built batch", "critic_target")
    def target_value():
        agent = make()
        Q_target, pi_target, Q, pi = (deepcopy(getattr(agent, n)) for n in ("Q_target", "pi_target", "Q", "pi"))
        y = agent.critic_target(R, Y, D)
        with torch.no_grad():
            next_q = Q_target(Y, pi_target(Y))
            variants = {
                MISSING_DONE: R + gamma * next_q,
                DONE_NOT_NEGATED: R + gamma * D * next_q,
                "the online networks Q and π are used instead of the targets Q' and π'": (
                    R + gamma * (1 - D) * Q(Y, pi(Y))
                ),
                "the online critic Q is used instead of the target critic Q'": (
                    R + gamma * (1 - D) * Q(Y, pi_target(Y))
                ),
                "the online actor π is used instead of the target actor π'": (R + gamma * (1 - D) * Q_target(Y, pi(Y))),
                MISSING_GAMMA: R + (1 - D) * next_q,
            }
        compare_target(y, R + gamma * (1 - D) * next_q, variants, "r + γ (1 - terminated) Q'(s', π'(s'))")

    @report.check("the critic target is detached (no graph)", "critic_target")
    def detached():
        check_detached(make())

    @report.check("critic_step changes θ only (not the actor, not the targets)", "critic_step")
    def critic_step_moves_theta():
        check_critic_step(make(), batch, ("Q",), ("pi", "Q_target", "pi_target"))

    @report.check("critic_step lowers (Q(s, a) - y)² on the batch", "critic_step")
    def critic_step_lowers_loss():
        agent = make()
        with torch.no_grad():
            y = agent.critic_target(R, Y, D)
            before = F.mse_loss(agent.Q(X, A), y).item()
        agent.critic_step(X, A, R, Y, D)
        with torch.no_grad():
            after = F.mse_loss(agent.Q(X, A), y).item()
        if not after < before:
            raise Failure(
                f"the critic loss mean (Q(s, a) - y)² on the batch went from {before:.4f} to {after:.4f}",
                "gradient ascent (a loss with the wrong sign), or a loss that is not the mean squared error "
                "between Q(s, a) and y",
                "critic_step",
            )

    @report.check("actor_step changes w only, and leaves the critic's parameters unchanged", "actor_step")
    def actor_step_moves_w():
        return check_actor_step(make(), X, ("Q",), ("Q_target", "pi_target"))

    @report.check("actor_step increases Q(s, π(s)) (its loss is -mean Q)", "actor_step")
    def actor_step_raises_q():
        agent = make()
        with torch.no_grad():
            before = agent.Q(X, agent.pi(X)).mean().item()
        agent.actor_step(X)
        with torch.no_grad():
            after = agent.Q(X, agent.pi(X)).mean().item()
        if not after > before:
            raise Failure(
                f"mean Q(s, π(s)) on the batch went from {before:.4f} to {after:.4f}",
                "the actor loss must be -mean Q(s, π(s)), so that descent on it is ascent on Q: +Q or "
                "MSE(Q) pushes the actor toward lower values",
                "actor_step",
            )

    @report.check("soft_update: θ' ← τ θ + (1 - τ) θ' and w' ← τ w + (1 - τ) w'", "soft_update")
    def soft_update():
        check_soft_update(make(), (("Q_target", "Q"), ("pi_target", "pi")), tau)

    @report.check("explore gives a noisy NumPy action within the bounds", "explore")
    def explore():
        check_explore(make({"exploration_noise": 10.0}))

    check_train(report, make)
    return report.all_passed
