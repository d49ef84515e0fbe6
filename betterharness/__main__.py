"""``python -m betterharness [overrides]`` runs an experiment; ``python -m betterharness <verb> ...`` a side command."""

from __future__ import annotations

import sys


def main() -> None:
    """Console entry point (``betterharness``): a side command when the first argument names one, else the job."""
    from betterharness.cli import VERBS

    if len(sys.argv) > 1 and sys.argv[1] in VERBS:
        raise SystemExit(VERBS.get(sys.argv[1])(sys.argv[2:]))
    from betterharness.cli.run import main as run

    run()


if __name__ == "__main__":
    main()
