"""A small declarative layer: typed dataclasses whose fields say how to parse, check and document them.

Each spec dataclass declares its fields with :func:`spec`, naming the YAML key, a :class:`Kind`
(how to parse and check a value), a doc string and an example. From that one declaration come:

* parsing with every problem collected (wrong types, missing keys, unknown keys with a
  "did you mean", enum values, ranges, patterns), never raising;
* the JSON Schema that editors use (``bridgectl schema``).

Parsing is lenient by design: a field that fails is set to ``None`` and its problem recorded, so
cross-field rules still run on the rest and the user sees every problem at once. A spec with any
error never leaves :mod:`stacks.spec`; the rest of the program only sees complete objects.
"""

from __future__ import annotations

import abc
import dataclasses
import difflib
import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import yaml

from .problems import MISSING, Problems

T = TypeVar("T")

Check = Callable[[Any], "str | None"]


@dataclasses.dataclass(frozen=True)
class SecretRef:
    """A value set with ``pulumi config set --secret``: opaque here, never needed in clear to plan.

    ``path`` is the key path of the value (``bridge:bgpAuthKeys.fcr-a-aws``); the program reads the
    value as a Pulumi secret Output at deploy time.
    """

    path: str

    def __str__(self) -> str:
        return f"[secret {self.path}]"


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class Kind(abc.ABC):
    """How one value is parsed, checked and described in JSON Schema."""

    #: a short noun phrase for messages: "a string", "an integer"
    noun = "a value"

    @abc.abstractmethod
    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        """The parsed value, or None with the problems added to ``problems``."""

    @abc.abstractmethod
    def schema(self) -> dict[str, Any]:
        """This kind's JSON Schema."""


class Str(Kind):
    noun = "a string"

    def __init__(
        self,
        *,
        pattern: str | None = None,
        pattern_reason: str = "",
        min_len: int | None = None,
        max_len: int | None = None,
        checks: Sequence[Check] = (),
        schema_format: str | None = None,
    ) -> None:
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_reason = pattern_reason
        self.min_len = min_len
        self.max_len = max_len
        self.checks = tuple(checks)
        self.schema_format = schema_format

    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        if isinstance(raw, dict) and set(raw) == {"secure"}:
            problems.error(path, raw, "is a secret, but this key holds plain configuration",
                           fix or "set it with `pulumi config set` without --secret")
            return None
        if not isinstance(raw, str):
            hint = ""
            if isinstance(raw, int) and not isinstance(raw, bool):
                hint = "; quote it in YAML so leading zeros and digits are kept"
            problems.error(path, raw, f"must be a string, not {type_name(raw)}{hint}", fix)
            return None
        if self.min_len is not None and len(raw) < self.min_len:
            problems.error(path, raw, f"is too short: at least {self.min_len} characters", fix)
            return None
        if self.max_len is not None and len(raw) > self.max_len:
            problems.error(path, raw, f"is {len(raw)} characters long, more than the {self.max_len} allowed",
                           fix)
            return None
        if self.pattern and not self.pattern.fullmatch(raw):
            problems.error(path, raw, self.pattern_reason or f"does not match {self.pattern.pattern}", fix)
            return None
        for check in self.checks:
            reason = check(raw)
            if reason:
                problems.error(path, raw, reason, fix)
                return None
        return raw

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.pattern:
            out["pattern"] = f"^(?:{self.pattern.pattern})$"
        if self.min_len is not None:
            out["minLength"] = self.min_len
        if self.max_len is not None:
            out["maxLength"] = self.max_len
        if self.schema_format:
            out["format"] = self.schema_format
        return out


class Enum(Kind):
    noun = "one of a fixed set of values"

    def __init__(self, *choices: str) -> None:
        self.choices = tuple(choices)

    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        if isinstance(raw, str) and raw in self.choices:
            return raw
        if not isinstance(raw, str):
            problems.error(path, raw, f"must be one of {', '.join(self.choices)}, not {type_name(raw)}",
                           fix or f"use one of {', '.join(self.choices)}")
            return None
        close = difflib.get_close_matches(str(raw), self.choices, n=1, cutoff=0.5)
        if not close and isinstance(raw, str):
            close = [c for c in self.choices if c.lower() == raw.lower()]
        hint = f"did you mean {close[0]}? " if close else ""
        problems.error(path, raw, f"is not one of {', '.join(self.choices)}",
                       fix or f"{hint}use one of {', '.join(self.choices)}")
        return None

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.choices)}


class Int(Kind):
    noun = "an integer"

    def __init__(
        self,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        choices: Sequence[int] | None = None,
        checks: Sequence[Check] = (),
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.choices = tuple(choices) if choices else None
        self.checks = tuple(checks)

    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        if isinstance(raw, bool) or not isinstance(raw, int):
            if isinstance(raw, str) and raw.strip().isdigit():
                problems.error(path, raw, "must be an integer, not a quoted string",
                               fix or f"write {raw.strip()} without quotes")
            else:
                problems.error(path, raw, f"must be an integer, not {type_name(raw)}", fix)
            return None
        if self.choices is not None and raw not in self.choices:
            problems.error(path, raw, f"is not one of {', '.join(map(str, self.choices))}",
                           fix or f"use one of {', '.join(map(str, self.choices))}")
            return None
        if self.minimum is not None and self.maximum is not None and not self.minimum <= raw <= self.maximum:
            problems.error(path, raw, f"is outside {self.minimum}-{self.maximum}",
                           fix or f"use a value from {self.minimum} to {self.maximum}")
            return None
        if self.minimum is not None and raw < self.minimum:
            problems.error(path, raw, f"is below {self.minimum}", fix or f"use {self.minimum} or more")
            return None
        if self.maximum is not None and raw > self.maximum:
            problems.error(path, raw, f"is above {self.maximum}", fix or f"use {self.maximum} or less")
            return None
        for check in self.checks:
            reason = check(raw)
            if reason:
                problems.error(path, raw, reason, fix)
                return None
        return raw

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.choices is not None:
            out["enum"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


class Bool(Kind):
    noun = "true or false"

    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        if not isinstance(raw, bool):
            problems.error(path, raw, f"must be true or false, not {type_name(raw)}",
                           fix or "write true or false, without quotes")
            return None
        return raw

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Cidr(Kind):
    """An IPv4 network written ``a.b.c.d/n`` with no host bits set."""

    noun = "an IPv4 CIDR"

    def __init__(self, *, min_prefix: int = 0, max_prefix: int = 32) -> None:
        self.min_prefix = min_prefix
        self.max_prefix = max_prefix

    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        if not isinstance(raw, str):
            problems.error(path, raw, f"must be a CIDR string such as 10.10.0.0/16, not {type_name(raw)}", fix)
            return None
        if "/" not in raw:
            problems.error(path, raw, "is not a valid CIDR: the prefix length is missing",
                           fix or f"write it with a prefix length, e.g. {raw}/16")
            return None
        try:
            iface = ipaddress.ip_interface(raw)
        except ValueError:
            problems.error(path, raw, "is not a valid CIDR", fix or "write an IPv4 network such as 10.10.0.0/16")
            return None
        if iface.version != 4:
            problems.error(path, raw, "is an IPv6 network; this bridge plans IPv4 only",
                           fix or "use an IPv4 network")
            return None
        net = iface.network
        assert isinstance(net, ipaddress.IPv4Network)
        if iface.ip != net.network_address:
            problems.error(path, raw, "has host bits set", fix or f"use the network address: {net}")
            return None
        if not self.min_prefix <= net.prefixlen <= self.max_prefix:
            want = (f"/{self.min_prefix}" if self.min_prefix == self.max_prefix
                    else f"/{self.min_prefix} to /{self.max_prefix}")
            problems.error(path, raw, f"has prefix length /{net.prefixlen}; {want} is required",
                           fix or f"use a network of {want}")
            return None
        return net

    def schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "pattern": r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$",
            "description": "IPv4 network in CIDR notation, e.g. 10.10.0.0/16",
        }


class Secret(Kind):
    """A value that must be set with ``pulumi config set --secret`` (a ``secure:`` value)."""

    noun = "a secret"

    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        if isinstance(raw, SecretRef):  # already opaque (read from a running Pulumi program)
            return SecretRef(path)
        if isinstance(raw, dict) and set(raw) == {"secure"} and isinstance(raw["secure"], str):
            return SecretRef(path)
        if isinstance(raw, str):
            problems.error(path, "[redacted]", "is in clear text; BGP keys and other secrets must be encrypted",
                           fix or f"remove it and run `pulumi config set --secret --path '{path}' <value>`")
            return None
        problems.error(path, raw, f"must be a secret (a `secure:` value), not {type_name(raw)}",
                       fix or f"run `pulumi config set --secret --path '{path}' <value>`")
        return None

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"secure": {"type": "string"}},
            "required": ["secure"],
            "additionalProperties": False,
            "description": "Set with `pulumi config set --secret`",
        }


class ListOf(Kind):
    noun = "a list"

    def __init__(self, item: Kind, *, min_items: int = 0, max_items: int | None = None,
                 unique: bool = False) -> None:
        self.item = item
        self.min_items = min_items
        self.max_items = max_items
        self.unique = unique

    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        if not isinstance(raw, list):
            problems.error(path, raw, f"must be a list, not {type_name(raw)}",
                           fix or "write it as a YAML list: [a, b] or one `- item` per line")
            return None
        if len(raw) < self.min_items:
            problems.error(path, raw, f"has {len(raw)} item(s); at least {self.min_items} required",
                           fix or f"list at least {self.min_items}")
        if self.max_items is not None and len(raw) > self.max_items:
            problems.error(path, f"{len(raw)} items", f"has more than the {self.max_items} items allowed",
                           fix or f"keep at most {self.max_items}")
        out = []
        seen: dict[Any, int] = {}
        for i, item in enumerate(raw):
            value = self.item.parse(item, f"{path}[{i}]", problems)
            if self.unique and value is not None:
                key = str(value)
                if key in seen:
                    problems.error(f"{path}[{i}]", item, f"repeats {path}[{seen[key]}]", "remove the duplicate")
                seen.setdefault(key, i)
            out.append(value)
        return tuple(out)

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.min_items:
            out["minItems"] = self.min_items
        if self.max_items is not None:
            out["maxItems"] = self.max_items
        if self.unique:
            out["uniqueItems"] = True
        return out


class MapOf(Kind):
    """A mapping of string keys (checked by ``key``) to values of one kind."""

    noun = "a mapping"

    def __init__(self, value: Kind, *, key: Str | None = None, value_fix: str = "") -> None:
        self.value = value
        self.key = key or Str()
        self.value_fix = value_fix

    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        if isinstance(raw, dict) and set(raw) == {"secure"}:
            problems.error(path, raw, "is one secret, but it must be a mapping of names to values",
                           fix or f"set each entry with `pulumi config set --path '{path}.<name>'`")
            return None
        if not isinstance(raw, dict):
            problems.error(path, raw, f"must be a mapping, not {type_name(raw)}",
                           fix or "write `name: value` lines indented under it")
            return None
        out = {}
        for k, v in raw.items():
            sub = f"{path}.{k}"
            if self.key.parse(str(k), sub, problems, "rename the key") is None:
                continue
            parsed = self.value.parse(v, sub, problems, self.value_fix)
            if parsed is not None:
                out[str(k)] = parsed
        return out

    def schema(self) -> dict[str, Any]:
        key_schema = self.key.schema()
        out: dict[str, Any] = {"type": "object", "additionalProperties": self.value.schema()}
        if "pattern" in key_schema:
            out["propertyNames"] = {"pattern": key_schema["pattern"]}
        return out


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    key: str
    kind: Kind
    doc: str
    required: bool
    example: Any
    fix: str


def spec(
    key: str,
    kind: Kind,
    doc: str,
    *,
    default: Any = MISSING,
    example: Any = None,
    fix: str = "",
) -> Any:
    """Declare a spec field. Without ``default`` the key is required."""
    meta = {"spec": FieldSpec(key, kind, doc, default is MISSING, example, fix)}
    if default is MISSING:
        return dataclasses.field(metadata=meta)
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple or a default_factory-free immutable default")
    return dataclasses.field(default=default, metadata=meta)


def spec_fields(cls: type) -> list[tuple[dataclasses.Field[Any], FieldSpec]]:
    return [(f, f.metadata["spec"]) for f in dataclasses.fields(cls) if "spec" in f.metadata]


def _example_text(fs: FieldSpec) -> str:
    if fs.example is None:
        return f"{fs.key}: <{fs.kind.noun}>"
    if isinstance(fs.example, str):
        return f"{fs.key}: {fs.example}"
    return f"{fs.key}: {fs.example!r}".replace("'", "")


def unknown_key(path: str, key: str, value: Any, known: Sequence[str], problems: Problems) -> str | None:
    """Report an unknown key with a "did you mean"; return the known key it probably means."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    fix = f"did you mean {close[0]}?" if close else f"known keys here: {', '.join(known)}"
    problems.error(path, value, "is not a known key", fix)
    return close[0] if close else None


def _fix_from_example(problems: Problems, start: int, path: str, fs: FieldSpec) -> None:
    """Give the problems of this field (or its list items) that have no fix one: the field's example."""
    if fs.example is None:
        return
    for n in range(start, len(problems.items)):
        p = problems.items[n]
        item = p.path[len(path) + 1:-1] if p.path.startswith(f"{path}[") and p.path.endswith("]") else ""
        if not p.fix and (p.path == path or item.isdigit()):
            problems.items[n] = dataclasses.replace(p, fix=f"write it like `{_example_text(fs)}`")


class Obj(Kind):
    """A mapping parsed into a spec dataclass."""

    noun = "a mapping"

    def __init__(self, cls: type, *, validate: Callable[[Any, str, Problems], None] | None = None) -> None:
        self.cls = cls
        self.validate = validate

    def parse(self, raw: Any, path: str, problems: Problems, fix: str = "") -> Any:
        fields = spec_fields(self.cls)
        if not isinstance(raw, dict) or set(raw) == {"secure"}:
            keys = ", ".join(fs.key for _, fs in fields)
            what = "a secret" if isinstance(raw, dict) else type_name(raw)
            problems.error(path, raw, f"must be a mapping, not {what}",
                           fix or f"write its keys ({keys}) as `key: value` lines indented under it")
            return None
        known = [fs.key for _, fs in fields]
        meant: set[str] = set()  # keys a misspelt key probably means: reported once, as the typo
        for key, value in raw.items():
            if key not in known:
                close = unknown_key(f"{path}.{key}", str(key), value, known, problems)
                if close is not None and close not in raw:
                    meant.add(close)
        values: dict[str, Any] = {}
        for f, fs in fields:
            sub = f"{path}.{fs.key}"
            if fs.key not in raw:
                if fs.required and fs.key not in meant:
                    problems.error(sub, MISSING, "is required", fs.fix or f"add `{_example_text(fs)}`")
                    values[f.name] = None
                elif fs.required:
                    values[f.name] = None
                else:
                    values[f.name] = f.default
                continue
            start = len(problems.items)
            values[f.name] = fs.kind.parse(raw[fs.key], sub, problems, fs.fix)
            _fix_from_example(problems, start, sub, fs)
        obj = self.cls(**values)
        if self.validate is not None:
            self.validate(obj, path, problems)
        return obj

    def schema(self) -> dict[str, Any]:
        return object_schema(self.cls)


def _example_value(example: Any) -> Any:
    """An example as the value it stands for: examples are written as YAML text (``[subnet-...]``,
    ``"111122223333"``) for messages, but a schema's examples are values editors insert."""
    if not isinstance(example, str):
        return example
    try:
        return yaml.safe_load(example)
    except yaml.YAMLError:
        return example


def object_schema(cls: type) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for f, fs in spec_fields(cls):
        sub = dict(fs.kind.schema())
        sub["description"] = fs.doc + (f" {sub['description']}" if "description" in sub else "")
        if (not fs.required and f.default is not None and f.default is not MISSING
                and not dataclasses.is_dataclass(f.default)):
            default = f.default
            if isinstance(default, tuple):
                default = list(default)
            if isinstance(default, ipaddress.IPv4Network):
                default = str(default)
            sub["default"] = default
        if fs.example is not None:
            sub["examples"] = [_example_value(fs.example)]
        props[fs.key] = sub
        if fs.required:
            required.append(fs.key)
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    if cls.__doc__:
        out["description"] = " ".join(cls.__doc__.split())
    return out
