"""Training budgets for the notebooks: full by default, tiny in quick mode.

Set the environment variable COURSE_QUICK=1 (the notebook tests do) and every budget read through
`training_budget` shrinks to its quick value, so that all notebooks run in minutes. Students leave
it unset and get the budgets that really learn.
"""

import os

QUICK_MODE = os.environ.get("COURSE_QUICK", "0") not in ("", "0", "false", "False")


def training_budget(full, quick):
    """`quick` in quick mode (COURSE_QUICK=1), `full` otherwise."""
    return quick if QUICK_MODE else full
