"""The checks of notebook 5 (DDPG from pixels): check_pixel_networks and check_frame_buffer
pass the reference and name the mistake planted in a broken copy of it (one FAIL each); the agent's
check takes the student's networks; every correct student agent of tests/students/nb5_pixels passes its
check with every correct student networks file."""

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from solutions import checks
from solutions.checks.frame_buffer import stored_bytes
from solutions.frame_buffer import PixelReplayBuffer
from solutions.pixel_ddpg import pixel_ddpg_agent
from solutions.pixel_networks import pixel_networks, pixelEncoder, pixelPolicyNetwork, pixelQNetwork
from solutions.replay_buffer import ReplayBuffer

STUDENTS = Path(__file__).resolve().parent / "students" / "nb5_pixels"


def run(check_name, *arguments, capsys):
    result = getattr(checks, check_name)(*arguments)
    return result, capsys.readouterr().out.strip().splitlines()


# --- planted mistakes in the networks -------------------------------------------------------


def two_encoders(env):
    return pixelQNetwork(env), pixelPolicyNetwork(env)


class QKeepsTrailingOne(pixelQNetwork):
    def from_features(self, features, action):
        return self.head(torch.cat([features, action], dim=-1))


class EncoderScalesUint8Only(pixelEncoder):
    def forward(self, pixels):
        pixels = pixels.float() / 255 if pixels.dtype == torch.uint8 else pixels
        return self.trunk(self.conv(pixels))


class PolicyNoBias(pixelPolicyNetwork):
    def squash(self, pre_activation):
        return torch.tanh(pre_activation) * self.action_scale


class PolicyBatchOnly(pixelPolicyNetwork):
    def forward(self, state):
        return self.from_features(self.encoder(state))


def networks_with(critic=pixelQNetwork, actor=pixelPolicyNetwork, encoder=pixelEncoder):
    def build(env):
        Q = critic(env)
        Q.encoder = encoder(env.observation_space.shape)
        return Q, actor(env, encoder=Q.encoder)

    build.__name__ = "pixel_networks"
    return build


# --- planted mistakes in the frame buffer ---------------------------------------------------


class BufferTwoStacks(PixelReplayBuffer):
    """Keeps s' as a stack of its own besides the 5 frames."""

    def append(self, state, action, reward, next_state, terminated):
        if self.storage is None:
            self._allocate(state, action)
            self.storage["next_state"] = torch.empty((self.capacity, *np.shape(next_state)), dtype=torch.uint8)
        self.storage["next_state"][self.next_index] = torch.from_numpy(np.asarray(next_state))
        super().append(state, action, reward, next_state, terminated)


class BufferFloatFrames(PixelReplayBuffer):
    def _allocate(self, state, action):
        super()._allocate(state, action)
        self.storage["frames"] = self.storage["frames"].float()


class BufferScales(PixelReplayBuffer):
    def sample(self, batch_size):
        X, A, R, Y, D = super().sample(batch_size)
        return X / 255, A, R, Y / 255, D


class BufferStoresNotDone(PixelReplayBuffer):
    def append(self, state, action, reward, next_state, terminated):
        super().append(state, action, reward, next_state, not terminated)


class BufferIndependentIndices(PixelReplayBuffer):
    def sample(self, batch_size):
        X, A, R, _, D = super().sample(batch_size)
        return X, A, R, super().sample(batch_size)[3], D


class BufferStopsWhenFull(PixelReplayBuffer):
    def append(self, *transition):
        if self.size < self.capacity:
            super().append(*transition)


# --- planted mistakes in the agent's memory -------------------------------------------------


class AgentFloatBuffer(pixel_ddpg_agent):
    def make_replay_buffer(self):
        return ReplayBuffer(self.config["buffer_size"], self.device)


class AgentFixedCapacity(pixel_ddpg_agent):
    def make_replay_buffer(self):
        return PixelReplayBuffer(1_000, self.device)


PLANTED = [
    ("check_pixel_networks", two_encoders, "share one encoder", "each network builds an encoder of its own"),
    ("check_pixel_networks", networks_with(critic=QKeepsTrailingOne), "has shape (B,)", "trailing dimension of 1"),
    ("check_pixel_networks", networks_with(encoder=EncoderScalesUint8Only), "uint8 and float32", "scale both the same"),
    ("check_pixel_networks", networks_with(actor=PolicyNoBias), "within [low, high]", "without the bias"),
    ("check_pixel_networks", networks_with(actor=PolicyBatchOnly), "one uint8 stack", "batch of one"),
    ("check_frame_buffer", BufferTwoStacks, "frames are stored once", "two stacks"),
    ("check_frame_buffer", BufferFloatFrames, "frames are stored once", "float32"),
    ("check_frame_buffer", BufferScales, "0..255, not scaled", "divides by 255"),
    ("check_frame_buffer", BufferStoresNotDone, "terminated is stored as given", "stores 1 - terminated"),
    ("check_frame_buffer", BufferIndependentIndices, "one stored transition", "different random indices"),
    ("check_frame_buffer", BufferStopsWhenFull, "newest transitions replace", "appending stops at capacity"),
    ("check_pixel_ddpg_agent", AgentFloatBuffer, "memory stores frames once", "float32"),
    ("check_pixel_ddpg_agent", AgentFixedCapacity, "memory stores frames once", "is not config['buffer_size']"),
]
REFERENCES = {"check_pixel_networks": pixel_networks, "check_frame_buffer": PixelReplayBuffer}


@pytest.mark.parametrize("check_name", REFERENCES)
def test_reference_passes_every_property_in_a_fraction_of_a_second(check_name, capsys):
    start = time.perf_counter()
    result, lines = run(check_name, REFERENCES[check_name], capsys=capsys)
    assert time.perf_counter() - start < 2.0
    assert result is True and len(lines) >= 7
    assert all(line.startswith("PASS ") for line in lines), lines


def test_the_agent_check_takes_the_networks_it_is_given(capsys):
    result, lines = run("check_pixel_ddpg_agent", pixel_ddpg_agent, pixel_networks, capsys=capsys)
    assert result is True and all(line.startswith("PASS ") for line in lines), lines


@pytest.mark.parametrize(("check_name", "planted", "property_text", "hint"), PLANTED,
                         ids=[f"{check}-{getattr(p, '__qualname__', p)}" for check, p, _, _ in PLANTED])
def test_planted_mistake_gives_one_fail_naming_it(check_name, planted, property_text, hint, capsys):
    result, lines = run(check_name, planted, capsys=capsys)
    failures = [line for line in lines if line.startswith("FAIL ")]
    assert result is False and len(failures) == 1, "\n".join(lines)
    assert property_text in failures[0].split(": ")[0] and hint in failures[0], failures[0]
    assert ". Likely mistake: " in failures[0] and ". Look at: " in failures[0]


@pytest.mark.parametrize("check_name", [*REFERENCES, "check_pixel_ddpg_agent"])
def test_a_class_that_cannot_even_be_built_gives_a_fail_line(check_name, capsys):
    def broken(*args):
        raise RuntimeError("not written yet")

    result, lines = run(check_name, broken, capsys=capsys)
    assert result is False and lines and all(line.startswith("FAIL ") for line in lines), lines


def test_stored_bytes_counts_shared_memory_once():
    frames = np.zeros((10, 5, 84, 84), np.uint8)
    holder = type("Holder", (), {})()
    holder.frames, holder.view, holder.rows = frames, frames[:, 1:], [frames[0], torch.from_numpy(frames)]
    holder.extra = {"actions": torch.zeros(10, 2), "again": [holder]}
    assert stored_bytes(holder) == frames.nbytes + 10 * 2 * 4


def student_code(*names):
    namespace = {"__name__": "__main__"}
    for name in names:
        exec(compile((STUDENTS / name).read_text(), str(STUDENTS / name), "exec"), namespace)
    return namespace


@pytest.mark.parametrize("networks_file", ["networks_shared_module.py", "networks_sequential_detached.py"])
@pytest.mark.parametrize("agent_file", ["agent_course_loop.py", "agent_own_loop.py"])
def test_each_correct_student_agent_passes_with_each_correct_student_networks(agent_file, networks_file, capsys):
    namespace = student_code(networks_file, "buffer_numpy.py", agent_file)
    result, lines = run("check_pixel_ddpg_agent", namespace["pixel_ddpg_agent"], namespace["pixel_networks"],
                        capsys=capsys)
    assert result is True and not [line for line in lines if line.startswith("FAIL")], "\n".join(lines)
