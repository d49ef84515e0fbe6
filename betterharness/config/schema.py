"""The composed experiment config as pydantic models: one model per Hydra config group."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Tier = Literal["regression", "hillclimb"]
Status = Literal["active", "draft", "quarantined"]


class Group(BaseModel):
    """Base of every config group: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class ModelConfig(Group):
    """A model as litellm sees it: a model string plus call params."""

    id: str = Field(description="litellm model string, e.g. anthropic/claude-sonnet-4-5.")
    params: dict[str, Any] = Field(default_factory=dict, description="Passed to litellm.acompletion.")
    api_base: str | None = Field(default=None, description="Endpoint for self-hosted servers.")
    api_key_env: str | None = Field(default=None, description="Name of the env var holding the API key.")
    options: dict[str, Any] = Field(default_factory=dict, description="Options for an in-process provider.")


class RolesConfig(Group):
    """The other model roles; ``null`` means the same model as the agent."""

    proposer: ModelConfig | None = None
    judge: ModelConfig | None = None
    user: ModelConfig | None = None


class EvalsConfig(Group):
    """Which eval cases run."""

    root: str | None = Field(default=None, description="Directory of case files; null = the shipped suite.")
    include_tags: list[str] = Field(default_factory=list, description="Keep cases with any of these tags.")
    exclude_tags: list[str] = Field(default_factory=list, description="Drop cases with any of these tags.")
    tiers: list[Tier] = Field(default_factory=lambda: list[Tier](["regression", "hillclimb"]))
    ids: list[str] = Field(default_factory=list, description="Glob patterns on case ids; empty = all.")
    files: list[str] = Field(default_factory=lambda: ["**/*.yaml"], description="Globs under root.")
    include_status: list[Status] = Field(default_factory=lambda: list[Status](["active"]))
    limit: int | None = Field(default=None, ge=1, description="Keep at most this many cases per tag.")


class SplitConfig(Group):
    """How each tag is split into optimization, holdout and sealed test sets."""

    seed: int = 0
    optimization: float = Field(default=0.5, gt=0, lt=1)
    holdout: float = Field(default=0.5, gt=0, lt=1)
    test: float = Field(default=0.0, ge=0, lt=1)
    stratify_by_tag: bool = True

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitConfig:
        total = self.optimization + self.holdout + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"optimization + holdout + test must be 1.0, got {total:g}")
        return self


class GateConfig(Group):
    """The acceptance rule for a candidate harness (paired, noise-aware)."""

    min_net_fixed: int = Field(default=1, ge=0, description="Fixed minus broken cases must reach this.")
    alpha: float = Field(default=0.25, gt=0, le=1, description="One-sided sign-test level for the gain.")
    max_broken: int | None = Field(default=None, ge=0, description="Hillclimb-tier cases a candidate may break.")
    holdout_margin: float = Field(default=0.0, ge=0, le=1, description="Allowed holdout correctness drop.")
    error_control: Literal["holm", "spending", "none"] = Field(
        default="holm", description="How alpha is shared among candidates: holm (over one iteration's gated "
        "candidates), spending (over every full-gate test of the run: alpha·6/(π²j²) for the j-th), none.")


class BudgetConfig(Group):
    """Caps that stop the optimizer."""

    max_iterations: int = Field(default=3, ge=0)
    max_rollouts: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)


class SearchConfig(Group):
    """How many candidates an iteration draws, and how they are screened before the full gate."""

    candidates: int = Field(default=1, ge=1, description="Proposals drawn per iteration (N).")
    parents: int = Field(default=1, ge=1, description="Parents per iteration: the incumbent, then earlier "
                         "accepted versions, newest first (P); each draws `candidates` proposals.")
    temperature: float | None = Field(default=0.8, ge=0, description="Proposer temperature for every proposal "
                                      "after an iteration's first (null: the model's own).")
    minibatch: int = Field(default=0, ge=0, description="Optimization cases of the first screening round; 0 sends "
                           "every candidate to the full gate unscreened (`keep` applies only to screening).")
    min_failing: int = Field(default=2, ge=0, description="Cases the incumbent fails that every minibatch holds.")
    keep: int = Field(default=1, ge=1, description="Candidates that reach the full gate per iteration.")
    min_gain: int = Field(default=1, ge=0, description="Net epoch pairs gained on the last screening round "
                          "that a candidate needs to reach the full gate.")
    seed: int = Field(default=0, description="Seeds the minibatch draw (with the iteration number).")


class OptimizerConfig(Group):
    """``none`` scores the harness and stops; ``hillclimb`` runs the improvement loop."""

    name: Literal["none", "hillclimb"] = "none"
    epochs: int = Field(default=1, ge=1, description="Repeats per case when validating a candidate.")
    gate: GateConfig = Field(default_factory=GateConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    proposer_template: str = Field(default="proposer.md.j2", description="Prompt template in prompts/.")
    max_excerpts: int = Field(default=6, ge=0, description="Trace excerpts shown to the proposer.")
    surfaces_together: list[list[str]] = Field(
        default_factory=list, description="Surface groups that may change in one proposal."
    )


class ReviewConfig(Group):
    """Who decides on a proposal that passed the gate."""

    mode: Literal["auto", "interactive"] = "auto"
    policy: Literal["accept_gated", "reject_all"] = "accept_gated"


class HarnessConfig(Group):
    """Which template set renders the harness, and its variables."""

    name: str = "default"
    dir: str | None = Field(default=None, description="Directory of template sets; null = the shipped ones.")
    vars: dict[str, Any] = Field(default_factory=dict, description="Variables every template can use.")


class LimitsConfig(Group):
    """Per-case caps (they change results, so they are part of the experiment's identity)."""

    max_steps: int = Field(default=12, ge=1)
    max_tokens: int = Field(default=60_000, ge=1, description="Total agent tokens per case.")
    max_wall_s: float = Field(default=300.0, gt=0)
    max_user_turns: int = Field(default=6, ge=1)


class RuntimeConfig(Group):
    """How the run executes; never part of the experiment's identity."""

    concurrency: int = Field(default=8, ge=1, description="Cases in flight at once.")
    retries: int = Field(default=4, ge=0, description="Retries on rate-limit, server and timeout errors.")
    backoff_s: float = Field(default=1.0, ge=0, description="First backoff; doubles per retry.")
    request_timeout_s: float = Field(default=120.0, gt=0)
    outputs: str = Field(default="outputs", description="Root folder of run outputs.")
    force: bool = Field(default=False, description="Re-run rollouts already finished here or cached.")
    cache: bool = Field(default=True, description="Reuse identical rollouts from <outputs>/_cache.")
    progress: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    langsmith: bool = Field(default=True, description="Send traces to LangSmith when LANGSMITH_API_KEY is set.")
    wait_for_lock: bool = Field(default=False, description="Queue behind a process already running this experiment.")
    export_harness: str | None = Field(
        default=None, description="Where the optimizer also writes the final harness; null = harness.dir (if set)."
    )


class ExperimentConfig(Group):
    """The whole experiment, as composed by Hydra and validated here."""

    name: str = "betterharness"
    epochs: int = Field(default=1, ge=1, le=100, description="Repeats per case in plain eval runs.")
    model: ModelConfig
    roles: RolesConfig = Field(default_factory=RolesConfig)
    evals: EvalsConfig = Field(default_factory=EvalsConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    harness: HarnessConfig = Field(default_factory=HarnessConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)

    def role(self, name: Literal["agent", "proposer", "judge", "user"]) -> ModelConfig:
        """The model config for a role, falling back to the agent's model."""
        if name == "agent":
            return self.model
        return getattr(self.roles, name) or self.model
