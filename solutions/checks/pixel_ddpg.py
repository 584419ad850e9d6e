"""Check for the DDPG agent from pixels of notebook 1, section 7 (solutions/pixel_ddpg.py), with the
reference pixel networks (solutions/pixel_networks.py)."""

import numpy as np
import torch

from solutions.checks.agent_properties import (
    MISSING_DONE,
    NOT_DETACHED,
    changed,
    check_actor_step,
    check_critic_step,
    check_target_copies,
    compare_target,
    require_attributes,
    snapshot,
)
from solutions.checks.fake_episodes import check_train
from solutions.checks.fixtures import (
    ACT_DIM,
    DDPG_CONFIG,
    FRAMES,
    SIDE,
    agent_factory,
    fake_pixel_env,
    perturb,
    pixel_batch,
)
from solutions.checks.report import Failure, Report, isolated, tensor
from solutions.pixel_networks import pixel_networks


@isolated
def check_pixel_ddpg_agent(pixel_ddpg_agent):
    """Check a pixel DDPG agent class: pixel_ddpg_agent(config, Q, pi), with the reference
    pixel_networks (one encoder shared by Q and pi) on fake 4x84x84 uint8 observations."""
    report, env = Report(pixel_ddpg_agent), fake_pixel_env()
    batch = X, A, R, Y, D = pixel_batch()
    gamma = DDPG_CONFIG["gamma"]

    make = agent_factory(pixel_ddpg_agent, DDPG_CONFIG, env, lambda env: pixel_networks(env, hidden_size=16))

    @report.check("pixel_ddpg_agent(config, Q, pi) builds, with target copies Q_target and pi_target", "__init__")
    def builds():
        agent = make()
        require_attributes(agent, ("Q", "pi", "Q_target", "pi_target", "memory"))
        check_target_copies(agent, (("Q_target", "Q"), ("pi_target", "pi")))

    if not report.all_passed:
        return False

    @report.check("critic_target = r + γ (1 - terminated) Q'(s', π'(s')) on pixel states", "critic_target")
    def target_value():
        agent = make()
        perturb(agent.Q, 2)
        y = agent.critic_target(R, Y, D)
        with torch.no_grad():
            next_q = agent.Q_target(Y, agent.pi_target(Y))
            variants = {
                MISSING_DONE: R + gamma * next_q,
                "the online networks Q and π are used instead of the targets Q' and π'": (
                    R + gamma * (1 - D) * agent.Q(Y, agent.pi(Y))
                ),
            }
        compare_target(y, R + gamma * (1 - D) * next_q, variants, "r + γ (1 - terminated) Q'(s', π'(s'))")
        if tensor(y, "the target y", "critic_target").requires_grad:
            raise Failure("the target y carries a graph", NOT_DETACHED, "critic_target")

    @report.check("critic_step changes the critic (and the encoder), not the targets", "critic_step")
    def critic_step():
        check_critic_step(make(), batch, ("Q",), ("Q_target", "pi_target"))

    @report.check("actor_step changes the actor, and neither the critic nor the shared encoder", "actor_step")
    def actor_step():
        agent = make()
        before = snapshot(agent.Q)
        note = None
        try:
            note = check_actor_step(agent, X, ("Q",), ("Q_target", "pi_target"))
        except Failure as failure:
            if not changed(before, agent.Q):
                raise
            raise Failure(
                failure.seen,
                "the actor's step moved the critic's parameters, the shared encoder's most likely: give the "
                "actor's optimiser the actor's own layers only (the encoder is trained by the critic's loss), "
                "and feed the actor the encoder's features detached",
                "actor_step and the optimizers in __init__",
            ) from None
        return note

    @report.check("the buffer stores frames as uint8, the 5 frames of s and s' once", "memory.append")
    def frames_as_uint8():
        agent = make()
        rng = np.random.default_rng(0)
        frames = rng.integers(0, 256, (4, FRAMES + 1, SIDE, SIDE), dtype=np.uint8)
        for stack in frames:
            agent.memory.append(stack[:-1], A[0].numpy(), 1.0, stack[1:], False)
        X_, *_ = agent.memory.sample(2)
        values = torch.as_tensor(X_).float()
        if values.max() <= 1.0 + 1e-6:
            raise Failure(
                "sampled states lie in [0, 1]",
                "the buffer divides by 255: the reference networks take pixel values in [0, 255] and scale "
                "them themselves",
                "sample",
            )
        largest = (FRAMES + 1) * SIDE * SIDE + 4 * (ACT_DIM + 2)  # 5 uint8 frames, then float32 a, r, d
        per_transition = agent.memory.bytes_per_transition
        if per_transition > largest:
            mistake = "s and s' are stored as two stacks: they share all but one frame, store 5 frames"
            if per_transition >= 4 * FRAMES * SIDE * SIDE:
                mistake = "the frames are stored as float32: keep them uint8 and convert each minibatch"
            raise Failure(f"{per_transition:,} bytes per transition", mistake, "memory.append")

    check_train(report, make, observation_space=env.observation_space)
    return report.all_passed
