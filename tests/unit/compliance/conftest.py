"""Fixtures of the compliance tests: the real DEF registry loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance import Registry


@pytest.fixture(scope="session")
def def_registry(def_registry_path: Path) -> Registry:
    return Registry.from_files([def_registry_path])
