import torch

from solutions.networks import QNetwork, policyNetwork


def test_policy_stays_within_asymmetric_bounds(asymmetric_env):
    pi = policyNetwork(asymmetric_env)
    with torch.no_grad():
        for layer in pi.net:
            if isinstance(layer, torch.nn.Linear):
                layer.weight.mul_(50)  # drive tanh into saturation, both signs
        actions = pi(torch.randn(2000, 3) * 10)
    low, high = torch.tensor([-1.0, 0.0]), torch.tensor([3.0, 2.0])
    assert (actions >= low).all() and (actions <= high).all()
    # the whole range is reached: scale and bias are right, not just clipped
    assert torch.allclose(actions.min(0).values, low, atol=1e-3)
    assert torch.allclose(actions.max(0).values, high, atol=1e-3)


def test_policy_scale_and_bias_are_buffers_not_parameters(asymmetric_env):
    pi = policyNetwork(asymmetric_env)
    assert torch.equal(pi.action_scale, torch.tensor([2.0, 1.0]))
    assert torch.equal(pi.action_bias, torch.tensor([1.0, 1.0]))
    names = [name for name, _ in pi.named_parameters()]
    assert not any("action" in name for name in names)
    assert "action_scale" in pi.state_dict()


def test_one_observation_and_a_batch(asymmetric_env):
    pi, Q = policyNetwork(asymmetric_env), QNetwork(asymmetric_env)
    s, batch = torch.randn(3), torch.randn(5, 3)
    assert pi(s).shape == (2,) and pi(batch).shape == (5, 2)
    assert Q(s, pi(s)).shape == () and Q(batch, pi(batch)).shape == (5,)
    # a row of the batch gives the same value as that observation alone
    assert torch.allclose(Q(batch, pi(batch))[2], Q(batch[2], pi(batch[2])), atol=1e-6)


def test_hidden_sizes_default_to_two_layers_of_256(asymmetric_env):
    widths = [m.out_features for m in QNetwork(asymmetric_env).net if isinstance(m, torch.nn.Linear)]
    assert widths == [256, 256, 1]
