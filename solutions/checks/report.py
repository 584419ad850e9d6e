"""The report of a check: one PASS, FAIL or SKIP line per property, the FAIL line's "Likely mistake"
and "Look at" notes, and the decorator that runs a check on seeded random generators.

A property is a function decorated with `report.check(name, look_at)`: it passes unless it raises.
It raises `Failure(seen, mistake, look_at)` when the property does not hold, and `NotJudged` when
another property's FAIL already names the mistake that keeps it from being judged.
"""

import functools
import inspect
import random
import traceback
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

CHECKS_DIR = str(Path(__file__).parent)  # frames in these files are the checks', not the student's

DEFAULT_ERROR_HINT = "the code raises an exception on a small, valid input"


class Failure(Exception):
    """A property does not hold: what was seen, the likely mistake, and where to look."""

    def __init__(self, seen, mistake, look_at):
        super().__init__(seen)
        self.seen, self.mistake, self.look_at = seen, mistake, look_at


class NotJudged(Exception):
    """A property cannot be judged because of a mistake another property has already named: the
    report prints a SKIP line that points at it, so that one mistake gives one FAIL."""


class Report:
    """Runs the properties of one check, prints one line for each, and remembers if all passed."""

    def __init__(self, cls):
        self.cls = cls
        self.all_passed = True
        self.failed = set()  # the names of the properties that failed

    def check(self, name, look_at, on_error=DEFAULT_ERROR_HINT):
        """Decorator: runs the decorated test at once. It passes unless it raises; it may return a
        note to print after PASS. Any exception is reported as a FAIL line, never raised."""

        def run(test):
            try:
                note = test()
            except Failure as failure:
                self.fail(name, failure.seen, failure.mistake, failure.look_at)
            except NotJudged as reason:
                print(f"SKIP {name}: {reason}")
            except Exception as error:  # a broken class gives a FAIL line, not a crash
                lines = str(error).strip().splitlines()
                seen = f"raised {type(error).__name__}" + (f": {lines[0][:200]}" if lines else "")
                mistake = on_error
                if isinstance(error, AttributeError) and on_error == DEFAULT_ERROR_HINT:
                    mistake = "a method or attribute is missing, or named differently from the reference's"
                self.fail(name, seen, mistake, self.where(error, look_at))
            else:
                print(f"PASS {name}" + (f" (note: {note})" if note else ""))
            return test

        return run

    def build(self, name, make, look_at):
        """Run `make()` as a property; return what it built, or None if it failed."""
        built = []
        self.check(name, look_at)(lambda: built.append(make()))
        return built[0] if built else None

    def fail(self, name, seen, mistake, look_at):
        self.all_passed = False
        self.failed.add(name)
        print(f"FAIL {name}: {seen.rstrip('.')}. Likely mistake: {mistake.rstrip('.')}. Look at: {look_at}")

    def where(self, error, look_at):
        """`look_at`, and the line of the checked code that raised `error` when it can be found."""
        libraries = [str(Path(module.__file__).parent) for module in (torch, np, gym, random)]
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if not frame.filename.startswith(CHECKS_DIR) and not any(frame.filename.startswith(d) for d in libraries)
        ]
        try:
            own_file = inspect.getsourcefile(self.cls)
        except (TypeError, OSError):
            own_file = None
        frames = [frame for frame in frames if frame.filename == own_file] or frames
        if not frames:
            return look_at
        frame = frames[-1]
        text = (frame.line or "").strip()
        return f"{look_at}; raised in {frame.name}, line {frame.lineno}" + (f": `{text}`" if text else "")


def isolated(check):
    """Run a check with seeded random generators, and give the caller its random state back. The
    check takes a class, and may take more (an agent check also takes the network classes)."""

    @functools.wraps(check)
    def wrapper(cls, *networks, **named):
        numpy_state, python_state = np.random.get_state(), random.getstate()
        try:
            with torch.random.fork_rng(devices=[]), torch.enable_grad():
                torch.manual_seed(0)
                np.random.seed(0)
                random.seed(0)
                return check(cls, *networks, **named)
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)

    return wrapper


def shape(x):
    """The shape of a tensor or an array as a tuple; the type's name for anything else."""
    return tuple(x.shape) if hasattr(x, "shape") else type(x).__name__


def numbers(values):
    """A short text for a few numbers: [-172, 0.5]."""
    return "[" + ", ".join(f"{float(v):.3g}" for v in values) + "]"


def tensor(y, name, look_at):
    """y, or a FAIL if it is not a torch tensor."""
    if not isinstance(y, torch.Tensor):
        raise Failure(
            f"{name} is a {type(y).__name__}, not a torch tensor",
            "a conversion to NumPy or to a Python number: keep torch tensors",
            look_at,
        )
    return y
