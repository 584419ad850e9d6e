"""Notebook 5 (DDPG from pixels, optional): the students' networks, frame buffers and agents.

Each file runs after the first correct file of each earlier exercise of the notebook, as in the notebook:
the agent's check gets the student's pixel_networks and PixelReplayBuffer of 3.1 and 3.2;
tests/test_checks_pixels.py also runs each correct agent with each correct networks file."""

NOTEBOOK = "05_ddpg_from_pixels.ipynb"
EXERCISES = [
    dict(name="pixel_networks", attempt_cell="38b300b0", load_cells=["pixelnetworksload"],
         check="check_pixel_networks(pixel_networks)",
         correct=["networks_shared_module.py", "networks_sequential_detached.py"],
         wrong={"networks_two_encoders.py": "each network builds an encoder of its own"}),
    dict(name="frame_buffer", attempt_cell="pixelbufferattempt", load_cells=["pixelframebufferload"],
         check="check_frame_buffer(PixelReplayBuffer)",
         correct=["buffer_numpy.py", "buffer_deque.py"],
         wrong={"buffer_two_stacks.py": "s and s' are stored as two stacks"}),
    dict(name="pixel_ddpg", attempt_cell="pixelagentattempt", load_cells=["pixelddpgload"],
         check="check_pixel_ddpg_agent(pixel_ddpg_agent, pixel_networks)",
         correct=["agent_course_loop.py", "agent_own_loop.py"],
         wrong={"the actor's optimiser holds the shared encoder": dict(
                     base="agent_course_loop.py",
                     replace={"[p for p in self.pi.parameters() if id(p) not in encoder]":
                              "list(self.pi.parameters())"},
                     fail="the shared encoder's most likely")}),
]
