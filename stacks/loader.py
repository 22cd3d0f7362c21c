"""Finding and reading stack files: ``Pulumi.<stack>.yaml`` in the project directory.

Reading never raises anything but :class:`ConfigError`: a missing file, garbage YAML, duplicate
keys, a file that is not a mapping all become problems with a location and a fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .fields import type_name
from .problems import MISSING, ConfigError, Problem, Problems
from .spec import (
    CUSTOMER_KEY,
    BridgeSpec,
    CustomerSpec,
    Spec,
    check_customer_against_bridge,
    parse_config,
    stack_kind,
)

PROJECT_FILE = "Pulumi.yaml"
STACK_FILE_KEYS = {"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"}


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable key {key!r}", key_node.start_mark) from None
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _FastUniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same on libyaml's parser (PyYAML's wheels have it): ten times faster on large stack files.
    Its error messages differ, so a file it rejects is read again by the loader above for the report."""


_FastUniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def find_project_dir(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` holding Pulumi.yaml."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / PROJECT_FILE).is_file():
            return d
    return None


def project_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        path = Path(explicit).resolve()
        if not path.is_dir():
            raise ConfigError([Problem("--project-dir", str(explicit), "is not a directory",
                                       "name the directory that holds Pulumi.yaml")])
        return path
    env = os.environ.get("BRIDGE_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    found = find_project_dir()
    if found is None:
        raise ConfigError([Problem(PROJECT_FILE, MISSING, "was not found in this directory or any parent",
                                   "run bridgectl inside the project, or pass --project-dir")])
    return found


def stack_file(project: Path, stack: str) -> Path:
    return project / f"Pulumi.{stack}.yaml"


def resolve_stack(project: Path, name: str) -> tuple[str, Path]:
    """Accept a stack name (``dev.acme``) or a path to its file; return (stack name, path)."""
    p = Path(name)
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        base = p.name
        stack = base[len("Pulumi."):].rsplit(".", 1)[0] if base.startswith("Pulumi.") else p.stem
        return stack, p if p.is_absolute() else (Path.cwd() / p)
    return name, stack_file(project, name)


def list_stacks(project: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project.glob("Pulumi.*.yaml"))


# A stack file nests a handful of levels; libyaml parses thousands, which every later recursive
# step (validation, messages) could not. Deeper documents go to the pure-Python loader's report.
MAX_NESTING = 64


def _depth(data: Any) -> int:
    """How deeply collections nest in ``data`` (without recursion)."""
    deepest, stack, seen = 0, [(data, 1)], set()
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list) and id(value) not in seen:  # an anchor may refer to itself
            seen.add(id(value))
            deepest = max(deepest, level)
            if level > MAX_NESTING:
                return level
            stack.extend((v, level + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def read_yaml(path: Path) -> Any:
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        stacks = list_stacks(path.parent) if path.parent.is_dir() else []
        hint = f"existing stacks: {', '.join(stacks)}" if stacks else "create it (see docs/stack-config.md)"
        raise ConfigError([Problem(str(path), MISSING, "does not exist", hint)]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(str(path), MISSING, "is a directory, not a stack file",
                                   "name a stack (dev, dev.acme) or its Pulumi.<stack>.yaml file")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(str(path), MISSING, f"is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                                   f"offset {exc.start})", "save the file as UTF-8")]) from None
    except OSError as exc:
        raise ConfigError([Problem(str(path), MISSING, f"cannot be read: {exc.strerror or exc}",
                                   "check the file's permissions")]) from None
    try:
        data = yaml.load(text, Loader=_FastUniqueKeyLoader)
        if _depth(data) <= MAX_NESTING:
            return data
    except (yaml.YAMLError, RecursionError):
        pass  # reported below, in the pure-Python loader's words
    too_deep = ConfigError([Problem(source, MISSING, "is not valid YAML: collections nested too deeply",
                                    "a stack file nests a few levels; check the brackets")])
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
        if _depth(data) > MAX_NESTING:
            raise too_deep
        return data
    except RecursionError:
        # PyYAML composes nested collections recursively; thousands of levels exhaust the stack.
        raise too_deep from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = f"{exc.problem}" if exc.problem else str(exc)
        if "duplicate key" in problem:
            fix = "keep each key once"
        elif "constructor" in problem:
            fix = "remove the tag: a stack file holds plain YAML values"
        else:
            fix = "fix the YAML syntax (indentation, colons, quotes)"
        raise ConfigError([Problem(f"{source} {where}", MISSING, f"is not valid YAML: {problem}", fix)]) from None
    except yaml.reader.ReaderError as exc:
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError([Problem(source, MISSING, f"is not valid YAML: {exc.reason} (character {char:#06x} "
                                   f"at offset {exc.position})", "remove the control character")]) from None
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError([Problem(source, MISSING, f"is not valid YAML: {reason}", "fix the YAML syntax")]) from None


def read_stack_config(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file."""
    data = read_yaml(path)
    problems = Problems()
    # Problems of the file as a whole name the file once, as their key path.
    if data is None:
        raise ConfigError([Problem(path.name, MISSING, "is empty",
                                   "start from Pulumi.dev.yaml or docs/stack-config.md")])
    if not isinstance(data, dict):
        raise ConfigError([Problem(path.name, MISSING,
                                   f"must be a mapping with a config: key, not {type_name(data)}",
                                   "start the file with `config:`")])
    for key in data:
        if key not in STACK_FILE_KEYS:
            problems.error(str(key), data[key], "is not a stack file key", "put configuration under config:")
    if "config" not in data:
        problems.error("config", MISSING, "is required", "start the file with `config:`")
    elif not isinstance(data["config"], dict):
        problems.error("config", data["config"], "must be a mapping of config keys",
                       "indent `key: value` lines under config:")
    if problems:
        raise ConfigError(problems.items, path.name)
    config = data["config"]
    assert isinstance(config, dict)
    return config


@dataclass(frozen=True)
class Loaded:
    """A validated stack: its spec, warnings and where it came from."""

    spec: Spec
    warnings: list[Problem]
    path: Path
    config: Mapping[str, Any]


def load_stack(project: Path, name: str, *, check_siblings: bool = True) -> Loaded:
    """Read, parse and validate a stack; raise ConfigError with every problem.

    A customer stack is also checked against its bridge stack (which must exist and be valid) and
    against the bridge's other customers (ids and hostnames are unique per bridge).
    """
    stack, path = resolve_stack(project, name)
    config = read_stack_config(path)
    spec, warnings = parse_config(stack, config, source=path.name)
    if isinstance(spec, CustomerSpec):
        # The bridge is the one beside this file (a file given by path belongs to its own directory).
        _, more = check_customer(path.parent, spec, check_siblings=check_siblings, source=path.name)
        warnings = warnings + more
    return Loaded(spec, warnings, path, config)


def check_customer(project: Path, spec: CustomerSpec, *, check_siblings: bool = True,
                   source: str = "") -> tuple[BridgeSpec, list[Problem]]:
    """Check a customer against its bridge stack (which must exist and be valid) and the bridge's
    other customers (ids and hostnames are unique per bridge); return the bridge and any warnings."""
    problems = Problems()
    bridge = _load_bridge_for(project, spec, problems)
    siblings: dict[str, CustomerSpec] = {}
    if check_siblings:
        for other in list_stacks(project):
            if other == spec.stack or not other.startswith(spec.bridge_stack + ".") or other.count(".") != 1:
                continue
            other_spec = _sibling_spec(project, other)
            if other_spec is not None:
                siblings[other] = other_spec
    check_customer_against_bridge(spec, bridge, siblings, problems)
    if problems or bridge is None:
        raise ConfigError(problems.items, source)
    return bridge, problems.warnings


def _sibling_spec(project: Path, stack: str) -> CustomerSpec | None:
    """Another customer stack of the same bridge, for the rules across customers; None if unreadable.

    Its own problems are its own validation's business. A copy whose file name no longer matches its
    id (the usual way two customers end up with one id) is still read, under the name it declares.
    """
    try:
        config = read_stack_config(stack_file(project, stack))
    except ConfigError:
        return None
    body = config.get(CUSTOMER_KEY)
    names = [stack]
    if isinstance(body, dict) and isinstance(body.get("bridgeStack"), str) and isinstance(body.get("id"), str):
        names.append(f"{body['bridgeStack']}.{body['id']}")
    for name in names:
        try:
            spec, _ = parse_config(name, config)
        except ConfigError:
            continue
        return spec if isinstance(spec, CustomerSpec) else None
    return None


def _load_bridge_for(project: Path, customer: CustomerSpec, problems: Problems) -> BridgeSpec | None:
    path = stack_file(project, customer.bridge_stack)
    key = f"{CUSTOMER_KEY}.bridgeStack"
    if not path.is_file():
        existing = [s for s in list_stacks(project) if "." not in s]
        problems.error(key, customer.bridge_stack, f"names no stack in this project ({path.name} is missing)",
                       f"use one of {', '.join(existing)}" if existing else "create the bridge stack first")
        return None
    try:
        config = read_stack_config(path)
        if stack_kind(config, customer.bridge_stack) == "customer":
            problems.error(key, customer.bridge_stack, "names a customer stack, not a bridge stack",
                           "name the bridge stack this customer attaches to")
            return None
        spec, _ = parse_config(customer.bridge_stack, config, source=path.name)
    except ConfigError:
        problems.error(key, customer.bridge_stack, f"names a bridge stack that is not valid ({path.name})",
                       f"run `bridgectl validate {customer.bridge_stack}` and fix it first")
        return None
    assert isinstance(spec, BridgeSpec)  # stack_kind said bridge
    return spec
