"""Actions covered by each feature's permission-matrix test, gathered for the completeness check."""
from __future__ import annotations

import importlib
import pkgutil

import tests.services as package


def covered() -> set[str]:
    actions: set[str] = set()
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"tests.services.{info.name}")
            actions |= set(getattr(module, "COVERED_ACTIONS", ()))
    return actions
