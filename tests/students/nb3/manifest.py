"""Notebook 3 (SAC): students' implementations of its coding exercises, written from the statements."""

NOTEBOOK = "03_sac.ipynb"
EXERCISES = [
    dict(name="squashed-Gaussian policy", attempt_cell="ba0145dc", load_cells=["69b255bc"],
         check="check_squashed_gaussian_policy(squashedGaussianPolicy)",
         correct=["sgp_transformed.py", "sgp_manual.py"],
         wrong={"sgp_no_scale_term.py": "the action-scale term - Σ log(action_scale) is missing"}),
    dict(name="sac", attempt_cell="b88bd3ff", load_cells=["e65527da"],
         check="check_sac_agent(sac_agent, QNetwork, squashedGaussianPolicy)",
         correct=["sac_own_loop.py", "sac_course_loop.py"],
         wrong={"sac_target_not_detached.py": "the target is not detached"}),
    dict(name="discrete sac", attempt_cell="1eb89490", load_cells=["c69d235c"],
         check="check_discrete_q_network(discreteQNetwork) and check_categorical_policy(categoricalPolicy) "
               "and check_sac_discrete_agent(sac_discrete_agent, discreteQNetwork, categoricalPolicy)",
         correct=["sac_discrete_course_loop.py", "sac_discrete_own_loop.py"],
         wrong={"next actions averaged, not weighted by π": dict(
             base="sac_discrete_course_loop.py",
             replace={"(probs * (q - self.alpha * log_probs)).sum(-1)": "(q - self.alpha * log_probs).mean(-1)"},
             fail="not weighted by π(a'|s')")}),
]
