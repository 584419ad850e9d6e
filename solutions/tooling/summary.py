"""The summary of a sweep: per cell of the grid, steps to a threshold, the final return's IQM with a 95%
bootstrap interval over seeds, and the mean evaluated return ± its interval against environment steps.

    summary(records, out)  # writes out/summary.md and out/summary.png, returns the markdown
"""

from pathlib import Path

import gymnasium as gym
import numpy as np
from matplotlib.figure import Figure
from scipy import stats


def cell_name(record):
    spec = record["spec"]
    variant = "" if spec["variant"] in ("default", spec["algo"]) else f" ({spec['variant']})"
    return f"{spec['algo']}{variant}", spec["env"]


def iqm(values, axis=-1):
    """Interquartile mean: the mean of the middle 50% of the values (robust to one outlying seed)."""
    return stats.trim_mean(values, 0.25, axis=axis)


def bootstrap_ci(values, statistic):
    """95% percentile-bootstrap interval of `statistic` over seeds (scipy.stats.bootstrap); NaN for one seed."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    result = stats.bootstrap((values,), statistic, confidence_level=0.95, n_resamples=2000,
                             method="percentile", random_state=0)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def threshold_for(env_id, threshold):
    """The given threshold, else the environment's registered reward_threshold (950 for the pendulum)."""
    return threshold if threshold is not None else gym.spec(env_id).reward_threshold


def steps_to_reach(record, threshold):
    return next((steps for steps, mean, _ in record["evaluations"] if mean >= threshold), None)


def summary(results, out, threshold=None):
    """Write out/summary.md (one row per cell of the grid) and out/summary.png; return the markdown."""
    cells = {}
    for r in results:
        if "error" not in r:
            cells.setdefault(cell_name(r), []).append(r)
    lines = ["| agent | environment | seeds | budget | threshold | reached | median steps to threshold | "
             "steps per seed | final return IQM [95% CI] | train s per seed |", "|---" * 10 + "|"]
    for (agent, env_id), runs in cells.items():
        runs.sort(key=lambda r: r["spec"]["seed"])
        level = threshold_for(env_id, threshold)
        reached = [steps_to_reach(r, level) if level is not None else None for r in runs]
        median = np.median([np.inf if s is None else s for s in reached])
        budget = max(r["spec"]["steps"] for r in runs)
        median_text = f"{median:,.0f}" if np.isfinite(median) else f"> {budget:,}"
        final = [r["evaluations"][-1][1] for r in runs]
        low, high = bootstrap_ci(final, iqm)
        interval = f" [{low:.0f}, {high:.0f}]" if np.isfinite(low) else ""
        seeds = ", ".join(str(r["spec"]["seed"]) for r in runs)
        per_seed = ", ".join("—" if s is None else f"{s:,}" for s in reached)
        seconds = ", ".join(f"{r['timing']['train_seconds']:.0f}" for r in runs)
        level_text = "—" if level is None else f"{level:g}"
        lines.append(f"| {agent} | {env_id} | {seeds} | {budget:,} | {level_text} | "
                     f"{sum(s is not None for s in reached)}/{len(runs)} | {median_text} | {per_seed} | "
                     f"{iqm(final):.0f}{interval} | {seconds} |")
    failed = [r for r in results if "error" in r]
    lines += [""] + [f"FAILED {r['run_id']}: {r['error']}" for r in failed] + [""] * bool(failed)
    lines.append("Final return: the last evaluation of each seed (mean over its evaluation episodes); IQM with a "
                 "95% percentile-bootstrap interval over seeds (scipy.stats.bootstrap, 2,000 resamples). An "
                 "unreached threshold counts as more than the budget for the median.")
    text = "\n".join(lines) + "\n"
    Path(out, "summary.md").write_text(text)
    plot_summary(cells, threshold, Path(out, "summary.png"))
    return text


def plot_summary(cells, threshold, path):
    """Mean evaluated return over seeds ± its 95% bootstrap CI against environment steps, one panel per env."""
    envs = sorted({env_id for _, env_id in cells})
    # A Figure of its own, not pyplot's: summaries are written to files, on machines that may have no
    # display, and a notebook that imports this module keeps its inline figures.
    fig = Figure(figsize=(6.5 * len(envs), 4))
    axes = fig.subplots(1, len(envs), squeeze=False)
    for ax, env_id in zip(axes[0], envs):
        for (agent, cell_env), runs in cells.items():
            if cell_env != env_id:
                continue
            by_step = {}
            for r in runs:
                for steps, mean, _ in r["evaluations"]:
                    by_step.setdefault(steps, []).append(mean)
            steps = np.array(sorted(by_step))
            means = np.array([np.mean(by_step[s]) for s in steps])
            intervals = np.array([bootstrap_ci(by_step[s], np.mean) for s in steps])
            line, = ax.plot(steps, means, marker="o", markersize=3, label=f"{agent} ({len(runs)} seeds)")
            ax.fill_between(steps, intervals[:, 0], intervals[:, 1], color=line.get_color(), alpha=0.2)
        level = threshold_for(env_id, threshold)
        if level is not None:
            ax.axhline(level, color="grey", linestyle="--", linewidth=1, label=f"threshold ({level:g})")
        ax.set(title=env_id, xlabel="environment steps", ylabel="evaluated return (mean, 95% CI)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
