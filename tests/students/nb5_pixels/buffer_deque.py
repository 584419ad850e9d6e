import random
from collections import deque

import numpy as np
import torch


class PixelReplayBuffer:
    """A deque of transitions: each keeps s as a uint8 stack and only the new frame of s' (a copy, so that
    it does not keep the whole next_state alive)."""

    def __init__(self, capacity, device):
        self.transitions = deque(maxlen=int(capacity))
        self.device = device

    def append(self, state, action, reward, next_state, terminated):
        self.transitions.append((np.array(state, dtype=np.uint8), np.array(next_state[-1], dtype=np.uint8),
                                 np.asarray(action, dtype=np.float32), float(reward), float(terminated)))

    def sample(self, batch_size):
        batch = random.choices(self.transitions, k=batch_size)  # with replacement
        states = torch.as_tensor(np.stack([t[0] for t in batch]), device=self.device)
        new_frames = torch.as_tensor(np.stack([t[1] for t in batch]), device=self.device)
        next_states = torch.cat([states[:, 1:], new_frames[:, None]], dim=1)
        actions = torch.as_tensor(np.stack([t[2] for t in batch]), device=self.device)
        rewards = torch.tensor([t[3] for t in batch], dtype=torch.float32, device=self.device)
        dones = torch.tensor([t[4] for t in batch], dtype=torch.float32, device=self.device)
        return states.float(), actions, rewards, next_states.float(), dones

    def __len__(self):
        return len(self.transitions)
