"""``python -m betterharness [overrides]``: compose the Hydra config and run the experiment."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from betterharness.config.identity import register_resolvers
from betterharness.paths import conf_dir

register_resolvers()


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _app(cfg: DictConfig) -> float | None:
    from betterharness.config.identity import config_hash
    from betterharness.config.load import load_config
    from betterharness.errors import BHError, exit_with
    from betterharness.experiment import Experiment, discard_if_empty

    hydra_cfg = HydraConfig.get()
    folder = Path(hydra_cfg.runtime.output_dir)
    choices = {k: v for k, v in OmegaConf.to_container(hydra_cfg.runtime.choices).items() if isinstance(v, str)}
    overrides = [str(o) for o in OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)]
    try:
        config = load_config(cfg, choices, overrides)
        container = OmegaConf.to_container(cfg, resolve=True)
        assert isinstance(container, dict)
        experiment = Experiment(config, folder, hash=config_hash({str(k): v for k, v in container.items()}),
                                choices=choices, overrides=overrides)
        from betterharness.app import run_experiment, summarize

        report = run_experiment(experiment)
    except BHError as error:
        discard_if_empty(folder)
        exit_with(error)
        return None
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished rollouts are kept in {folder}; run the same command to resume",
              file=sys.stderr)
        raise SystemExit(130) from None
    print(summarize(config, report))
    return None


def main() -> None:
    """Console entry point (``betterharness``)."""
    _app()


if __name__ == "__main__":
    main()
