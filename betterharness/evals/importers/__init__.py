"""Importers that turn outside eval data (BFCL, a neutral JSON-lines format) into ordinary case files.

``python -m betterharness import bfcl|jsonl ...`` runs them; see ``docs/import_format.md``. An importer
is registered by name; other packages add theirs through the ``betterharness.importer`` entry points.
"""

from betterharness.evals.importers.common import Importer, ImportReport
from betterharness.registry import Registry

IMPORTERS: Registry[Importer] = Registry("importer", key="import")
IMPORTERS.lazy("bfcl", "betterharness.evals.importers.bfcl:IMPORTER")
IMPORTERS.lazy("jsonl", "betterharness.evals.importers.jsonl:IMPORTER")

__all__ = ["IMPORTERS", "ImportReport", "Importer"]
