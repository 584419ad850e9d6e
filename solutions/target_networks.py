"""Target networks: frozen copies of a network that follow it slowly, by Polyak averaging.

A target network Q(·; θ') gives the regression target y of the critic. If it were the critic itself,
every step on θ would move y too, and the critic would chase its own tail; a copy that moves by a
fraction τ of the gap at each update keeps y nearly still over about 1/τ updates.
"""

from copy import deepcopy

import torch


def target_copy(network):
    """θ' = θ at the start; requires_grad off, since only `polyak_update` ever moves it."""
    return deepcopy(network).requires_grad_(False)


@torch.no_grad()
def polyak_update(target, network, tau):
    """θ' ← τ θ + (1 - τ) θ', for every parameter of `target` and `network` (in the same order)."""
    # lerp_(θ', θ, τ) = θ' + τ (θ - θ'), the same average. The _foreach_ form is torch's multi-tensor
    # version of Tensor.lerp_ (torch.optim uses it too): one call for all the tensors instead of one each.
    torch._foreach_lerp_(list(target.parameters()), list(network.parameters()), tau)
