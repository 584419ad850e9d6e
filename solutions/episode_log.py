"""The book-keeping of an agent's training loop: episode returns, a progress bar, Ctrl-C.

It holds nothing of the algorithm, so that each agent's `train` shows only the pseudo-code.
"""

from tqdm.auto import trange


class EpisodeLog:
    """Iterate over it for `max_steps` steps; it sums rewards into episode returns as they come."""

    def __init__(self, max_steps, name, config, episode_return=0.0):
        self.returns = []  # one return per episode finished during this call
        self.end_steps = []  # the environment step at which each of them ended
        self.episode_return = episode_return  # the rewards so far of the episode in progress
        self.print_episodes = not config["disable_episode_report"]
        self.progress = trange(int(max_steps), desc=name, disable=config["tqdm_disable"])

    def __iter__(self):
        return iter(self.progress)

    def add(self, reward):
        self.episode_return += reward

    def end_episode(self, buffer_size, env_steps):
        self.returns.append(self.episode_return)
        self.end_steps.append(env_steps)
        self.progress.set_postfix(episodes=len(self.returns), last_return=f"{self.episode_return:.0f}")
        if self.print_episodes:
            print(f"Episode {len(self.returns):4d}, buffer size {buffer_size:7d}, "
                  f"episode return {self.episode_return:8.1f}")
        self.episode_return = 0.0

    def stopped_by_user(self):
        print(f"Training stopped by Ctrl-C: the networks keep what they learned; "
              f"{len(self.returns)} episode returns are in agent.episode_returns.")

    def close(self):
        self.progress.close()
