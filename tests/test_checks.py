"""The checks pass the reference solutions, and name the mistake planted in a broken copy of each.

Each planted mistake is a small subclass of a reference class, with one method rewritten the way a
student might get it wrong.
"""

import math
import time

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions import checks
from solutions.crossq import crossq_agent
from solutions.ddpg import ddpg_agent
from solutions.gradient_step import gradient_step
from solutions.networks import QNetwork, action_bounds, policyNetwork
from solutions.pixel_ddpg import pixel_ddpg_agent
from solutions.replay_buffer import ReplayBuffer
from solutions.sac import sac_agent
from solutions.sac_discrete import sac_discrete_agent
from solutions.sac_policy import squashed_log_prob, squashedGaussianPolicy
from solutions.td3 import td3_agent

REFERENCES = {
    "check_q_network": QNetwork,
    "check_policy_network": policyNetwork,
    "check_replay_buffer": ReplayBuffer,
    "check_ddpg_agent": ddpg_agent,
    "check_td3_agent": td3_agent,
    "check_squashed_gaussian_policy": squashedGaussianPolicy,
    "check_sac_agent": sac_agent,
    "check_crossq_agent": crossq_agent,
    "check_sac_discrete_agent": sac_discrete_agent,
    "check_pixel_ddpg_agent": pixel_ddpg_agent,
}


def run(check_name, cls, capsys):
    """Run a check; return its result and the lines it printed."""
    result = getattr(checks, check_name)(cls)
    lines = capsys.readouterr().out.strip().splitlines()
    return result, lines


# --- Q-network ------------------------------------------------------------------------------


class QIgnoresAction(QNetwork):
    def forward(self, state, action):
        return self.net(torch.cat([state, torch.zeros_like(action)], dim=-1)).squeeze(-1)


class QConcatenatesOnDim1(QNetwork):
    def forward(self, state, action):
        return self.net(torch.cat([state, action], dim=1)).squeeze(-1)


class QUnusedLayer(QNetwork):
    def __init__(self, env):
        super().__init__(env)
        self.extra = nn.Linear(4, 4)


class QKeepsTrailingOne(QNetwork):
    def forward(self, state, action):
        return self.net(torch.cat([state, action], dim=-1))


# --- Policy network -------------------------------------------------------------------------


class PolicyNoScaling(policyNetwork):
    def forward(self, state):
        return torch.tanh(self.net(state))


class PolicyNoBias(policyNetwork):
    def forward(self, state):
        return torch.tanh(self.net(state)) * self.action_scale


class PolicyNoTanh(policyNetwork):
    def forward(self, state):
        return self.net(state) * self.action_scale + self.action_bias


class PolicyTanhTwice(policyNetwork):
    def forward(self, state):
        return torch.tanh(torch.tanh(self.net(state))) * self.action_scale + self.action_bias


class PolicyScaleIsParameter(policyNetwork):
    def __init__(self, env):
        super().__init__(env)
        scale, bias = self._buffers.pop("action_scale"), self._buffers.pop("action_bias")
        self.action_scale, self.action_bias = nn.Parameter(scale), nn.Parameter(bias)


class PolicyScaleIsPlainTensor(policyNetwork):
    def __init__(self, env):
        super().__init__(env)
        scale, bias = self._buffers.pop("action_scale"), self._buffers.pop("action_bias")
        self.action_scale, self.action_bias = scale.clone(), bias.clone()


# --- Replay buffer --------------------------------------------------------------------------


class BufferKeepsFloatCapacity(ReplayBuffer):
    def __init__(self, capacity, device="cpu"):
        super().__init__(capacity, device)
        self.capacity = capacity  # 1e3 stays a float


class BufferStopsWhenFull(ReplayBuffer):
    def append(self, state, action, reward, next_state, terminated):
        if self.size < self.capacity:
            super().append(state, action, reward, next_state, terminated)


class BufferStoresNotDone(ReplayBuffer):
    def append(self, state, action, reward, next_state, terminated):
        super().append(state, action, reward, next_state, not terminated)


class BufferNoSizeCheck(ReplayBuffer):
    def sample(self, batch_size):
        rows = torch.randint(0, self.capacity, (batch_size,))
        return tuple(self.storage[k][rows] for k in ("state", "action", "reward", "next_state", "terminated"))


class BufferIndependentIndices(ReplayBuffer):
    def sample(self, batch_size):
        if batch_size > self.size:
            raise ValueError("not enough transitions")
        return tuple(
            self.storage[k][torch.randint(0, self.size, (batch_size,))]
            for k in ("state", "action", "reward", "next_state", "terminated")
        )


class BufferFloat64(ReplayBuffer):
    def sample(self, batch_size):
        return tuple(t.double() for t in super().sample(batch_size))


# --- DDPG -----------------------------------------------------------------------------------


class DDPGNoDone(ddpg_agent):
    def critic_target(self, R, Y, D):
        with torch.no_grad():
            return R + self.gamma * self.Q_target(Y, self.pi_target(Y))


class DDPGOnlineTarget(ddpg_agent):
    def critic_target(self, R, Y, D):
        with torch.no_grad():
            return R + self.gamma * (1 - D) * self.Q(Y, self.pi(Y))


class DDPGNotDetached(ddpg_agent):
    """Target copies that still require gradients, and a target computed with a graph."""

    def __init__(self, config, Q, pi):
        super().__init__(config, Q, pi)
        self.Q_target.requires_grad_(True)
        self.pi_target.requires_grad_(True)

    def critic_target(self, R, Y, D):
        return R + self.gamma * (1 - D) * self.Q_target(Y, self.pi_target(Y))


class DDPGTextbookActorStep(ddpg_agent):
    """zero_grad(); loss.backward(); step(): correct, gradients also reach the critic's .grad."""

    def actor_step(self, X):
        actor_loss = -self.Q(X, self.pi(X)).mean()
        self.pi_optimizer.zero_grad()
        actor_loss.backward()
        self.pi_optimizer.step()


class DDPGActorLossSign(ddpg_agent):
    def actor_step(self, X):
        self.Q.requires_grad_(False)
        actor_loss = self.Q(X, self.pi(X)).mean()
        self.pi_optimizer.zero_grad()
        actor_loss.backward()
        self.pi_optimizer.step()
        self.Q.requires_grad_(True)


class DDPGTauSwapped(ddpg_agent):
    @torch.no_grad()
    def soft_update(self):
        for target, online in ((self.Q_target, self.Q), (self.pi_target, self.pi)):
            for t, o in zip(target.parameters(), online.parameters(), strict=True):
                t.copy_((1 - self.tau) * o + self.tau * t)


class DDPGSoftUpdateRebinds(ddpg_agent):
    @torch.no_grad()
    def soft_update(self):
        for target, online in ((self.Q_target, self.Q), (self.pi_target, self.pi)):
            for t, o in zip(target.parameters(), online.parameters(), strict=True):
                t = self.tau * o + (1 - self.tau) * t  # the planted mistake: rebinds t, changes nothing


class DDPGExploreNotClipped(ddpg_agent):
    @torch.no_grad()
    def explore(self, state):
        action = self.pi(torch.as_tensor(state, dtype=torch.float32))
        noise = self.config["exploration_noise"] * self.pi.action_scale * torch.randn_like(action)
        return (action + noise).numpy()


# --- TD3 ------------------------------------------------------------------------------------


class TD3PolicyEveryStep(td3_agent):
    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        self.actor_step(X)
        self.soft_update()


class TD3TargetsEveryStep(td3_agent):
    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        if self.critic_updates % self.policy_update_freq == 0:
            self.actor_step(X)
        self.soft_update()


def td3_target(agent, R, Y, D, reduce=torch.min, clip_noise=True, bounds="per dimension", noise=True):
    """The reference TD3 target with one step changed."""
    with torch.no_grad():
        next_action = agent.pi_target(Y)
        noise = torch.randn_like(next_action) * agent.config["action_noise_scale"] * noise
        if clip_noise:
            noise = noise.clamp(-agent.config["action_noise_clip"], agent.config["action_noise_clip"])
        next_action = next_action + noise * agent.pi.action_scale
        if bounds == "per dimension":
            next_action = next_action.clamp(*action_bounds(agent.pi))
        elif bounds == "first dimension":
            low, high = action_bounds(agent.pi)
            next_action = next_action.clamp(low[0].item(), high[0].item())
        next_q = reduce(agent.Q1_target(Y, next_action), agent.Q2_target(Y, next_action))
        return R + agent.gamma * (1 - D) * next_q


class TD3TextbookActorStep(td3_agent):
    def actor_step(self, X):
        actor_loss = -self.Q1(X, self.pi(X)).mean()
        self.pi_optimizer.zero_grad()
        actor_loss.backward()
        self.pi_optimizer.step()


class TD3NoSmoothing(td3_agent):
    def critic_target(self, R, Y, D):
        return td3_target(self, R, Y, D, noise=False)


class TD3TakesMax(td3_agent):
    def critic_target(self, R, Y, D):
        return td3_target(self, R, Y, D, reduce=torch.max)


class TD3NoiseNotClipped(td3_agent):
    def critic_target(self, R, Y, D):
        return td3_target(self, R, Y, D, clip_noise=False)


class TD3NextActionNotClipped(td3_agent):
    def critic_target(self, R, Y, D):
        return td3_target(self, R, Y, D, bounds=None)


class TD3ClipsWithFirstBounds(td3_agent):
    def critic_target(self, R, Y, D):
        return td3_target(self, R, Y, D, bounds="first dimension")


# --- Squashed-Gaussian policy ---------------------------------------------------------------


class SquashedPolicy(squashedGaussianPolicy):
    """The reference policy with the log-probability computed by `log_prob(u, mean, log_std)`."""

    def sample(self, state):
        mean, log_std = self.mean_and_log_std(state)
        u = mean + log_std.exp() * torch.randn_like(mean)
        action = torch.tanh(u) * self.action_scale + self.action_bias
        return action, self.log_prob(u, mean, log_std)

    def gaussian(self, u, mean, log_std):
        return (-0.5 * ((u - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


class PolicyNoTanhCorrection(SquashedPolicy):
    def log_prob(self, u, mean, log_std):
        return self.gaussian(u, mean, log_std) - torch.log(self.action_scale).sum()


class PolicyNoScaleTerm(SquashedPolicy):
    def log_prob(self, u, mean, log_std):
        return self.gaussian(u, mean, log_std) - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)


class PolicyNaiveTanhCorrection(SquashedPolicy):
    def log_prob(self, u, mean, log_std):
        correction = torch.log(1 - torch.tanh(u) ** 2).sum(-1)
        return self.gaussian(u, mean, log_std) - correction - torch.log(self.action_scale).sum()


class PolicyEpsilonCorrection(SquashedPolicy):
    """CleanRL's form, log(action_scale (1 - tanh²(u)) + 1e-6): not a mistake."""

    def log_prob(self, u, mean, log_std):
        correction = torch.log(self.action_scale * (1 - torch.tanh(u) ** 2) + 1e-6).sum(-1)
        return self.gaussian(u, mean, log_std) - correction


class PolicyNotReparametrised(squashedGaussianPolicy):
    def sample(self, state):
        mean, log_std = self.mean_and_log_std(state)
        u = torch.distributions.Normal(mean, log_std.exp()).sample()
        action = torch.tanh(u) * self.action_scale + self.action_bias
        return action, squashed_log_prob(u, mean, log_std, self.action_scale)


class PolicyUnboundedLogStd(squashedGaussianPolicy):
    def mean_and_log_std(self, state):
        features = self.body(state)
        return self.mean_head(features), self.log_std_head(features)


class PolicyForwardSamples(squashedGaussianPolicy):
    def forward(self, state):
        return self.sample(state)[0]


# --- SAC ------------------------------------------------------------------------------------


class SACActorUsesTargets(sac_agent):
    def actor_step(self, X):
        action, log_prob = self.pi.sample(X)
        q = torch.min(self.Q1_target(X, action), self.Q2_target(X, action))
        actor_loss = (self.alpha * log_prob - q).mean()
        self.pi_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.pi_optimizer.step()
        return log_prob.detach()


class SACAlphaSignFlipped(sac_agent):
    def temperature_step(self, log_prob):
        alpha_loss = (self.log_alpha * (log_prob + self.target_entropy)).mean()
        self.alpha_optimizer.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.alpha_optimizer.step()


class SACNoDone(sac_agent):
    def critic_target(self, R, Y, D):
        with torch.no_grad():
            next_action, next_log_prob = self.pi.sample(Y)
            next_q = torch.min(self.Q1_target(Y, next_action), self.Q2_target(Y, next_action))
            return R + self.gamma * (next_q - self.alpha * next_log_prob)


class SACNoEntropyTerm(sac_agent):
    def critic_target(self, R, Y, D):
        with torch.no_grad():
            next_action, _ = self.pi.sample(Y)
            next_q = torch.min(self.Q1_target(Y, next_action), self.Q2_target(Y, next_action))
            return R + self.gamma * (1 - D) * next_q


class SACTextbookActorStep(sac_agent):
    def actor_step(self, X):
        action, log_prob = self.pi.sample(X)
        actor_loss = (self.alpha * log_prob - torch.min(self.Q1(X, action), self.Q2(X, action))).mean()
        self.pi_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.pi_optimizer.step()
        return log_prob.detach()


class SACExploresDeterministically(sac_agent):
    @torch.no_grad()
    def explore(self, state):
        return self.pi(torch.as_tensor(state, dtype=torch.float32)).numpy()


class SACTauSwapped(sac_agent):
    @torch.no_grad()
    def soft_update(self):
        for target, online in ((self.Q1_target, self.Q1), (self.Q2_target, self.Q2)):
            torch._foreach_lerp_(list(target.parameters()), list(online.parameters()), 1 - self.tau)


# --- DDPG from pixels -----------------------------------------------------------------------


class PixelActorTrainsEncoder(pixel_ddpg_agent):
    """The actor's optimiser holds the shared encoder, and the actor's loss reaches it."""

    def __init__(self, config, Q, pi):
        super().__init__(config, Q, pi)
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=self.config["learning_rate"])

    def actor_step(self, X):
        features = self.Q.encoder(X)
        actor_loss = -self.Q.from_features(features, self.pi.from_features(features)).mean()
        gradient_step(self.pi_optimizer, actor_loss)


class PixelNoDone(pixel_ddpg_agent):
    def critic_target(self, R, Y, D):
        with torch.no_grad():
            return R + self.gamma * self.Q_target(Y, self.pi_target(Y))


# --- Discrete SAC ---------------------------------------------------------------------------


class DiscreteNoDone(sac_discrete_agent):
    def critic_target(self, R, Y, D):
        with torch.no_grad():
            probs, log_probs = self.pi.probabilities(Y)
            next_q = torch.min(self.Q1_target(Y), self.Q2_target(Y))
            return R + self.gamma * (probs * (next_q - self.alpha * log_probs)).sum(dim=-1)


class DiscreteUnweightedValue(sac_discrete_agent):
    def critic_target(self, R, Y, D):
        with torch.no_grad():
            _, log_probs = self.pi.probabilities(Y)
            next_q = torch.min(self.Q1_target(Y), self.Q2_target(Y))
            return R + self.gamma * (1 - D) * (next_q - self.alpha * log_probs).mean(dim=-1)


class DiscreteExploresGreedily(sac_discrete_agent):
    @torch.no_grad()
    def explore(self, state):
        return int(self.pi(torch.as_tensor(state, dtype=torch.float32)))


# --- CrossQ ---------------------------------------------------------------------------------


class CrossQSeparatePasses(crossq_agent):
    @staticmethod
    def joint_q_values(Q, X, A, Y, next_action):
        return Q(X, A), Q(Y, next_action)


class CrossQActorInTrainingMode(crossq_agent):
    def actor_step(self, X):
        action, log_prob = self.pi.sample(X)
        q = torch.min(self.Q1(X, action), self.Q2(X, action))
        gradient_step(self.pi_optimizer, (self.alpha * log_prob - q).mean())
        return log_prob.detach()


class CrossQNoDone(crossq_agent):
    def critic_target(self, R, D, next_q1, next_q2, next_log_prob):
        return (R + self.gamma * (torch.min(next_q1, next_q2) - self.alpha * next_log_prob)).detach()


class CrossQActorEveryStep(crossq_agent):
    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        self.temperature_step(self.actor_step(X))


# --- Training loops with one planted mistake ------------------------------------------------


def planted_train(agent, env, max_steps, mistake):
    """A plain training loop, right except for `mistake`."""
    warm_up = 0 if mistake == "no warm-up" else max(int(agent.config["delay_learning"]), agent.batch_size)
    returns, episode_return, steps = [], 0.0, 0
    state, _ = env.reset()
    for _ in range(max_steps):
        action = env.action_space.sample() if steps < warm_up else agent.explore(state)
        next_state, reward, terminated, truncated, _ = env.step(action)
        done = terminated or truncated if mistake == "done = terminated or truncated" else terminated
        agent.memory.append(state, action, reward, next_state, done)
        steps, episode_return = steps + 1, episode_return + reward
        if steps >= max(warm_up, agent.batch_size):
            agent.update()
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
            state = next_state if mistake == "no reset" else env.reset()[0]
        else:
            state = next_state
    return returns


TRAIN_MISTAKES = {
    "done = terminated or truncated": ("stores terminated only", "`terminated or truncated`"),
    "no warm-up": ("steps act with env.action_space.sample()", "no random warm-up"),
    "no reset": ("resets the environment", "no reset at the end of an episode"),
    "right": (None, None),
}
AGENTS = {
    "check_ddpg_agent": ddpg_agent,
    "check_td3_agent": td3_agent,
    "check_sac_agent": sac_agent,
    "check_crossq_agent": crossq_agent,
    "check_sac_discrete_agent": sac_discrete_agent,
}


@pytest.mark.parametrize("check_name", AGENTS)
@pytest.mark.parametrize("mistake", TRAIN_MISTAKES)
def test_a_planted_mistake_in_train_gives_one_fail_naming_it(check_name, mistake, capsys):
    class Planted(AGENTS[check_name]):
        def train(self, env, max_steps):
            return planted_train(self, env, max_steps, mistake)

    result, lines = run(check_name, Planted, capsys)
    failures = [line for line in lines if line.startswith("FAIL ")]
    property_text, hint = TRAIN_MISTAKES[mistake]
    if property_text is None:  # the plain loop, without a mistake, passes
        assert result is True and not failures, lines
        return
    assert result is False
    assert len(failures) == 1, "\n".join(failures)
    assert property_text in failures[0].split(":")[0] and hint in failures[0], failures[0]


@pytest.mark.parametrize(
    ("check_name", "cls"),
    [
        ("check_ddpg_agent", DDPGTextbookActorStep),
        ("check_td3_agent", TD3TextbookActorStep),
        ("check_sac_agent", SACTextbookActorStep),
    ],
)
def test_the_textbook_actor_step_passes_with_a_note_on_its_cost(check_name, cls, capsys):
    """zero_grad(); loss.backward(); step() learns correctly: a PASS, with a note that the critic's
    gradients were computed for nothing."""
    result, lines = run(check_name, cls, capsys)
    assert result is True, lines
    noted = [line for line in lines if line.startswith("PASS actor_step changes w only")]
    assert noted and "torch.autograd.grad" in noted[0] and "costs a backward pass" in noted[0]


def test_td3_without_smoothing_gives_one_fail_not_a_cascade(capsys):
    result, lines = run("check_td3_agent", TD3NoSmoothing, capsys)
    failures = [line for line in lines if line.startswith("FAIL ")]
    assert result is False and len(failures) == 1, failures
    assert "no smoothing noise" in failures[0]
    assert any(line.startswith("SKIP the noisy next action is clipped") for line in lines), lines


# --- The planted mistakes and the hint each must produce ------------------------------------

PLANTED = [
    ("check_pixel_ddpg_agent", PixelActorTrainsEncoder, "actor_step changes the actor", "the shared encoder's"),
    ("check_pixel_ddpg_agent", PixelNoDone, "critic_target =", "the (1 - terminated) factor is missing"),
    ("check_sac_discrete_agent", DiscreteNoDone, "critic_target =", "the (1 - terminated) factor is missing"),
    ("check_sac_discrete_agent", DiscreteUnweightedValue, "critic_target =", "not weighted by π(a'|s')"),
    ("check_sac_discrete_agent", DiscreteExploresGreedily, "explore", "explore takes the greedy action"),
    ("check_crossq_agent", CrossQSeparatePasses, "one forward pass", "in two passes"),
    ("check_crossq_agent", CrossQActorInTrainingMode, "running statistics", "call Q1.eval() and Q2.eval()"),
    ("check_crossq_agent", CrossQNoDone, "critic_target(R, D", "the (1 - terminated) factor is missing"),
    ("check_crossq_agent", CrossQActorEveryStep, "policy_update_freq", "one every policy_update_freq"),
    ("check_q_network", QIgnoresAction, "depends on the action", "the action is not fed to the network"),
    ("check_q_network", QKeepsTrailingOne, "shape (B,), not (B, 1)", "broadcasts to (B, B)"),
    ("check_q_network", QUnusedLayer, "gradients reach every parameter", "no gradient reaches extra.weight"),
    ("check_policy_network", PolicyNoScaling, "within [low, high]", "no action scaling / no bias"),
    ("check_policy_network", PolicyNoBias, "within [low, high]", "action scaling without the bias"),
    ("check_policy_network", PolicyNoTanh, "within [low, high]", "no tanh"),
    ("check_policy_network", PolicyTanhTwice, "cover the range", "tanh applied twice"),
    ("check_policy_network", PolicyScaleIsParameter, "are buffers", "is an nn.Parameter"),
    ("check_policy_network", PolicyScaleIsPlainTensor, "are buffers", "not a registered buffer"),
    ("check_replay_buffer", BufferKeepsFloatCapacity, "float capacity", "TypeError"),
    ("check_replay_buffer", BufferStopsWhenFull, "newest transitions replace", "appending stops at capacity"),
    ("check_replay_buffer", BufferStoresNotDone, "terminated is stored as given", "stores 1 - terminated"),
    ("check_replay_buffer", BufferNoSizeCheck, "only stored transitions", "rows not written yet"),
    ("check_replay_buffer", BufferIndependentIndices, "one stored transition", "different random indices"),
    ("check_replay_buffer", BufferFloat64, "float32 tensors", "dtype=torch.float32"),
    ("check_ddpg_agent", DDPGNoDone, "critic_target =", "the (1 - terminated) factor is missing"),
    ("check_ddpg_agent", DDPGOnlineTarget, "critic_target =", "online networks Q and π are used"),
    ("check_ddpg_agent", DDPGNotDetached, "detached", "the target is not detached"),
    ("check_ddpg_agent", DDPGActorLossSign, "increases Q(s, π(s))", "the actor loss must be -mean Q"),
    ("check_ddpg_agent", DDPGTauSwapped, "soft_update", "τ and 1 - τ are swapped"),
    ("check_ddpg_agent", DDPGSoftUpdateRebinds, "soft_update", "assigned to a loop variable"),
    ("check_ddpg_agent", DDPGExploreNotClipped, "explore", "not clipped to the bounds"),
    ("check_td3_agent", TD3PolicyEveryStep, "policy_update_freq", "policy is updated at every critic step"),
    ("check_td3_agent", TD3TargetsEveryStep, "policy_update_freq", "soft_update goes in the delayed branch"),
    ("check_td3_agent", TD3NoSmoothing, "smoothing noise", "no smoothing noise is added"),
    ("check_td3_agent", TD3TakesMax, "without noise", "the larger of the twin target critics"),
    ("check_td3_agent", TD3NoiseNotClipped, "smoothing noise", "not clipped to ± action_noise_clip"),
    ("check_td3_agent", TD3NextActionNotClipped, "action bounds", "is not clipped to [low, high]"),
    ("check_td3_agent", TD3ClipsWithFirstBounds, "clipped to the action bounds", "low[0] and high[0]"),
    ("check_squashed_gaussian_policy", PolicyNoTanhCorrection, "TransformedDistribution", "tanh correction"),
    ("check_squashed_gaussian_policy", PolicyNoScaleTerm, "TransformedDistribution", "action-scale term"),
    ("check_squashed_gaussian_policy", PolicyNaiveTanhCorrection, "finite", "softplus(-2u)"),
    ("check_squashed_gaussian_policy", PolicyNotReparametrised, "reparametrised", "no reparametrisation"),
    ("check_squashed_gaussian_policy", PolicyUnboundedLogStd, "log σ stays", "not kept in [LOG_STD_MIN"),
    ("check_squashed_gaussian_policy", PolicyForwardSamples, "deterministic", "forward samples"),
    ("check_sac_agent", SACActorUsesTargets, "current critics", "the actor loss uses the target critics"),
    ("check_sac_agent", SACAlphaSignFlipped, "temperature_step", "sign of the temperature loss is flipped"),
    ("check_sac_agent", SACNoDone, "critic_target =", "the (1 - terminated) factor is missing"),
    ("check_sac_agent", SACNoEntropyTerm, "critic_target =", "the entropy term - α log π(a'|s') is missing"),
    ("check_sac_agent", SACTauSwapped, "soft_update", "τ and 1 - τ are swapped"),
    ("check_sac_agent", SACExploresDeterministically, "explore", "not take pi(s)"),
]


@pytest.mark.parametrize("check_name", REFERENCES)
def test_reference_passes_every_property(check_name, capsys):
    result, lines = run(check_name, REFERENCES[check_name], capsys)
    assert result is True
    assert len(lines) >= 5
    assert all(line.startswith("PASS ") for line in lines), lines


@pytest.mark.parametrize(
    ("check_name", "cls", "property_text", "hint"),
    PLANTED,
    ids=[cls.__name__ for _, cls, _, _ in PLANTED],
)
def test_planted_mistake_gives_one_fail_naming_it(check_name, cls, property_text, hint, capsys):
    result, lines = run(check_name, cls, capsys)
    assert result is False
    failures = [line for line in lines if line.startswith("FAIL ")]
    assert len(failures) == 1, "\n".join(failures)  # one mistake, one FAIL: no cascade
    assert property_text in failures[0].split(":")[0] and hint in failures[0], failures[0]
    assert all(". Likely mistake: " in line and ". Look at: " in line for line in failures)


def test_every_check_has_at_least_two_planted_mistakes():
    counts = {name: sum(check == name for check, *_ in PLANTED) for name in REFERENCES}
    assert min(counts.values()) >= 2, counts


@pytest.mark.parametrize("check_name", REFERENCES)
def test_each_check_takes_at_most_a_few_seconds(check_name, capsys):
    start = time.perf_counter()
    getattr(checks, check_name)(REFERENCES[check_name])
    # The pixel check runs convolutions on 84x84 frames: it gets more time than the others.
    assert time.perf_counter() - start < (4.0 if check_name == "check_pixel_ddpg_agent" else 2.0)


@pytest.mark.parametrize("check_name", REFERENCES)
def test_a_class_that_cannot_even_be_built_gives_a_fail_line(check_name, capsys):
    class Broken:
        def __init__(self, *args):
            raise RuntimeError("not written yet")

    result, lines = run(check_name, Broken, capsys)
    assert result is False
    assert lines == [line for line in lines if line.startswith("FAIL ")]
    assert "raised RuntimeError: not written yet" in lines[0]
    assert "Look at: " in lines[0] and "__init__" in lines[0]


def test_an_exception_inside_a_method_is_a_fail_line_naming_it(capsys):
    class RaisesInActorStep(ddpg_agent):
        def actor_step(self, X):
            raise ZeroDivisionError("planted")

    result, lines = run("check_ddpg_agent", RaisesInActorStep, capsys)
    assert result is False
    failing = [line for line in lines if line.startswith("FAIL ")]
    assert failing and all("raised ZeroDivisionError: planted" in line for line in failing)
    assert any("raise ZeroDivisionError" in line for line in failing)  # the offending line is quoted


def test_a_q_network_concatenating_on_dim_1_passes(capsys):
    """Nothing in the course calls the critic on one pair: torch.cat(..., dim=1), right for batches, passes."""
    result, lines = run("check_q_network", QConcatenatesOnDim1, capsys)
    assert result is True, lines


def test_a_buffer_sampling_without_replacement_passes(capsys):
    class WithoutReplacement(ReplayBuffer):
        def sample(self, batch_size):
            rows = torch.randperm(self.size)[:batch_size]
            return tuple(self.storage[k][rows] for k in ("state", "action", "reward", "next_state", "terminated"))

    result, lines = run("check_replay_buffer", WithoutReplacement, capsys)
    assert result is True, lines


@pytest.mark.parametrize("seed", range(6))
def test_a_right_policy_passes_whatever_its_initialisation(seed, capsys):
    """Some initialisations give one sign only on a dimension: the range property must still pass."""

    class Seeded(policyNetwork):
        def __init__(self, env):
            torch.manual_seed(seed)
            super().__init__(env)

    assert run("check_policy_network", Seeded, capsys)[0] is True


def test_the_epsilon_form_of_the_tanh_correction_is_accepted(capsys):
    result, lines = run("check_squashed_gaussian_policy", PolicyEpsilonCorrection, capsys)
    assert result is True, lines


def test_a_policy_drawing_noise_another_way_is_still_checked(capsys):
    """ε from Normal(0, 1).sample((n,)) differs from torch.randn_like: log π is still compared."""

    class OtherNoise(squashedGaussianPolicy):
        def sample(self, state):
            mean, log_std = self.mean_and_log_std(state)
            epsilon = torch.distributions.Normal(0.0, 1.0).sample((mean.numel(),)).reshape(mean.shape)
            u = mean + log_std.exp() * epsilon.flip(0)
            action = torch.tanh(u) * self.action_scale + self.action_bias
            return action, squashed_log_prob(u, mean, log_std, self.action_scale)

    class OtherNoiseNoCorrection(OtherNoise):
        def sample(self, state):
            mean, log_std = self.mean_and_log_std(state)
            action, _ = super().sample(state)
            u = torch.atanh((action - self.action_bias) / self.action_scale)
            gaussian = torch.distributions.Normal(mean, log_std.exp()).log_prob(u).sum(-1)
            return action, gaussian - torch.log(self.action_scale).sum()

    assert run("check_squashed_gaussian_policy", OtherNoise, capsys)[0] is True
    result, lines = run("check_squashed_gaussian_policy", OtherNoiseNoCorrection, capsys)
    assert result is False
    assert any("tanh correction" in line for line in lines if line.startswith("FAIL log π equals"))


def test_checks_leave_the_callers_random_state_alone(capsys):
    torch.manual_seed(123)
    np.random.seed(123)
    expected_torch, expected_numpy = torch.rand(3), np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    for check_name, cls in REFERENCES.items():
        getattr(checks, check_name)(cls)
    assert torch.equal(torch.rand(3), expected_torch)
    assert np.array_equal(np.random.rand(3), expected_numpy)
