"""``python -m betterharness weights [PATH]``: find or fetch the embedded model's weights; print their path."""

from __future__ import annotations

import sys

from betterharness.models.weights import WeightsError, resolve_weights


def main(argv: list[str] | None = None) -> int:
    """Fetch the weights (if needed) and print their path; exit 1 with the reason on failure."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        print(resolve_weights(args[0] if args else None))
    except WeightsError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    return 0
