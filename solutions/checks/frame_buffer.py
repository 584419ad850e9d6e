"""Check for the replay buffer of DDPG from pixels, notebook 5, section 3.2 (solutions/frame_buffer.py):
`PixelReplayBuffer(capacity, device)`, ReplayBuffer's append, sample and len for stacks of 4 grey
84x84 uint8 frames, which stores frames as uint8 and the frames that s and s' share once.

`stored_bytes` measures a buffer's memory whatever its layout (NumPy arrays, torch tensors, in
attributes, dictionaries or lists); the agent's check and notebook 5's section 4 use it too."""

import collections
import types

import numpy as np
import torch

from solutions.checks.fixtures import ACT_DIM, FRAMES, SIDE
from solutions.checks.report import Failure, NotJudged, Report, isolated, numbers, tensor

FRAME_BYTES = SIDE * SIDE  # one grey 84x84 uint8 frame
# What the check accepts per transition: the 5 frames of s and s' once as uint8 (35,280 bytes), and room
# for the action, reward, flag and any bookkeeping. Two stacks of 4 would take 8 frames; float32, 4 times more.
MOST_BYTES = 6 * FRAME_BYTES
ENDINGS = (7, 5, 9, 4)  # lengths of the fake episodes, in turn
CAPACITY = 100  # of the buffer whose bytes are measured


def stored_bytes(buffer):
    """Bytes of every NumPy array and torch tensor that `buffer` holds, in its attributes and in the
    dictionaries, lists, tuples and objects they hold; memory shared by several views counts once."""
    seen, memory, total = set(), set(), 0

    def visit(value, depth):
        nonlocal total
        if id(value) in seen or depth > 8:
            return
        seen.add(id(value))
        if isinstance(value, torch.Tensor):
            storage = value.untyped_storage()
            key = (str(value.device), storage.data_ptr())
            if key not in memory:
                memory.add(key)
                total += storage.nbytes()
        elif isinstance(value, np.ndarray):
            base = value
            while isinstance(base.base, np.ndarray):
                base = base.base
            key = ("cpu", base.__array_interface__["data"][0])
            if key not in memory:
                memory.add(key)
                total += base.nbytes
            if value.dtype == object:
                for item in value.flat:
                    visit(item, depth + 1)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item, depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset, collections.deque)):
            for item in value:
                visit(item, depth + 1)
        elif hasattr(value, "__dict__") and not isinstance(value, (type, types.ModuleType, types.FunctionType)):
            visit(vars(value), depth + 1)

    visit(buffer, 0)
    return total


def frame(number, rng):
    """A random 84x84 uint8 frame whose first two pixels write its number (number % 256, number // 256)."""
    pixels = rng.integers(0, 256, (SIDE, SIDE), dtype=np.uint8)
    pixels[0, :2] = (number % 256, number // 256)
    return pixels


def episode_transitions(count, seed=0):
    """`count` transitions as make_pixel_env gives them: s and s' are (4, 84, 84) uint8 stacks, s' is s
    shifted by one new frame, and an episode starts with its first frame 4 times. Episodes last 7, 5,
    9, 4, ... steps; they end by termination and by truncation in turn. Transition i: a = (i/100, -i/100),
    r = i, and its s' has newest frame number i + 1 (`transition_number`)."""
    rng, transitions, episode, step = np.random.default_rng(seed), [], 0, 0
    stack = None
    for i in range(count):
        if stack is None:
            stack = np.stack([frame(0, rng)] * FRAMES)
        next_stack = np.concatenate([stack[1:], frame(i + 1, rng)[None]])
        step += 1
        ended = step == ENDINGS[episode % len(ENDINGS)]
        terminated = ended and episode % 2 == 0
        action = np.array([i / 100, -i / 100], np.float32)
        transitions.append((stack, action, float(i), next_stack, terminated))
        stack = None if ended else next_stack
        if ended:
            episode, step = episode + 1, 0
    return transitions


def transition_number(next_states):
    """The number of each sampled transition, read from the newest frame of its s' (B, 4, 84, 84)."""
    newest = torch.as_tensor(next_states).float()[:, -1, 0, :2]
    if newest.max() <= 1.0:  # scaled to [0, 1]: a mistake that another property names
        newest = newest * 255
    newest = newest.round().long()
    return newest[:, 0] + 256 * newest[:, 1] - 1


@isolated
def check_frame_buffer(PixelReplayBuffer):
    """Check a frame replay buffer class: PixelReplayBuffer(capacity, device), append, sample, len."""
    report, name = Report(PixelReplayBuffer), getattr(PixelReplayBuffer, "__name__", "PixelReplayBuffer")
    append, sample = f"{name}.append", f"{name}.sample"

    def filled(capacity, count, seed=0):
        buffer = PixelReplayBuffer(capacity, "cpu")
        for transition in episode_transitions(count, seed):
            buffer.append(*transition)
        return buffer

    @report.check("len() counts the stored transitions, at most capacity", f"{name}.__len__")
    def length():
        buffer, counts = PixelReplayBuffer(10, "cpu"), []
        for transition in episode_transitions(13):
            counts.append(len(buffer))
            buffer.append(*transition)
        counts.append(len(buffer))
        if counts != [*range(11), 10, 10, 10]:
            raise Failure(
                f"len() gave {counts} after 0 to 13 appends, with capacity 10",
                "__len__ counts something else than the stored transitions (at most capacity)",
                f"{name}.__len__",
            )

    if not report.all_passed:
        return False
    shapes = {"X": (8, FRAMES, SIDE, SIDE), "A": (8, ACT_DIM), "R": (8,), "Y": (8, FRAMES, SIDE, SIDE), "D": (8,)}

    @report.check("sample gives float32 tensors X (B, 4, 84, 84), A (B, 2), R (B,), Y (B, 4, 84, 84), D (B,)",
                  sample)
    def shapes_and_dtypes():
        for label, value in zip(shapes, filled(100, 20).sample(8), strict=True):
            tensor(value, label, sample)
            if tuple(value.shape) != shapes[label]:
                mistake = "the rows are stacked in the wrong way"
                if value.dim() == 2 and value.shape[-1:] == (1,):
                    mistake = "a trailing dimension of 1: shape (B, 1) broadcasts with Q-values (B,) into (B, B)"
                raise Failure(f"{label} has shape {tuple(value.shape)}, expected {shapes[label]}", mistake, sample)
            if value.dtype != torch.float32:
                raise Failure(
                    f"{label} has dtype {value.dtype}",
                    "frames are stored as uint8 but sampled as float32 (.float()); rewards and flags too "
                    "(1 - D fails on bools)",
                    sample,
                )

    @report.check("sampled X and Y hold the pixel values 0..255, not scaled", sample)
    def pixel_values():
        X, _, _, Y, _ = (torch.as_tensor(value).float() for value in filled(100, 20).sample(16))
        if max(X.max(), Y.max()) <= 1.0 + 1e-6:
            raise Failure(
                f"sampled states lie in [{X.min():.3g}, {X.max():.3g}]",
                "the buffer divides by 255: the networks take pixel values in [0, 255] and scale them themselves",
                sample,
            )

    @report.check("each sampled row is one stored transition: s, a, r and s' of the same step, "
                  "episode starts included", f"{sample} and append")
    def rows_consistent():
        if report.failed:
            raise NotJudged("not judged while the sampled batch is not as expected (see the FAIL above)")
        transitions = episode_transitions(40)
        buffer = filled(100, 40)
        for _ in range(5):
            X, A, R, Y, _ = (torch.as_tensor(value).float() for value in buffer.sample(16))
            numbers_ = transition_number(Y)
            if numbers_.min() < 0 or numbers_.max() >= len(transitions):
                raise Failure(
                    "the newest frame of a sampled s' is no frame that was appended as the newest of an s'",
                    "Y is not next_state: store next_state's newest frame, and sample it as the last of Y",
                    f"{sample} and append",
                )
            wrong, bad_rows, starts = set(), 0, 0
            for row, i in enumerate(numbers_.tolist()):
                state, action, reward, next_state, _ = transitions[i]
                checks = {"X": (X[row], state), "A": (A[row], action), "R": (R.reshape(-1)[row], reward),
                          "Y": (Y[row], next_state)}
                bad = {label for label, (got, expected) in checks.items()
                       if not torch.allclose(got, torch.as_tensor(np.asarray(expected), dtype=torch.float32))}
                wrong |= bad
                bad_rows += bool(bad)
                starts += bool(bad) and np.array_equal(state[0], state[-1])
            if wrong:
                mistake = (
                    "X, A, R, Y drawn with different random indices, or fields stored in another order than "
                    "append(s, a, r, s', terminated): draw one set of indices and gather every field with it"
                )
                if starts == bad_rows:  # only first steps of episodes are wrong
                    mistake = (
                        "at the first step of an episode, s is its first frame 4 times, not the frames of the "
                        "episode before: keep each transition's own 5 frames (the 4 of s, then the newest of s')"
                    )
                raise Failure(
                    f"in sampled rows, {', '.join(sorted(wrong))} do not belong to the transition of Y",
                    mistake,
                    f"{sample} and append",
                )

    @report.check("terminated is stored as given (truncation is not termination)", append)
    def terminated_as_given():
        for flag in (True, False):
            buffer = PixelReplayBuffer(30, "cpu")
            for state, action, reward, next_state, _ in episode_transitions(30):
                buffer.append(state, action, reward, next_state, flag)
            D = torch.as_tensor(buffer.sample(30)[4]).float().reshape(-1)
            if torch.all(D == float(flag)):
                continue
            if torch.all(D == 1 - float(flag)):
                mistake = "the buffer stores 1 - terminated (a 'not done' mask); store terminated as given"
            else:
                mistake = "terminated is not stored, stored altered, or sampled from other rows than the states"
            raise Failure(f"after appending only terminated={flag} transitions, D holds {numbers(D.unique())}",
                          mistake, append)

    @report.check("past capacity, the newest transitions replace the oldest", append)
    def wraps_around():
        buffer = filled(10, 25)
        if len(buffer) != 10:
            raise Failure(f"after 25 appends with capacity 10, len() = {len(buffer)}",
                          "the buffer grows past its capacity, or len() counts the appends", append)
        seen = {int(i) for _ in range(30) for i in transition_number(buffer.sample(10)[3]).tolist()}
        if seen != set(range(15, 25)):
            mistake = "the write index does not wrap around to 0 at capacity (a ring buffer)"
            if seen <= set(range(10)):
                mistake = "appending stops at capacity: the newest transitions are dropped, not the oldest"
            raise Failure(f"with capacity 10 and transitions 0 to 24 appended, samples hold {sorted(seen)}, "
                          "expected 15 to 24", mistake, append)

    @report.check("sample draws rows at random", sample)
    def random_rows():
        buffer = filled(100, 100)
        batches = [transition_number(buffer.sample(16)[3]) for _ in range(20)]
        distinct = len(set(torch.cat(batches).tolist()))
        if torch.equal(batches[0], batches[1]) or distinct < 60:
            raise Failure(
                f"20 samples of 16 out of 100 transitions drew only {distinct} distinct transitions",
                "rows are not drawn uniformly at random among all stored transitions",
                sample,
            )

    @report.check(f"frames are stored once, as uint8: at most {MOST_BYTES:,} bytes per transition "
                  "(5 frames, 35,280 bytes, and a few more)", append)
    def frames_once():
        check_bytes_per_transition(filled(CAPACITY, CAPACITY + 7), CAPACITY, append)

    return report.all_passed


def check_bytes_per_transition(buffer, capacity, look_at):
    """A FAIL unless the full `buffer` holds at most MOST_BYTES per transition, naming the likely layout."""
    per_transition = stored_bytes(buffer) / capacity
    if per_transition <= MOST_BYTES:
        return
    mistake = "s and s' are stored as two stacks: they share all but one frame, store the 5 frames once"
    if per_transition >= 4 * FRAMES * FRAME_BYTES:
        mistake = "the frames are stored as float32 (or float64): keep them uint8 and convert each minibatch"
    raise Failure(
        f"{per_transition:,.0f} bytes per transition (the arrays and tensors the buffer holds, once full, "
        f"divided by its capacity {capacity})",
        mistake,
        look_at,
    )
