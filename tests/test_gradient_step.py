"""gradient_step: the same optimizer step as zero_grad / backward / step, computing ∇ for its parameters only."""

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from solutions.gradient_step import gradient_step


def actor_and_critic(seed=0):
    torch.manual_seed(seed)
    actor = nn.Sequential(nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, 2))
    critic = nn.Sequential(nn.Linear(5, 64), nn.ReLU(), nn.Linear(64, 1))
    return actor, critic


def actor_loss(actor, critic, states):
    return -critic(torch.cat([states, actor(states)], dim=-1)).mean()


def test_the_step_is_bit_for_bit_that_of_zero_grad_backward_step():
    states = torch.randn(32, 3)
    actor_a, critic_a = actor_and_critic()
    actor_b, critic_b = actor_and_critic()
    optimizer_a = torch.optim.Adam(actor_a.parameters(), lr=1e-2, fused=True)
    optimizer_b = torch.optim.Adam(actor_b.parameters(), lr=1e-2, fused=True)
    for _ in range(5):
        gradient_step(optimizer_a, actor_loss(actor_a, critic_a, states))
        critic_b.requires_grad_(False)
        optimizer_b.zero_grad(set_to_none=True)
        actor_loss(actor_b, critic_b, states).backward()
        optimizer_b.step()
        critic_b.requires_grad_(True)
    assert all(torch.equal(a, b) for a, b in zip(actor_a.parameters(), actor_b.parameters()))


def test_no_gradient_is_computed_or_stored_for_the_tensors_the_optimizer_does_not_train():
    states = torch.randn(256, 3)
    actor, critic = actor_and_critic()
    optimizer = torch.optim.Adam(actor.parameters(), lr=1e-2)
    critic_before = [p.clone() for p in critic.parameters()]
    with FlopCounterMode(display=False) as ours:
        gradient_step(optimizer, actor_loss(actor, critic, states))
    assert all(torch.equal(a, b) and b.grad is None for a, b in zip(critic_before, critic.parameters()))
    assert all(p.requires_grad for p in critic.parameters())
    # The work is that of a frozen critic, less than that of a backward() through a trainable one.
    critic.requires_grad_(False)
    with FlopCounterMode(display=False) as frozen:
        actor_loss(actor, critic, states).backward()
    critic.requires_grad_(True)
    with FlopCounterMode(display=False) as trainable:
        actor_loss(actor, critic, states).backward()
    assert ours.get_total_flops() == frozen.get_total_flops() < trainable.get_total_flops()


def test_a_parameter_the_loss_does_not_use_gets_no_gradient_and_does_not_move():
    used, unused = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(3))
    optimizer = torch.optim.Adam([used, unused], lr=0.1)
    gradient_step(optimizer, (used**2).sum())
    assert unused.grad is None and torch.equal(unused, torch.ones(3))
    assert torch.all(used < 1)
