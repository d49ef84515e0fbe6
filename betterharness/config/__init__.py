"""The experiment config: one pydantic model per Hydra group, validated with errors that name the file."""

from betterharness.config.load import load_config, validate_config
from betterharness.config.schema import ExperimentConfig, ModelConfig, RuntimeConfig

__all__ = ["ExperimentConfig", "ModelConfig", "RuntimeConfig", "load_config", "validate_config"]
