"""Check for the CrossQ agent of notebook 4 (solutions/crossq.py), with small batch-normalised critics
(the reference crossQNetwork by default; the notebook passes yours, checked first by
check_crossq_network)."""

import torch

from solutions.checks.agent_properties import (
    MISSING_DONE,
    TAKES_MAX,
    changed,
    check_actor_step,
    check_critic_step,
    check_explore,
    compare_target,
    require_attributes,
    snapshot,
)
from solutions.checks.fake_episodes import check_train
from solutions.checks.fixtures import BATCH, CROSSQ_CONFIG, agent_factory, fake_env, fixed_batch, transition
from solutions.checks.report import Failure, Report, isolated, tensor
from solutions.crossq import crossQNetwork  # the reference critic, given to the agent by default
from solutions.sac_policy import squashedGaussianPolicy


def running_statistics(module):
    return [b.detach().clone() for name, b in module.named_buffers() if "running" in name]


@isolated
def check_crossq_agent(crossq_agent, crossQNetwork=crossQNetwork, squashedGaussianPolicy=squashedGaussianPolicy):
    """Check a CrossQ agent class: crossq_agent(config, Q1, Q2, pi), with small networks of the given
    classes (by default the reference ones)."""
    report, env = Report(crossq_agent), fake_env()
    batch = X, A, R, Y, D = fixed_batch()
    gamma, freq = CROSSQ_CONFIG["gamma"], CROSSQ_CONFIG["policy_update_freq"]

    networks = (crossQNetwork, crossQNetwork, squashedGaussianPolicy)
    make = agent_factory(crossq_agent, CROSSQ_CONFIG, env, networks)

    @report.check("crossq_agent(config, Q1, Q2, pi) builds, with no target networks", "__init__")
    def builds():
        # env_steps: the notebook's training cells read it (steps so far, across calls to train).
        require_attributes(make(), ("Q1", "Q2", "pi", "alpha", "memory", "env_steps"))
        if not running_statistics(make().Q1):
            raise Failure(
                "the critic given to the agent has no running statistics (no batch normalisation)",
                "crossQNetwork has no nn.BatchNorm1d layer: run check_crossq_network(crossQNetwork) first",
                "crossQNetwork.__init__",
            )

    if not report.all_passed:
        return False

    @report.check(
        "critic_target(R, D, next_q1, next_q2, next_log_prob) = r + γ (1 - terminated) [min_i q'_i - α log π]",
        "critic_target",
    )
    def target_value():
        agent = make()
        alpha = float(agent.alpha)
        r, d = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.0, 1.0, 0.0])
        q1, q2 = torch.tensor([4.0, 7.0, -1.0], requires_grad=True), torch.tensor([5.0, 3.0, -2.0])
        log_prob = torch.tensor([-1.0, 2.0, 0.5])
        y = tensor(agent.critic_target(r, d, q1, q2, log_prob), "the target y", "critic_target")
        if y.requires_grad:
            raise Failure(
                "the target y carries a graph when next_q1 does (y.requires_grad is True)",
                "the target is not detached: without target networks, .detach() (or torch.no_grad()) is what "
                "keeps the gradient from flowing through Q(s', a')",
                "critic_target",
            )
        soft = torch.min(q1, q2).detach() - alpha * log_prob
        variants = {
            MISSING_DONE: r + gamma * soft,
            TAKES_MAX: r + gamma * (1 - d) * (torch.max(q1, q2).detach() - alpha * log_prob),
            "the entropy term - α log π(a'|s') is missing": r + gamma * (1 - d) * torch.min(q1, q2).detach(),
            "α log π(a'|s') is added instead of subtracted": r
            + gamma * (1 - d) * (torch.min(q1, q2).detach() + alpha * log_prob),
        }
        # The FAIL line shows the three values (formula=None).
        compare_target(y.reshape(-1), r + gamma * (1 - d) * soft, variants, equation="the equation of section 3")

    @report.check("joint_q_values is one forward pass over [(s, a); (s', a')], split in two", "joint_q_values")
    def joint_pass():
        agent = make()
        agent.Q1.train()
        next_action, _ = agent.pi.sample(Y)
        with torch.no_grad():
            q, next_q = agent.joint_q_values(agent.Q1, X, A, Y, next_action)
            both = agent.Q1(torch.cat([X, Y]), torch.cat([A, next_action]))
            separate = agent.Q1(X, A), agent.Q1(Y, next_action)
        q, next_q = tensor(q, "q", "joint_q_values").reshape(-1), tensor(next_q, "q'", "joint_q_values").reshape(-1)
        if torch.allclose(q, both[:BATCH], atol=1e-5) and torch.allclose(next_q, both[BATCH:], atol=1e-5):
            return
        mistake = "the halves are swapped, or the joint output is not split into its two halves"
        if torch.allclose(q, separate[0], atol=1e-5):
            mistake = (
                "(s, a) and (s', a') go through the critic in two passes: each is normalised with its own "
                "statistics. Concatenate them, one pass, then split with .chunk(2)"
            )
        raise Failure("q and q' differ from the halves of one pass over the joint batch", mistake, "joint_q_values")

    @report.check("critic_step trains both critics in training mode, and not the actor", "critic_step")
    def critic_step():
        agent = make()
        agent.Q1.eval()  # as the actor step leaves them
        agent.Q2.eval()
        statistics = running_statistics(agent.Q1)
        check_critic_step(agent, batch, ("Q1", "Q2"), ("pi",))
        if all(torch.equal(a, b) for a, b in zip(statistics, running_statistics(agent.Q1))):
            raise Failure(
                "the running statistics of Q1's batch norm did not change in critic_step",
                "the critics are not put in training mode (Q.train()) before the joint pass: BN then uses "
                "its running averages, not the statistics of the joint batch",
                "critic_step",
            )

    @report.check(
        "actor_step changes w only, and leaves the critics' weights and running statistics unchanged",
        "actor_step",
    )
    def actor_step():
        agent = make()
        agent.Q1.train()  # as the critic step leaves them
        agent.Q2.train()
        statistics = running_statistics(agent.Q1) + running_statistics(agent.Q2)
        note = check_actor_step(agent, X, ("Q1", "Q2"), ())
        after = running_statistics(agent.Q1) + running_statistics(agent.Q2)
        if not all(torch.equal(a, b) for a, b in zip(statistics, after)):
            raise Failure(
                "the running statistics of the critics' batch norm changed in actor_step",
                "the critics are in training mode during the actor step: call Q1.eval() and Q2.eval() first, "
                "so that the actor's batch does not shift the normalisation",
                "actor_step",
            )
        return note

    @report.check("the actor moves exactly once every policy_update_freq critic steps", "update")
    def delayed_actor():
        agent = make()
        for i in range(2 * BATCH):
            state, _, reward, next_state, terminated = transition(i)
            agent.memory.append(state / 10, torch.ones(2).numpy(), reward / 10, next_state / 10, terminated)
        calls, critic_moves, actor_moves = range(1, 2 * freq + 1), [], []
        for call in calls:
            before_q, before_pi = snapshot(agent.Q1), snapshot(agent.pi)
            agent.update()
            if changed(before_q, agent.Q1):
                critic_moves.append(call)
            if changed(before_pi, agent.pi):
                actor_moves.append(call)
        if critic_moves != list(calls) or len(actor_moves) != 2 or actor_moves[1] - actor_moves[0] != freq:
            raise Failure(
                f"over {len(calls)} calls to update() with policy_update_freq = {freq}, the critics moved at "
                f"calls {critic_moves} and the actor at {actor_moves}",
                "the critics take one step at every update, the actor (and α) one every policy_update_freq "
                "critic steps (count % policy_update_freq == 0)",
                "update",
            )

    @report.check("explore samples a NumPy action a ~ π(·|s) within the bounds", "explore")
    def explore():
        check_explore(make(), "sampled from the policy", "explore must sample a ~ π(·|s), not take pi(s)")

    check_train(report, make)
    return report.all_passed
