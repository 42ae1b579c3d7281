from __future__ import annotations

from pathlib import Path

import pytest

from compliance import Registry


@pytest.fixture(scope="session")
def registry(def_registry_path: Path) -> Registry:
    return Registry.from_files([def_registry_path])
