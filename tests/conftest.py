"""Small environments and fixtures shared by the tests."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch


class BoxSpaces:
    """Just the two spaces a network reads: enough to build networks without a simulator."""

    def __init__(self, obs_dim=3, low=(-1.0, 0.0), high=(3.0, 2.0)):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        self.action_space = gym.spaces.Box(np.array(low, np.float32), np.array(high, np.float32))


@pytest.fixture
def asymmetric_env():
    """Action bounds not centred on zero: low = [-1, 0], high = [3, 2]."""
    return BoxSpaces()


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)
    np.random.seed(0)


class ToyEnv(gym.Env):
    """A fast continuous task: reward -(a - 1)², episodes end by termination after `episode_length`
    steps when `terminates`, else by the TimeLimit wrapper (truncation). Raises KeyboardInterrupt at
    step `interrupt_at`, as Ctrl-C would."""

    def __init__(self, episode_length=20, terminates=True, interrupt_at=None):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = gym.spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([3.0, 2.0], np.float32))
        self.episode_length, self.terminates, self.interrupt_at = episode_length, terminates, interrupt_at
        self.total_steps = 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.uniform(-1, 1, 3).astype(np.float32), {}

    def step(self, action):
        self.total_steps += 1
        if self.total_steps == self.interrupt_at:
            raise KeyboardInterrupt
        self.t += 1
        reward = -float(np.sum((np.asarray(action) - 1.0) ** 2))
        terminated = self.terminates and self.t >= self.episode_length
        return self.np_random.uniform(-1, 1, 3).astype(np.float32), reward, terminated, False, {}


def make_toy_env(episode_length=20, terminates=True, interrupt_at=None):
    env = ToyEnv(episode_length, terminates, interrupt_at)
    # Without termination, the time limit ends each episode by truncation.
    return env if terminates else gym.wrappers.TimeLimit(env, max_episode_steps=episode_length)


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path):
    """Debian's Chromium, headless, driven by Selenium (`make browser` installs both), with its console
    messages kept (`browser.get_log("browser")`); quit after the test."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    assert not missing, f"{', '.join(missing)} missing: run `make browser` (apt-get install chromium chromium-driver)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # No background networking: this machine's closed network refuses those connections, as console errors.
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
