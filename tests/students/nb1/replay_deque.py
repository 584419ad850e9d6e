# Exercise 5.2 the simplest way: a deque of tuples (it drops the oldest itself), random.sample, np.array.
import random
from collections import deque

import numpy as np
import torch


class ReplayBuffer:
    def __init__(self, capacity, device):
        self.buffer = deque(maxlen=int(capacity))
        self.device = device

    def append(self, state, action, reward, next_state, terminated):
        self.buffer.append((state, action, reward, next_state, terminated))

    def sample(self, batch_size):
        batch = random.sample(self.buffer, batch_size)
        states, actions, rewards, next_states, dones = map(np.array, zip(*batch))
        return tuple(
            torch.tensor(x, dtype=torch.float32, device=self.device)
            for x in (states, actions, rewards, next_states, dones)
        )

    def __len__(self):
        return len(self.buffer)
