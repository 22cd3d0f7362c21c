"""Shared test setup: hermetic environment, a project directory, and no silent skips in CI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  (imported before any test runs; see below)
import pytest

# Hypothesis's pytest plugin imports hypothesis lazily in its terminal summary, after the tests. On
# CPython 3.11.7, parsing (assertion-rewriting) a module after the whole-program tests can fail with
# "SystemError: AST constructor recursion depth mismatch"; importing it here parses it first.

ROOT = Path(__file__).resolve().parent.parent

# Credentials and endpoints that could let a test reach a real cloud. Tests never need them.
_CLOUD_ENV_PREFIXES = ("AWS_", "ARM_", "AZURE_", "EQUINIX_", "PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL",
                       "PULUMI_CONFIG")


@pytest.fixture(autouse=True, scope="session")
def _hermetic_environment() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith(_CLOUD_ENV_PREFIXES)}
    for key in saved:
        del os.environ[key]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    yield
    os.environ.pop("AWS_CONFIG_FILE", None)
    os.environ.pop("AWS_SHARED_CREDENTIALS_FILE", None)
    os.environ.update(saved)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's stack files in a temporary directory, to edit freely."""
    # __main__.py too: the offline plan runs the program from the project directory.
    for name in ["Pulumi.yaml", "__main__.py", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))]:
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    # CI installs every dependency (.ci/run sets BRIDGE_NO_SKIPS): a skip there is a failure.
    if os.environ.get("BRIDGE_NO_SKIPS") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but BRIDGE_NO_SKIPS is set: {report.longrepr}"
