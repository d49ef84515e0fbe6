"""``python -m betterharness [overrides]`` runs an experiment; ``python -m betterharness <verb> ...`` a side command."""

from __future__ import annotations

import sys


def main() -> None:
    """Console entry point (``betterharness``): a side command when the first argument names one, else the job."""
    from betterharness.cli import VERBS
    from betterharness.errors import BHError, exit_with

    if len(sys.argv) > 1 and not sys.argv[1].startswith("-") and "=" not in sys.argv[1] and sys.argv[1] in VERBS:
        try:
            command = VERBS.get(sys.argv[1])
        except BHError as error:
            exit_with(error)
        raise SystemExit(command(sys.argv[2:]))
    from betterharness.cli.run import main as run

    run()


if __name__ == "__main__":
    main()
