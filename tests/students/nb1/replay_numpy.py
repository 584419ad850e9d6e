# Exercise 5.2 with NumPy arrays, allocated at the first append; indices drawn with replacement.
import numpy as np
import torch


class ReplayBuffer:
    def __init__(self, capacity, device):
        self.capacity = int(capacity)
        self.device = device
        self.ptr = 0
        self.size = 0
        self.states = None

    def append(self, state, action, reward, next_state, terminated):
        if self.states is None:
            self.states = np.zeros((self.capacity, *np.shape(state)), dtype=np.float32)
            self.actions = np.zeros((self.capacity, *np.shape(action)), dtype=np.float32)
            self.rewards = np.zeros(self.capacity, dtype=np.float32)
            self.next_states = np.zeros((self.capacity, *np.shape(state)), dtype=np.float32)
            self.dones = np.zeros(self.capacity, dtype=np.float32)
        self.states[self.ptr] = state
        self.actions[self.ptr] = action
        self.rewards[self.ptr] = reward
        self.next_states[self.ptr] = next_state
        self.dones[self.ptr] = terminated
        self.ptr = (self.ptr + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        idx = np.random.randint(0, self.size, size=batch_size)
        return tuple(
            torch.as_tensor(field[idx], device=self.device)
            for field in (self.states, self.actions, self.rewards, self.next_states, self.dones)
        )

    def __len__(self):
        return self.size
