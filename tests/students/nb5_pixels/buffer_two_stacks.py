import torch


class PixelReplayBuffer:
    """uint8 frames, but s and s' kept as two stacks of 4: 8 frames per transition."""

    def __init__(self, capacity, device="cpu"):
        self.capacity, self.device = int(capacity), device
        self.position, self.full = 0, False
        self.states = self.next_states = None

    def append(self, state, action, reward, next_state, terminated):
        if self.states is None:
            self.states = torch.empty((self.capacity, *state.shape), dtype=torch.uint8, device=self.device)
            self.next_states = torch.empty_like(self.states)
            self.actions = torch.empty((self.capacity, len(action)), device=self.device)
            self.rewards = torch.empty(self.capacity, device=self.device)
            self.dones = torch.empty(self.capacity, device=self.device)
        i = self.position
        self.states[i] = torch.as_tensor(state)
        self.next_states[i] = torch.as_tensor(next_state)
        self.actions[i] = torch.as_tensor(action)
        self.rewards[i] = float(reward)
        self.dones[i] = float(terminated)
        self.position = (i + 1) % self.capacity
        self.full = self.full or self.position == 0

    def sample(self, batch_size):
        rows = torch.randperm(len(self), device=self.device)[:batch_size]
        return (self.states[rows].float(), self.actions[rows], self.rewards[rows], self.next_states[rows].float(),
                self.dones[rows])

    def __len__(self):
        return self.capacity if self.full else self.position
