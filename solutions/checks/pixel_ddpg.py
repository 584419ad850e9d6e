"""Check for the DDPG agent from pixels of notebook 5, section 3.3 (solutions/pixel_ddpg.py), with the
pixel networks it is given (yours, or by default the reference's, solutions/pixel_networks.py)."""

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
from solutions.checks.fixtures import DDPG_CONFIG, FRAMES, SIDE, agent_factory, fake_pixel_env, perturb, pixel_batch
from solutions.checks.frame_buffer import check_bytes_per_transition
from solutions.checks.report import Failure, Report, isolated, tensor
from solutions.pixel_networks import pixel_networks as reference_pixel_networks


@isolated
def check_pixel_ddpg_agent(pixel_ddpg_agent, pixel_networks=None):
    """Check a pixel DDPG agent class: pixel_ddpg_agent(config, Q, pi) on fake 4x84x84 uint8
    observations, with the networks that `pixel_networks(env)` returns (one encoder shared by Q and pi;
    by default the reference's, small)."""
    report, env = Report(pixel_ddpg_agent), fake_pixel_env()
    batch = X, A, R, Y, D = pixel_batch()
    gamma = DDPG_CONFIG["gamma"]

    networks = pixel_networks or (lambda env: reference_pixel_networks(env, hidden_size=16))
    make = agent_factory(pixel_ddpg_agent, DDPG_CONFIG, env, networks)

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
                "actor's optimiser the actor's own layers only, the parameters of pi outside pi.encoder (the "
                "encoder is trained by the critic's loss alone)",
                "actor_step and the optimizers in __init__",
            ) from None
        return note

    @report.check("memory stores frames once, as uint8: the 5 frames of s and s' (the frame buffer)", "memory")
    def frames_once():
        agent = make()
        capacity = DDPG_CONFIG["buffer_size"]
        frames = np.random.default_rng(0).integers(0, 256, (capacity + FRAMES + 2, SIDE, SIDE), dtype=np.uint8)
        for i in range(capacity + 2):
            agent.memory.append(frames[i : i + FRAMES], A[0].numpy(), 1.0, frames[i + 1 : i + FRAMES + 1], False)
        if len(agent.memory) != capacity:
            raise Failure(
                f"with config buffer_size = {capacity}, memory holds {len(agent.memory)} transitions after "
                f"{capacity + 2} appends",
                "memory's capacity is not config['buffer_size']: build it as PixelReplayBuffer(buffer_size, device)",
                "__init__",
            )
        check_bytes_per_transition(agent.memory, capacity, "memory (a PixelReplayBuffer of config buffer_size "
                                   "transitions) in __init__")

    check_train(report, make, observation_space=env.observation_space)
    return report.all_passed
