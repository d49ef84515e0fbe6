"""Importers that turn outside eval data (BFCL, a neutral JSON-lines format) into ordinary case files.

``python -m betterharness.evals.importers bfcl|jsonl ...`` runs them; see ``docs/import_format.md``.
"""

from betterharness.evals.importers.common import ImportReport

__all__ = ["ImportReport"]
