"""Students' CrossQ critics and agents for notebook 4, written from the statement of section 5."""

NOTEBOOK = "04_going_further.ipynb"
EXERCISES = [
    dict(
        name="crossq",
        attempt_cell="fcdd5373",
        load_cells=["6977cc1b"],
        check=(
            "check_crossq_network(crossQNetwork) and "
            "check_crossq_agent(crossq_agent, crossQNetwork, squashedGaussianPolicy)"
        ),
        correct=["crossq_own_loop.py", "crossq_course_loop.py"],
        wrong={
            "two passes through each critic": dict(
                base="crossq_course_loop.py",
                replace={"q1, next_q1 = self.joint_q_values(self.Q1, X, A, Y, next_action)":
                         "q1, next_q1 = self.Q1(X, A), self.Q1(Y, next_action)",
                         "q2, next_q2 = self.joint_q_values(self.Q2, X, A, Y, next_action)":
                         "q2, next_q2 = self.Q2(X, A), self.Q2(Y, next_action)",
                         "q, next_q = Q(torch.cat([X, Y]), torch.cat([A, next_action])).chunk(2)\n"
                         "        return q, next_q":
                         "return Q(X, A), Q(Y, next_action)"},
                fail="in two passes"),
            "momentum 0.99 (Flax's convention)": dict(
                base="crossq_own_loop.py", replace={"momentum=0.01": "momentum=0.99"}, fail="Flax's convention"),
        },
    ),
]
