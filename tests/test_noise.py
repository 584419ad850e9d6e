import torch

from solutions.noise import OrnsteinUhlenbeckNoise


def test_ou_noise_has_the_gaussian_spread_from_the_first_step_and_is_correlated():
    torch.manual_seed(0)
    noise = OrnsteinUhlenbeckNoise(1, std=0.1)
    episodes = []
    for _ in range(2000):
        noise.reset()
        episodes.append(torch.stack([noise.sample() for _ in range(20)]).squeeze(-1))
    x = torch.stack(episodes)  # (episodes, steps)
    # the same spread as N(0, 0.1²) at every step of an episode ...
    assert torch.allclose(x.std(dim=0), torch.full((20,), 0.1), atol=0.01)
    # ... but successive values are strongly correlated, unlike Gaussian noise
    correlation = torch.corrcoef(torch.stack([x[:, 5], x[:, 6]]))[0, 1]
    assert correlation > 0.95
