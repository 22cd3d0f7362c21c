"""The JSON Schema editors use: generated from the spec model, committed, and in step with validation."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # installed with check-jsonschema, without stubs
import pytest
import yaml

from stacks.jsonschema import stack_schema
from stacks.problems import ConfigError
from stacks.spec import parse_config

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "schema" / "stack.schema.json"
DEV: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
ACME: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.dev.acme.yaml").read_text())


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(COMMITTED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_current() -> None:
    committed = json.loads(COMMITTED.read_text())
    assert committed == stack_schema(), (
        "schema/stack.schema.json is stale: the spec model changed. Run `make schema` and commit the result.")


def test_committed_schema_is_what_bridgectl_writes() -> None:
    """Byte for byte, so `make schema` on a clean tree changes nothing."""
    assert COMMITTED.read_text() == json.dumps(stack_schema(), indent=2) + "\n", "run `make schema`"


@pytest.mark.parametrize("stack_file", [DEV, ACME], ids=["dev", "dev.acme"])
def test_committed_stacks_match_the_schema(validator: Any, stack_file: dict[str, Any]) -> None:
    assert [e.message for e in validator.iter_errors(stack_file)] == []


def _mutated(base: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(base)
    change(data["config"])
    return data


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(cfg: dict[str, Any]) -> None:
        node = cfg
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return change


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(cfg: dict[str, Any]) -> None:
        node = cfg
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]
    return change


BROKEN = [
    pytest.param(DEV, _set(["bridge:aws", "accountId"], 111122223333), ["config", "bridge:aws", "accountId"],
                 id="account-id-unquoted"),
    pytest.param(DEV, _set(["bridge:aws", "vpcz"], []), ["config", "bridge:aws"], id="unknown-key"),
    pytest.param(DEV, _drop(["bridge:aws", "vpcs"]), ["config", "bridge:aws"], id="missing-key"),
    pytest.param(DEV, _set(["bridge:aws", "backbone"], "transit_gateway"), ["config", "bridge:aws", "backbone"],
                 id="enum"),
    pytest.param(DEV, _set(["bridge:exchange", "bandwidthMbps"], 300), ["config", "bridge:exchange", "bandwidthMbps"],
                 id="bandwidth"),
    pytest.param(DEV, _set(["bridge:exchange", "routers"], [{"name": n, "metro": "DC"} for n in "abcde"]),
                 ["config", "bridge:exchange", "routers"], id="five-routers"),
    pytest.param(DEV, _set(["bridge:exchange", "routers", 0, "name"], "a" * 25),
                 ["config", "bridge:exchange", "routers", 0, "name"], id="router-name-length"),
    pytest.param(DEV, _set(["bridge:azure", "circuit", "peeringVlan"], 5000),
                 ["config", "bridge:azure", "circuit", "peeringVlan"], id="vlan"),
    pytest.param(DEV, _set(["bridge:bgpAuthKeys"], {"azure": "in-clear"}), ["config", "bridge:bgpAuthKeys", "azure"],
                 id="secret-in-clear-text"),
    pytest.param(DEV, _set(["equinix:clientSecret"], "in-clear"), ["config", "equinix:clientSecret"],
                 id="provider-secret-in-clear-text"),
    pytest.param(DEV, _drop(["aws:region"]), ["config"], id="bridge-needs-provider-keys"),
    pytest.param(ACME, _set(["bridge:customer", "endpoints", 0, "platform"], "snowflak"),
                 ["config", "bridge:customer", "endpoints", 0, "platform"], id="customer-platform"),
    pytest.param(ACME, _drop(["bridge:customer", "endpoints"]), ["config", "bridge:customer"],
                 id="customer-endpoints-required"),
    pytest.param(ACME, _set(["bridge:aws"], DEV["config"]["bridge:aws"]), ["config"],
                 id="bridge-section-in-customer-stack"),
]


@pytest.mark.parametrize(("base", "change", "where"), BROKEN)
def test_broken_copies_are_rejected_by_the_schema_and_by_validation(
        validator: Any, base: dict[str, Any], change: Callable[[dict[str, Any]], None], where: list[Any]) -> None:
    data = _mutated(base, change)
    errors = list(validator.iter_errors(data))
    assert errors, "the schema accepted a broken stack file"
    assert where in [list(e.absolute_path) for e in errors]
    # Validation, built from the same model, rejects it too.
    with pytest.raises(ConfigError):
        parse_config("dev" if base is DEV else "dev.acme", data["config"])


def _with_values(node: Any) -> Iterator[tuple[dict[str, Any], Any]]:
    """Every subschema with its examples and default values."""
    if isinstance(node, dict):
        for key in ("examples", "default"):
            if key in node:
                for value in (node[key] if key == "examples" else [node[key]]):
                    yield node, value
        for child in node.values():
            yield from _with_values(child)
    elif isinstance(node, list):
        for child in node:
            yield from _with_values(child)


def test_examples_and_defaults_are_valid_values() -> None:
    """Editors offer examples and defaults as completions: each must satisfy its own schema."""
    checked = 0
    for sub, value in _with_values(stack_schema()):
        own = {k: v for k, v in sub.items() if k not in ("examples", "default")}
        assert not list(jsonschema.Draft202012Validator(own).iter_errors(value)), (value, own)
        checked += 1
    assert checked > 30
