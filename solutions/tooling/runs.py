"""One training run with evaluations: what the command line's `train` and every run of a sweep do.

    run = train_and_evaluate(agent, env, eval_env, steps=10_000, eval_every=1000)

The agent trains in chunks of `eval_every` environment steps; after each chunk its deterministic
policy (`agent.pi`) is evaluated on `eval_env`, a separate environment, so that the training episode
in progress is left alone. With `stop_at_return`, the run ends at the first evaluation that reaches it.
"""

import time

from solutions.evaluation import evaluate


def new_run_record():
    """What a run gathers: episode returns and the steps they ended at, evaluations, and its timing."""
    return {"episode_returns": [], "episode_end_steps": [], "evaluations": [],
            "train_seconds": 0.0, "eval_seconds": 0.0}


def train_and_evaluate(agent, env, eval_env, steps, eval_every=None, eval_episodes=10, eval_seed=10_000,
                       stop_at_return=None, run=None, on_evaluation=None):
    """Train `agent` on `env` for `steps` more environment steps, evaluating every `eval_every` of them.

    Returns `run` (a new record when None), with this call's episodes and evaluations appended; each
    evaluation is [env_steps, mean, std] over `eval_episodes` episodes from reset seed `eval_seed` on.
    `eval_every=None` trains in one chunk without evaluating. `on_evaluation(env_steps, mean, std)` is
    called after each evaluation (a progress bar, a printed line).
    """
    run = {} if run is None else run
    for key, empty in new_run_record().items():  # a new record, or one resumed from an older checkpoint
        run.setdefault(key, empty)
    end = agent.env_steps + steps
    while agent.env_steps < end:
        started = time.perf_counter()
        agent.train(env, min(eval_every or steps, end - agent.env_steps))
        run["train_seconds"] += time.perf_counter() - started
        run["episode_returns"] += [float(r) for r in agent.episode_returns]
        run["episode_end_steps"] += [int(s) for s in agent.episode_end_steps]
        if eval_every is None:
            continue
        started = time.perf_counter()
        mean, std = evaluate(eval_env, agent.pi, n_episodes=eval_episodes, seed=eval_seed)
        run["eval_seconds"] += time.perf_counter() - started
        run["evaluations"].append([agent.env_steps, mean, std])
        if on_evaluation is not None:
            on_evaluation(agent.env_steps, mean, std)
        if stop_at_return is not None and mean >= stop_at_return:
            break
    return run
