"""Check for the TD3 agent of notebook 2 (solutions/td3.py)."""

from copy import deepcopy

import torch

from solutions.checks.agent_properties import (
    DONE_NOT_NEGATED,
    MISSING_DONE,
    MISSING_GAMMA,
    TAKES_MAX,
    changed,
    check_actor_step,
    check_critic_step,
    check_detached,
    check_explore,
    check_soft_update,
    check_target_copies,
    compare_target,
    require_attributes,
    snapshot,
)
from solutions.checks.fake_episodes import check_train
from solutions.checks.fixtures import (
    ACT_DIM,
    BATCH,
    BIAS,
    HIGH,
    LOW,
    SCALE,
    TD3_CONFIG,
    agent_factory,
    fake_env,
    fixed_batch,
    transition,
)
from solutions.checks.report import Failure, NotJudged, Report, isolated, shape, tensor
from solutions.networks import QNetwork, policyNetwork

# What the notebook reads besides the networks: the loop's counters and settings, and what section 6
# needs to draw the lag limit of the target networks (tau, policy_update_freq).
NOTEBOOK_ATTRIBUTES = ("memory", "env_steps", "learning_starts", "updates_per_step", "tau", "policy_update_freq")


@isolated
def check_td3_agent(td3_agent, QNetwork=QNetwork, policyNetwork=policyNetwork):
    """Check a TD3 agent class: td3_agent(config, Q1, Q2, pi), with small networks of the given classes
    (by default the reference ones; the notebook passes yours)."""
    report, env = Report(td3_agent), fake_env()
    batch = X, A, R, Y, D = fixed_batch()
    gamma, tau, freq = TD3_CONFIG["gamma"], TD3_CONFIG["tau"], TD3_CONFIG["policy_update_freq"]
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])

    networks = (QNetwork, QNetwork, policyNetwork)
    make = agent_factory(td3_agent, TD3_CONFIG, env, networks, perturbed=("Q1", "Q2", "pi"))

    def copies(agent, names=("Q1_target", "Q2_target", "pi_target")):
        return [deepcopy(getattr(agent, name)) for name in names]

    def target(Q1, Q2, next_action, reduce=torch.min):
        return R + gamma * (1 - D) * reduce(Q1(Y, next_action), Q2(Y, next_action))

    @report.check("td3_agent(config, Q1, Q2, pi) builds, with target copies of the three networks", "__init__")
    def builds():
        agent = make(shifted=False)
        require_attributes(agent, ("Q1", "Q2", "pi", "Q1_target", "Q2_target", "pi_target", *NOTEBOOK_ATTRIBUTES))
        check_target_copies(agent, (("Q1_target", "Q1"), ("Q2_target", "Q2"), ("pi_target", "pi")))

    if not report.all_passed:
        return False

    without_noise = "critic_target = r + γ (1 - terminated) min_i Q'_i(s', π'(s')) without noise"

    @report.check(without_noise, "critic_target")
    def target_without_noise():
        agent = make()
        Q1_target, Q2_target, pi_target = copies(agent)
        Q1, Q2, pi = copies(agent, ("Q1", "Q2", "pi"))
        y = agent.critic_target(R, Y, D)
        with torch.no_grad():
            a = pi_target(Y)
            next_q = torch.min(Q1_target(Y, a), Q2_target(Y, a))
            variants = {
                MISSING_DONE: R + gamma * next_q,
                DONE_NOT_NEGATED: R + gamma * D * next_q,
                TAKES_MAX: target(Q1_target, Q2_target, a, torch.max),
                "only Q1' is used: the target takes the minimum of Q1' and Q2'": (
                    R + gamma * (1 - D) * Q1_target(Y, a)
                ),
                "the twin target critics are averaged: the target takes their minimum": (
                    R + gamma * (1 - D) * (Q1_target(Y, a) + Q2_target(Y, a)) / 2
                ),
                "the online critics are used instead of the target critics": target(Q1, Q2, a),
                "the online actor π is used instead of the target actor π'": target(Q1_target, Q2_target, pi(Y)),
                MISSING_GAMMA: R + (1 - D) * next_q,
            }
        formula = "r + γ (1 - terminated) min_i Q'_i(s', π'(s')), action_noise_scale = 0"
        compare_target(y, R + gamma * (1 - D) * next_q, variants, formula)

    def noisy_targets(clip):
        """y with a huge noise scale, so that the clipped noise is ±clip · action_scale on each dimension,
        and the possible targets of each row (one per combination of signs) for a right and for
        wrong computations."""
        agent = make({"action_noise_scale": 1e6, "action_noise_clip": clip})
        Q1_target, Q2_target, pi_target = copies(agent)
        y = tensor(agent.critic_target(R, Y, D), "the target y", "critic_target").detach()
        if y.shape != (BATCH,):
            raise Failure(f"y has shape {shape(y)}, expected ({BATCH},)", "a reshape", "critic_target")
        with torch.no_grad():
            base = pi_target(Y)

            def candidates(shift, low=LOW, high=HIGH):  # (B, 4): one column per combination of signs
                columns = []
                for sign in signs:
                    a = base + sign * shift
                    a = a if low is None else a.clamp(torch.as_tensor(low), torch.as_tensor(high))
                    columns.append(target(Q1_target, Q2_target, a))
                return torch.stack(columns, dim=1)

            return y, {
                "right": candidates(clip * SCALE),
                "noise not clipped": candidates(1e6 * SCALE),
                "noise not scaled": candidates(torch.full((ACT_DIM,), clip)),
                "no noise": target(Q1_target, Q2_target, base).reshape(-1, 1),
                "action not clipped": candidates(clip * SCALE, low=None),
                "first bounds": candidates(clip * SCALE, low=LOW[:1], high=HIGH[:1]),
            }

    def matches(y, candidates):
        """Every row of y equals one of its candidates."""
        return bool(((y.reshape(-1, 1) - candidates).abs() < 1e-4).any(dim=1).all())

    @report.check("the smoothing noise is clipped to ± action_noise_clip · action_scale", "critic_target")
    def noise_is_clipped():
        if without_noise in report.failed:  # the noise cannot be judged on a wrong target
            raise NotJudged("not judged while the target without noise is wrong (see the FAIL above)")
        y, candidates = noisy_targets(clip=0.3)
        if matches(y, candidates["right"]):
            return
        mistakes = {
            "noise not clipped": "the smoothing noise is not clipped to ± action_noise_clip",
            "noise not scaled": "the clipped noise is not multiplied by action_scale (it is in units of the "
            "action half-range, like the exploration noise)",
            "no noise": "no smoothing noise is added to the target action π'(s')",
        }
        mistake = next(
            (text for key, text in mistakes.items() if matches(y, candidates[key])),
            "the noise clip(N(0, σ²), -c, c) · action_scale is computed in another way, or the target "
            "itself is wrong (see the property without noise)",
        )
        raise Failure(
            "with action_noise_scale = 1e6 and action_noise_clip = 0.3, y is not "
            "r + γ (1 - terminated) min_i Q'_i(s', clip(π'(s') ± 0.3 · action_scale, low, high))",
            mistake,
            "critic_target",
        )

    @report.check("the noisy next action is clipped to the action bounds", "critic_target")
    def next_action_in_bounds():
        if without_noise in report.failed:
            raise NotJudged("not judged while the target without noise is wrong (see the FAIL above)")
        y, candidates = noisy_targets(clip=10.0)  # the noise pushes every action far out of bounds
        if matches(y, candidates["right"]):
            return
        if matches(y, candidates["no noise"]):
            raise NotJudged("not judged until smoothing noise is added (see the FAIL on the smoothing noise)")
        if matches(y, candidates["first bounds"]):
            mistake = "the next action is clipped with the bounds of the first dimension, low[0] and high[0]"
        elif matches(y, candidates["action not clipped"]):
            mistake = "the noisy next action π'(s') + ε is not clipped to [low, high]"
        else:
            mistake = (
                "the noisy next action is not clipped to [low, high] on each dimension, or the target "
                "itself is wrong (see the property without noise)"
            )
        raise Failure(
            "with action_noise_clip = 10, y does not use next actions at the bounds", mistake, "critic_target"
        )

    @report.check("the critic target is detached (no graph)", "critic_target")
    def detached():
        check_detached(make())

    @report.check("critic_step changes both critics only (not the actor, not the targets)", "critic_step")
    def critic_step_moves_theta():
        check_critic_step(make(), batch, ("Q1", "Q2"), ("pi", "Q1_target", "Q2_target", "pi_target"))

    @report.check("actor_step changes w only, and leaves the critics' parameters unchanged", "actor_step")
    def actor_step_moves_w():
        return check_actor_step(make(), X, ("Q1", "Q2"), ("Q1_target", "Q2_target", "pi_target"))

    @report.check("the actor and the targets move exactly once every policy_update_freq critic steps", "update")
    def delayed_updates():
        agent = make()
        for i in range(2 * BATCH):
            state, _, reward, next_state, terminated = transition(i)
            agent.memory.append(state / 10, BIAS.numpy(), reward / 10, next_state / 10, terminated)
        calls, moves = range(1, 2 * freq + 1), {"critics": [], "actor": [], "targets": []}
        for call in calls:
            before = {name: snapshot(getattr(agent, name)) for name in ("Q1", "pi", "Q1_target", "pi_target")}
            agent.update()
            if changed(before["Q1"], agent.Q1):
                moves["critics"].append(call)
            if changed(before["pi"], agent.pi):
                moves["actor"].append(call)
            if changed(before["Q1_target"], agent.Q1_target) or changed(before["pi_target"], agent.pi_target):
                moves["targets"].append(call)
        seen = (
            f"over {len(calls)} calls to update() with policy_update_freq = {freq}, the critics moved "
            f"at calls {moves['critics']}, the actor at {moves['actor']}, the targets at {moves['targets']}"
        )
        actor = moves["actor"]
        if moves["critics"] != list(calls):
            raise Failure(seen, "the critics must take one step at every call of update()", "update")
        if actor == list(calls):
            raise Failure(
                seen,
                "the policy is updated at every critic step: the actor (and the targets) must move only once "
                "every policy_update_freq critic steps",
                "update",
            )
        if len(actor) != 2 or actor[1] - actor[0] != freq:
            raise Failure(
                seen,
                "the count of critic steps is not incremented, or not compared with policy_update_freq "
                "(count % policy_update_freq == 0)",
                "update and critic_step",
            )
        if moves["targets"] != actor:
            raise Failure(
                seen,
                "the targets must move exactly when the actor does: soft_update goes in the delayed branch, "
                "right after actor_step",
                "update",
            )

    @report.check("soft_update: θ'_i ← τ θ_i + (1 - τ) θ'_i and w' ← τ w + (1 - τ) w'", "soft_update")
    def soft_update():
        check_soft_update(make(), (("Q1_target", "Q1"), ("Q2_target", "Q2"), ("pi_target", "pi")), tau)

    @report.check("explore gives a noisy NumPy action within the bounds", "explore")
    def explore():
        check_explore(make({"exploration_noise": 10.0}))

    check_train(report, make)
    return report.all_passed
