"""Finding and reading stack files: ``Pulumi.<stack>.yaml`` in the project directory.

Reading never raises anything but :class:`ConfigError`: a missing file, garbage YAML, duplicate
keys, a file that is not a mapping all become problems with a location and a fix.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
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
    SiblingIndex,
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


# --- Scalars that mean one thing in YAML 1.1 and another in YAML 1.2 --------------------------------
#
# PyYAML reads YAML 1.1: `yes`, `no`, `on`, `off` are booleans, `011` is octal 9, `1:30` is 90,
# `2024-01-31` a date and `1_000` a thousand. YAML 1.2's core schema (the YAML language server in
# editors) reads the first four as text, `011` as decimal 11, `1e3` as a number, and the rest as
# text. The Pulumi CLI reads stack files with Go's gopkg.in/yaml.v3, which sides with neither on
# every form (docs/stack-config.md, "One meaning in every tool"). A plain scalar whose two readings
# differ is refused, as are y/n/yes/no/on/off in any case (YAML 1.1 lists y and n as booleans too),
# so a stack file means the same to bridgectl, to the editor and to `pulumi up`.
# Sources: https://yaml.org/type/bool.html, https://yaml.org/type/int.html (YAML 1.1 types) and
# https://yaml.org/spec/1.2.2/#1032-tag-resolution (the YAML 1.2 core schema).

_BOOL_WORDS = frozenset({"y", "n", "yes", "no", "on", "off"})
_CORE_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_CORE_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_CORE_INT = re.compile(r"[-+]?[0-9]+")
_CORE_OCT = re.compile(r"0o[0-7]+")
_CORE_HEX = re.compile(r"0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_CORE_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_CORE_NAN = re.compile(r"\.(nan|NaN|NAN)")


def yaml12_value(text: str) -> Any:
    """What a YAML 1.2 core-schema reader makes of a plain scalar."""
    if text in _CORE_NULL:
        return None
    if text in _CORE_BOOL:
        return _CORE_BOOL[text]
    if _CORE_INT.fullmatch(text):
        return int(text, 10)
    if _CORE_OCT.fullmatch(text):
        return int(text[2:], 8)
    if _CORE_HEX.fullmatch(text):
        return int(text[2:], 16)
    if _CORE_FLOAT.fullmatch(text):
        return float(text)
    if _CORE_INF.fullmatch(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _CORE_NAN.fullmatch(text):
        return float("nan")
    return text


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:  # NaN
        return b != b
    return bool(a == b)


@dataclass(frozen=True)
class Ambiguous:
    """A plain scalar that YAML 1.1 and YAML 1.2 read differently; ``text`` is as written."""

    text: str
    yaml11: Any
    yaml12: Any
    line: int


class WrittenInt(int):
    """An integer written in another form than its decimal one (``0x1F``, ``+5``): messages show it as written."""

    written: str


class WrittenFloat(float):
    """A float written in another form than Python's (``1.50``): messages show it as written."""

    written: str


def _plain(original: Any) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        value = original(loader, node)
        if node.style:  # quoted or block: a string in every reader
            return value
        text = node.value
        v12 = yaml12_value(text)
        if text.lower() in _BOOL_WORDS or not _same(value, v12):
            return Ambiguous(text, value, v12, node.start_mark.line + 1)
        if type(value) is int and text != str(value):
            written: Any = WrittenInt(value)
        elif type(value) is float and text != repr(value):
            written = WrittenFloat(value)
        else:
            return value
        written.written = text
        return written
    return construct


for _loader in (_UniqueKeyLoader, _FastUniqueKeyLoader):
    for _tag, _original in (("bool", yaml.constructor.SafeConstructor.construct_yaml_bool),
                            ("int", yaml.constructor.SafeConstructor.construct_yaml_int),
                            ("float", yaml.constructor.SafeConstructor.construct_yaml_float),
                            ("timestamp", yaml.constructor.SafeConstructor.construct_yaml_timestamp),
                            ("null", yaml.constructor.SafeConstructor.construct_yaml_null),
                            ("str", yaml.constructor.SafeConstructor.construct_yaml_str)):
        _loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _plain(_original))


def text_needs_quotes(text: str) -> bool:
    """Whether the string ``text``, written unquoted, would be read as anything but this text by YAML
    1.1 or YAML 1.2, or refused here: writers quote such strings (``bridgectl customer`` writes a
    customer id ``no`` as ``"no"``)."""
    if text.lower() in _BOOL_WORDS or not isinstance(yaml12_value(text), str):
        return True
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False))
    return bool(tag != yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG)


def _reading(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {json.dumps(value)}"
    return f"the {type(value).__name__} {value}"


def _ambiguity(path: str, a: Ambiguous) -> Problem:
    quoted = json.dumps(a.text)
    if a.text.lower() in _BOOL_WORDS:
        reason = (f"means the boolean {str(a.yaml11).lower()} to YAML 1.1 readers and the text {quoted} to YAML 1.2 "
                  "readers (the editor's YAML language server, the Pulumi CLI)" if isinstance(a.yaml11, bool) else
                  f"is a boolean to some YAML 1.1 readers and the text {quoted} to others")
        truth = "true" if a.text.lower() in ("y", "yes", "on") else "false"
        fix = f"write {truth} for a boolean, or {quoted} in quotes for the text"
    else:
        reason = f"means {_reading(a.yaml11)} to YAML 1.1 readers and {_reading(a.yaml12)} to YAML 1.2 readers"
        digits = a.text.lstrip("+-")
        if digits.startswith("0") and digits[1:2].isdigit():
            if set(digits) <= set("01234567_"):
                reason += " (a leading zero is octal in YAML 1.1, and in the Pulumi CLI's reader)"
            fix = f"quote it ({quoted}): an id such as an account number keeps its leading zero only as text"
        else:
            fix = f"quote it ({quoted}) if it is text"
            if isinstance(a.yaml12, int | float) and not isinstance(a.yaml12, bool):
                fix += f", or write the number plainly ({a.yaml12!r})"
    return Problem(path, _AsWritten(a.text), f"{reason} (line {a.line})", fix)


class _AsWritten(str):
    """A value shown in a message exactly as the file has it (no quotes added)."""

    @property
    def written(self) -> str:
        return str.__str__(self)


def _unambiguous(value: Any, path: str, problems: list[Problem], active: frozenset[int] = frozenset()) -> Any:
    """``value`` with every ambiguous scalar reported (and replaced by its text, so later steps see a
    plain string). Recursion is bounded: read_yaml refuses documents nested deeper than MAX_NESTING,
    and a collection that contains itself (an anchor inside its own alias) is left as it is."""
    if id(value) in active:
        return value
    if isinstance(value, dict | list):
        active = active | {id(value)}
    if isinstance(value, Ambiguous):
        problems.append(_ambiguity(path, value))
        return value.text
    if isinstance(value, dict):  # in place, so an anchor's aliases stay one object
        for key in list(value):
            item = value[key]
            shown = key.text if isinstance(key, Ambiguous) else str(key)
            where = f"{path}.{shown}" if path else shown
            if isinstance(key, Ambiguous):
                problems.append(_ambiguity(where, key))
                del value[key]
                key = key.text
            value[key] = _unambiguous(item, where, problems, active)
        return value
    if isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _unambiguous(item, f"{path}[{i}]", problems, active)
        return value
    return value


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
    ambiguous: list[Problem] = []
    config = _unambiguous(data["config"], "", ambiguous)
    if ambiguous:
        raise ConfigError(ambiguous, path.name)
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
    if check_siblings and bridge is not None:
        siblings = _siblings(project, spec.bridge_stack)
    index = _sibling_index(project, spec, bridge, siblings) if bridge is not None else siblings
    check_customer_against_bridge(spec, bridge, index, problems)
    if problems or bridge is None:
        raise ConfigError(problems.items, source)
    return bridge, problems.warnings


def _siblings(project: Path, bridge_stack: str) -> dict[str, CustomerSpec]:
    """Every customer stack of a bridge, this one's too: the rules skip a customer's own entries, and
    one index then serves every customer of the bridge checked in this process. Inside
    :func:`one_snapshot` the directory is listed once for all the customers a command checks."""
    key = (str(project), bridge_stack)
    if _SNAPSHOT is not None and key in _SNAPSHOT:
        return _SNAPSHOT[key]
    siblings: dict[str, CustomerSpec] = {}
    for other in list_stacks(project):
        if not other.startswith(bridge_stack + ".") or other.count(".") != 1:
            continue
        other_spec = _sibling_spec(project, other)
        if other_spec is not None:
            siblings[other] = other_spec
    if _SNAPSHOT is not None:
        _SNAPSHOT[key] = siblings
    return siblings


_SNAPSHOT: dict[tuple[str, str], dict[str, CustomerSpec]] | None = None


@contextlib.contextmanager
def one_snapshot() -> Iterator[None]:
    """Within the block, the customer files of a bridge are listed and read once, however many of
    its customers are checked (``validate`` of a whole bridge, ``customer list``): each check then
    costs its own customer's endpoints, and a thousand customers are checked in linear time. Only
    for commands that do not write stack files meanwhile."""
    global _SNAPSHOT
    outer = _SNAPSHOT
    _SNAPSHOT = {} if outer is None else outer
    try:
        yield
    finally:
        _SNAPSHOT = outer


# The index of a bridge's customers last built, by project and bridge: reused while the same sibling
# specs (the same objects, which _sibling_spec renews when a file changes) are in it.
_INDEX: dict[tuple[str, str], tuple[tuple[Any, ...], SiblingIndex, dict[str, CustomerSpec]]] = {}


def _sibling_index(project: Path, spec: CustomerSpec, bridge: BridgeSpec,
                   siblings: dict[str, CustomerSpec]) -> SiblingIndex:
    vpcs = [v.name for v in bridge.aws.vpcs]
    default_vpc = vpcs[0] if vpcs else None
    cached = _INDEX.get((str(project), spec.bridge_stack))
    if cached is not None and cached[2] is siblings and cached[0][:2] == (bridge.azure_location, default_vpc):
        return cached[1]  # the same listing (one_snapshot): no need to compare every sibling
    key = (bridge.azure_location, default_vpc, tuple((name, id(s)) for name, s in sorted(siblings.items())))
    if cached is not None and cached[0] == key:
        return cached[1]
    index = SiblingIndex.build(siblings, spec.bridge_stack, bridge.azure_location, default_vpc)
    # The specs are kept with the index, so the ids in its key cannot be reused by other objects.
    _INDEX[(str(project), spec.bridge_stack)] = (key, index, siblings)
    return index


# Sibling specs already read in this process, by file and its (inode, mtime, size): `validate` of a whole
# bridge, `customer list` and `diff` check every customer against all the others, and each file is
# then read and parsed once, not once per customer.
_SIBLINGS: dict[tuple[str, str], tuple[tuple[int, int, int], CustomerSpec | None]] = {}


def _sibling_spec(project: Path, stack: str) -> CustomerSpec | None:
    path = stack_file(project, stack)
    try:
        st = path.stat()
    except OSError:
        return None
    key, stamp = (str(path), stack), (st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _SIBLINGS.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    spec = _read_sibling_spec(project, stack)
    _SIBLINGS[key] = (stamp, spec)
    return spec


def _read_sibling_spec(project: Path, stack: str) -> CustomerSpec | None:
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
