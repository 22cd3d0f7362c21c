"""Customer stack files for support engineers: build, check, write and edit them safely.

``bridgectl customer`` (bridgectl/commands/customer.py) drives this module; the interactive
questions live in :mod:`bridgectl.interview`. The rules are the loader's own: the would-be file is
checked by :func:`stacks.loader.load_stack` in a scratch directory beside links to the project's
other stack files, so it meets its bridge and the bridge's other customers exactly as
``bridgectl validate`` will meet the real file, *before* anything is written to the project.
Files are written atomically (a temporary file renamed into place), a new file never replaces an
existing one, and an edit keeps every byte of the user's file outside the endpoint it adds or
removes (comments, quoting, layout).
"""

from __future__ import annotations

import copy
import difflib
import io
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stacks.dns import implied_ocsp, ocsp_name, snowflake_account_host
from stacks.loader import list_stacks, load_stack, read_stack_config, stack_file
from stacks.problems import MISSING, ConfigError, Problem
from stacks.spec import CUSTOMER_KEY, PLATFORM_PROFILES, VPCE_SERVICE_RE, BridgeSpec, parse_config

SCHEMA_LINE = "# yaml-language-server: $schema=./schema/stack.schema.json"
# The order keys take in a written endpoint (docs/stack-config.md's order, optional keys last).
ENDPOINT_KEYS = ("name", "platform", "cloud", "service", "hostnames", "zone", "vpc", "cluster", "ownerAccount",
                 "browserAuthentication", "workspaceRegion")


# --- what the user gives ------------------------------------------------------------------------


@dataclass
class EndpointInput:
    """One endpoint as the user described it, before validation; None is "not given"."""

    name: str | None = None
    platform: str | None = None
    cloud: str | None = None
    service: str | None = None
    hostnames: list[str] = field(default_factory=list)
    zone: str | None = None
    vpc: str | None = None
    cluster: str | None = None
    owner_account: str | None = None
    browser_authentication: bool = False
    workspace_region: str | None = None

    def as_config(self) -> dict[str, Any]:
        """The endpoint as it goes in the stack file: only the keys that are set, in file order."""
        values: dict[str, Any] = {
            "name": self.name, "platform": self.platform, "cloud": self.cloud, "service": self.service,
            "hostnames": list(self.hostnames) or None, "zone": self.zone, "vpc": self.vpc,
            "cluster": self.cluster, "ownerAccount": self.owner_account,
            "browserAuthentication": True if self.browser_authentication else None,
            "workspaceRegion": self.workspace_region}
        return {k: values[k] for k in ENDPOINT_KEYS if values[k] is not None}


def clouds_for(platform: str) -> list[str]:
    return [cloud for (p, cloud) in PLATFORM_PROFILES if p == platform]


def platform_zone(platform: str | None, cloud: str | None) -> str | None:
    """The platform's private domain (its names each get a private zone of their own), or None."""
    profile = PLATFORM_PROFILES.get((platform or "", cloud or ""))
    return profile.domain if profile else None


def default_endpoint_name(platform: str, cloud: str, taken: Sequence[str]) -> str:
    """The platform's name, or a variant of it that is still free in this customer."""
    for candidate in (platform, f"{platform}-{cloud}"):
        if candidate not in taken:
            return candidate
    n = 2
    while f"{platform}-{cloud}-{n}" in taken:
        n += 1
    return f"{platform}-{cloud}-{n}"


def clean_hostname(text: str) -> str:
    """A hostname from what people paste: URLs, ports, paths, upper case and trailing dots removed."""
    host = text.strip().strip("\"'").lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host)
    host = host.split("/", 1)[0].split("?", 1)[0]
    host = host.rsplit("@", 1)[-1]
    if re.fullmatch(r".+:\d+", host):
        host = host.rsplit(":", 1)[0]
    return host.rstrip(".")


def split_hostnames(values: Sequence[str]) -> list[str]:
    """Hostnames given as repeated flags, comma- or space-separated, in order, without repeats."""
    out: list[str] = []
    for value in values:
        for part in re.split(r"[,\s]+", value):
            host = clean_hostname(part)
            if host and host not in out:
                out.append(host)
    return out


def private_hostname(host: str, platform: str | None, cloud: str | None) -> tuple[str, str | None]:
    """The platform's private name for a public one the customer copied, and a note saying so.

    Snowflake and Azure Databricks publish ``<name>.privatelink.<domain>`` for ``<name>.<domain>``
    (docs/sources.md#azure-5-2, #azure-5-3); only the private names are published. Databricks on AWS uses one
    regional private name instead (docs/sources.md#aws-5-3), which cannot be derived from the workspace URL.
    """
    zone = platform_zone(platform, cloud)
    if zone is None or not zone.startswith("privatelink."):
        return host, None
    domain = zone[len("privatelink."):]
    if host == zone or host.endswith("." + zone) or not host.endswith("." + domain):
        return host, None
    if platform == "databricks" and cloud == "aws":
        return host, None
    private = f"{host[:-len(domain)]}privatelink.{domain}"
    return private, (f"{host} is the public name; using its private name {private} "
                     f"(the bridge publishes {platform} names in {zone})")


def snowflake_ocsp_names(hosts: Sequence[str]) -> list[str]:
    """The OCSP names Snowflake drivers also look up, which the customer stack publishes on its own
    with their account names (stacks/dns.py): nobody lists them."""
    return [ocsp_name(h) for h in hosts if snowflake_account_host(h)]


def without_listed_ocsp(hosts: Sequence[str]) -> tuple[list[str], list[str]]:
    """The hostnames without the OCSP names their account names already publish, and those left out."""
    implied = implied_ocsp(list(hosts))
    return [h for h in hosts if h not in implied], [h for h in hosts if h in implied]


def databricks_aws_hostname(service: str | None, region: str) -> str:
    """Databricks on AWS: the workspace URL is a CNAME to ``<region>.privatelink.cloud.databricks.com``."""
    m = re.fullmatch(VPCE_SERVICE_RE, service or "")
    return f"{m.group(1) if m else region}.privatelink.cloud.databricks.com"


@dataclass(frozen=True)
class SnowflakeConfig:
    cloud: str
    service: str
    hostnames: list[str]


def parse_snowflake_config(text: str, source: str) -> SnowflakeConfig:
    """The output of ``SELECT SYSTEM$GET_PRIVATELINK_CONFIG();`` (the customer's ACCOUNTADMIN runs it).

    On Azure ``privatelink-pls-id`` is the Private Link service alias; on AWS ``privatelink-vpce-id``
    is the endpoint service name (docs/sources.md#azure-5-2, #aws-5-2). The account name and its regionless form
    are the hostnames drivers use; their OCSP names (``privatelink-ocsp-url``,
    ``regionless-privatelink-ocsp-url``) are published with them automatically, so they are not listed.
    """
    fix = "save the single cell returned by SELECT SYSTEM$GET_PRIVATELINK_CONFIG(); as the file"
    try:
        data: Any = json.loads(text)
        if isinstance(data, str):  # copied as a quoted JSON string
            data = json.loads(data)
    except ValueError as exc:
        raise ConfigError([Problem(source, MISSING, f"is not JSON ({exc})", fix)]) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem(source, MISSING, "is not a JSON object", fix)])
    if data.get("privatelink-pls-id"):
        cloud, service = "azure", str(data["privatelink-pls-id"])
    elif data.get("privatelink-vpce-id"):
        cloud, service = "aws", str(data["privatelink-vpce-id"])
    else:
        raise ConfigError([Problem(source, MISSING, "has neither privatelink-pls-id (Azure) nor privatelink-vpce-id "
                                   "(AWS)", fix)])
    hosts = [data.get(k) for k in ("privatelink-account-url", "regionless-privatelink-account-url")]
    return SnowflakeConfig(cloud, service, split_hostnames([h for h in hosts if isinstance(h, str) and h]))


# --- the stack file as data -------------------------------------------------------------------------


def stack_name(bridge: str, customer: str) -> str:
    return f"{bridge}.{customer}"


def new_customer_config(bridge: BridgeSpec, customer: str, endpoints: Sequence[EndpointInput],
                        endpoint_spoke: str | None = None) -> dict[str, Any]:
    """A customer stack's ``config:``: the provider keys copied from the bridge, then bridge:customer, with
    the endpoint spoke its Azure private endpoints go in when the bridge has spokes (bridgectl/placement.py)."""
    spoke = {"endpointSpoke": endpoint_spoke} if endpoint_spoke is not None else {}
    return {
        "aws:region": bridge.aws_region,
        "azure-native:location": bridge.azure_location,
        "azure-native:subscriptionId": bridge.azure_subscription_id,
        CUSTOMER_KEY: {"id": customer, "bridgeStack": bridge.stack, **spoke,
                       "endpoints": [ep.as_config() for ep in endpoints]},
    }


def with_endpoints(config: Mapping[str, Any], endpoints: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A copy of a customer config whose endpoints list is ``endpoints``."""
    out = copy.deepcopy(dict(config))
    body = out.get(CUSTOMER_KEY)
    if isinstance(body, dict):
        body["endpoints"] = [dict(e) for e in endpoints]
    return out


def existing_endpoints(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    body = config.get(CUSTOMER_KEY)
    eps = body.get("endpoints") if isinstance(body, dict) else None
    return [e for e in eps if isinstance(e, dict)] if isinstance(eps, list) else []


def _yaml() -> Any:
    from ruamel.yaml import YAML

    rt = YAML()
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.width = 4096  # never fold a long service id or hostname
    return rt


def _quoted_ids(endpoint: Mapping[str, Any]) -> dict[str, Any]:
    """Account ids written quoted, as docs/stack-config.md asks (YAML would read digits as a number),
    and every string that YAML 1.1 or 1.2 would read as something else unquoted (an endpoint named
    ``no``), so the loader reads back exactly what was written (docs/stack-config.md, "One meaning in
    every tool")."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    return {k: DoubleQuotedScalarString(v) if k == "ownerAccount" and isinstance(v, str) else _quoted(v)
            for k, v in endpoint.items()}


def _quoted(value: Any) -> Any:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    from stacks.loader import text_needs_quotes

    if isinstance(value, str) and not isinstance(value, DoubleQuotedScalarString) and text_needs_quotes(value):
        return DoubleQuotedScalarString(value)
    if isinstance(value, list):
        return [_quoted(v) for v in value]
    if isinstance(value, dict):
        return {k: _quoted(v) for k, v in value.items()}
    return value


def new_stack_text(config: Mapping[str, Any], bridge: str, customer: str) -> str:
    """The text of a new customer stack file, in the layout of the repository's own files."""
    from ruamel.yaml.comments import CommentedMap

    body = {k: _quoted(v) for k, v in config[CUSTOMER_KEY].items() if k != "endpoints"}
    body["endpoints"] = [_quoted_ids(e) for e in config[CUSTOMER_KEY]["endpoints"]]
    cfg = CommentedMap((k, body if k == CUSTOMER_KEY else _quoted(v)) for k, v in config.items())
    out = io.StringIO()
    _yaml().dump({"config": cfg}, out)
    header = (f"{SCHEMA_LINE}\n# Customer {customer} on the {bridge} bridge, written by `bridgectl customer add`.\n"
              "# Change endpoints with `bridgectl customer endpoint add|remove` or by hand; see "
              "docs/runbook-support.md.\n")
    return header + out.getvalue()


# --- editing an existing file, keeping its text ---------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_comment(line: str) -> bool:
    return line.strip().startswith("#")


def _last_line(node: Any, line: int) -> int:
    """The last line (0-based) holding part of a ruamel node."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        for key in node:
            line = max(line, node.lc.key(key)[0], node.lc.value(key)[0])
            line = _last_line(node[key], line)
    elif isinstance(node, CommentedSeq):
        for i, item in enumerate(node):
            line = max(line, node.lc.item(i)[0])
            line = _last_line(item, line)
    return line


@dataclass
class _Layout:
    lines: list[str]
    key_col: int                  # column of the `endpoints:` key
    dash_col: int                 # column of each item's dash
    content_col: int              # column of each item's first key
    starts: list[int]             # line of each item's dash
    ends: list[int]               # last line of each item


def _layout(text: str) -> _Layout | None:
    """Where the endpoints list sits in the text, or None when it is not a plain block list."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    try:
        doc = _yaml().load(text)
        body = doc["config"][CUSTOMER_KEY]
        eps = body["endpoints"]
    except Exception:  # any surprise in the file's shape means: fall back to a full re-dump
        return None
    if not isinstance(body, CommentedMap) or not isinstance(eps, CommentedSeq) or not eps or eps.fa.flow_style():
        return None
    lines = text.splitlines(keepends=True)
    key_col = body.lc.key("endpoints")[1]
    starts, ends = [], []
    first_line, content_col = eps.lc.item(0)
    dash_col = lines[first_line].rfind("-", 0, content_col + 1)
    for i, item in enumerate(eps):
        line, col = eps.lc.item(i)
        if col != content_col or lines[line].rfind("-", 0, col + 1) != dash_col:
            return None
        starts.append(line)
        ends.append(_last_line(item, line))
    if dash_col < 0:
        return None
    return _Layout(lines, key_col, dash_col, content_col, starts, ends)


def _item_text(endpoint: Mapping[str, Any], layout: _Layout) -> list[str]:
    """One endpoint as list-item lines at the layout's columns."""
    from ruamel.yaml import YAML

    rt = YAML()
    rt.width = 4096
    offset = layout.dash_col - layout.key_col
    seq = layout.content_col - layout.key_col
    rt.indent(mapping=2, sequence=max(seq, offset + 2), offset=offset)
    out = io.StringIO()
    rt.dump({"endpoints": [_quoted_ids(endpoint)]}, out)
    body = out.getvalue().splitlines(keepends=True)[1:]
    return [" " * layout.key_col + line if line.strip() else line for line in body]


def _item_block(layout: _Layout, i: int) -> tuple[int, int]:
    """Lines [start, end) of item i with the comment lines just above it (they describe it)."""
    def start_of(k: int) -> int:
        start = layout.starts[k]
        while start > 0 and _is_comment(layout.lines[start - 1]) \
                and _indent(layout.lines[start - 1]) >= layout.dash_col:
            start -= 1
        return start

    if i + 1 < len(layout.starts):
        return start_of(i), start_of(i + 1)
    end = layout.ends[i] + 1
    while end < len(layout.lines) and _is_comment(layout.lines[end]) and _indent(layout.lines[end]) > layout.dash_col:
        end += 1
    return start_of(i), end


def _same(text: str, expected: Mapping[str, Any]) -> bool:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and data.get("config") == expected


def _redump(text: str, config: Mapping[str, Any]) -> str:
    """The whole file re-written by ruamel's round trip (comments kept, layout normalized): used only
    when the endpoints list is laid out in a way the line-based edit does not handle."""
    rt = _yaml()
    doc = rt.load(text)
    doc["config"][CUSTOMER_KEY]["endpoints"] = [_quoted_ids(e) for e in config[CUSTOMER_KEY]["endpoints"]]
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()


def edited_text(text: str, config: Mapping[str, Any], *, add: Mapping[str, Any] | None = None,
                remove: int | None = None) -> str:
    """The file's text with one endpoint appended or removed; everything else kept byte for byte.

    ``config`` is the file's current ``config:``. The result is checked to mean exactly the intended
    config; when the list's layout defeats the line-based edit, ruamel re-writes the file instead.
    """
    eps = existing_endpoints(config)
    if add is not None:
        eps = [*eps, dict(add)]
    if remove is not None:
        eps = [e for i, e in enumerate(eps) if i != remove]
    expected = with_endpoints(config, eps)
    layout = _layout(text)
    if layout is not None:
        lines = list(layout.lines)
        if add is not None:
            _, end = _item_block(layout, len(layout.starts) - 1)
            if end > 0 and not lines[end - 1].endswith("\n"):
                lines[end - 1] += "\n"
            lines[end:end] = _item_text(add, layout)
        if remove is not None:
            start, end = _item_block(layout, remove)
            del lines[start:end]
        candidate = "".join(lines)
        if _same(candidate, expected):
            return candidate
    return _rewritten(text, expected)


def _rewritten(text: str, expected: Mapping[str, Any]) -> str:
    """The file re-written to mean ``expected`` when a line edit could not keep it byte for byte."""
    candidate = _redump(text, expected)
    if not _same(candidate, expected):
        raise ConfigError([Problem(CUSTOMER_KEY + ".endpoints", MISSING, "could not be edited without changing "
                                   "other keys", "edit the file by hand")])
    return candidate


def renamed_text(text: str, config: Mapping[str, Any], index: int, new_name: str) -> str:
    """The file's text with endpoint ``index`` renamed: ``name`` becomes ``new_name`` and
    ``renamedFrom`` keeps the first name (its cloud resources carry it; docs/stack-config.md,
    "Renaming an endpoint"). Everything else is kept byte for byte."""
    eps = [dict(e) for e in existing_endpoints(config)]
    old_name = str(eps[index].get("name"))
    first = str(eps[index].get("renamedFrom") or old_name)
    eps[index]["name"] = new_name
    if first != new_name:
        eps[index]["renamedFrom"] = first
    else:
        eps[index].pop("renamedFrom", None)  # renamed back to its first name
    expected = with_endpoints(config, eps)
    layout = _layout(text)
    if layout is not None:
        lines = list(layout.lines)
        start, end = layout.starts[index], layout.ends[index] + 1
        pattern = re.compile(r"^(\s*(?:-\s+)?)name:\s*[\"']?" + re.escape(old_name) + r"[\"']?(\s*#.*)?$")
        for i in range(start, end):
            match = pattern.match(lines[i].rstrip("\n"))
            if not match:
                continue
            lines[i] = f"{match.group(1)}name: {new_name}{match.group(2) or ''}\n"
            kept = [j for j in range(start, end) if re.match(r"^\s*(?:-\s+)?renamedFrom:", lines[j])]
            for j in reversed(kept):
                del lines[j]
            if "renamedFrom" in eps[index]:
                lines.insert(i + 1, " " * layout.content_col + f"renamedFrom: {first}\n")
            break
        candidate = "".join(lines)
        if _same(candidate, expected):
            return candidate
    return _rewritten(text, expected)


def unified_diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))


# --- checks -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BridgeInfo:
    spec: BridgeSpec
    path: Path

    def vpc_ids(self) -> dict[str, str]:
        return {v.name: v.vpc_id for v in self.spec.aws.vpcs}


def bridge_problem(project: Path, bridge: str) -> tuple[BridgeInfo | None, Problem | None]:
    """The bridge stack a customer attaches to, or why it cannot be used (the loader's wording)."""
    key = f"{CUSTOMER_KEY}.bridgeStack"
    path = stack_file(project, bridge)
    bridges = [s for s in list_stacks(project) if "." not in s]
    choose = f"use one of {', '.join(bridges)}" if bridges else "create the bridge stack first"
    if not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", bridge):
        return None, Problem(key, bridge, "is not a stack name: a bridge is named like its file Pulumi.<bridge>.yaml "
                             "in the project directory, without a path", choose)
    if "." in bridge:
        return None, Problem(key, bridge, "names a customer stack, not a bridge stack",
                             f"use the bridge part, {bridge.split('.', 1)[0]}")
    if not path.is_file():
        return None, Problem(key, bridge, f"names no stack in this project ({path.name} is missing)", choose)
    try:
        spec, _ = parse_config(bridge, read_stack_config(path), source=path.name)
    except ConfigError:
        return None, Problem(key, bridge, f"names a bridge stack that is not valid ({path.name})",
                             f"run `bridgectl validate {bridge}` and fix it first")
    if not isinstance(spec, BridgeSpec):
        return None, Problem(key, bridge, "names a customer stack, not a bridge stack",
                             "name the bridge stack this customer attaches to")
    return BridgeInfo(spec, path), None


def require_bridge(project: Path, bridge: str) -> BridgeInfo:
    info, problem = bridge_problem(project, bridge)
    if problem is not None:
        raise ConfigError([problem])
    assert info is not None
    return info


def customer_stacks(project: Path, bridge: str) -> list[str]:
    """The customer stacks of a bridge, by file name (``Pulumi.<bridge>.<customer>.yaml``)."""
    return [s for s in list_stacks(project) if s.count(".") == 1 and s.split(".", 1)[0] == bridge]


@contextmanager
def shadow_stack(project: Path, stack: str, text: str) -> Iterator[Path]:
    """The would-be file of ``stack`` in a scratch directory beside links to the project's other stack
    files, so the loader checks it against its bridge and sibling customers exactly as it will check
    the real file, while the project itself is untouched."""
    with tempfile.TemporaryDirectory(prefix="bridgectl-") as tmp:
        scratch = Path(tmp)
        target = stack_file(project, stack).name
        for other in project.glob("Pulumi*.yaml"):
            if other.name == target:
                continue
            try:
                (scratch / other.name).symlink_to(other.resolve())
            except OSError:  # no symlinks on this filesystem
                shutil.copyfile(other, scratch / other.name)
        path = scratch / target
        path.write_text(text, encoding="utf-8")
        yield path


def check_text(project: Path, stack: str, text: str) -> list[Problem]:
    """Every rule ``bridgectl validate`` applies, on the text of a stack file not yet written:
    raises ConfigError with every problem (one line each, as validate prints them), or returns the
    warnings."""
    with shadow_stack(project, stack, text) as path:
        return load_stack(path.parent, str(path)).warnings


def check_config(project: Path, stack: str, config: Mapping[str, Any]) -> list[Problem]:
    """:func:`check_text` for a ``config:`` mapping."""
    return check_text(project, stack, yaml.safe_dump({"config": dict(config)}, sort_keys=False))


def problems_of(project: Path, stack: str, config: Mapping[str, Any]) -> list[Problem]:
    """Like :func:`check_config`, returning the errors instead of raising (for questions asked one by one)."""
    try:
        check_config(project, stack, config)
    except ConfigError as exc:
        return [p for p in exc.problems if p.severity == "error"]
    return []


def at_path(problems: Sequence[Problem], path: str) -> list[Problem]:
    return [p for p in problems if p.path == path or p.path.startswith((f"{path}.", f"{path}["))]


# --- writing ----------------------------------------------------------------------------------------


@contextmanager
def _temporary_beside(path: Path, text: str) -> Iterator[Path]:
    # Hidden name: `Pulumi.*.yaml` globs (list_stacks, Pulumi itself) never see it.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        yield tmp
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def create_file(path: Path, text: str) -> None:
    """Write a new file atomically; never replace one that exists (even one created meanwhile)."""
    with _temporary_beside(path, text) as tmp:
        os.chmod(tmp, _umask_mode())
        try:
            os.link(tmp, path)  # fails if the name exists: no window in which a file is overwritten
        except FileExistsError:
            raise ConfigError([Problem(path.name, MISSING, "appeared while it was being written",
                                       "look at it; nothing was overwritten")]) from None
        except OSError:  # a filesystem without hard links: claim the name, then move the content in
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                raise ConfigError([Problem(path.name, MISSING, "appeared while it was being written",
                                           "look at it; nothing was overwritten")]) from None
            os.replace(tmp, path)


def replace_file(path: Path, text: str, *, expected_old: str) -> None:
    """Replace a file atomically, keeping its permissions, unless it changed since it was read."""
    with _temporary_beside(path, text) as tmp:
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        if path.read_text(encoding="utf-8") != expected_old:
            raise ConfigError([Problem(path.name, MISSING, "changed while this command ran",
                                       "run the command again")])
        os.replace(tmp, path)


def write_checked(project: Path, stack: str, text: str, *, old: str | None) -> list[Problem]:
    """Validate ``text`` as the stack file of ``stack`` (read back exactly as the loader reads files),
    then write it; nothing is written when it is not valid. Returns the warnings."""
    path = stack_file(project, stack)
    warnings = check_text(project, stack, text)
    try:
        if old is None:
            create_file(path, text)
        else:
            replace_file(path, text, expected_old=old)
    except OSError as exc:  # a read-only checkout, a full disk: nothing was written
        from bridgectl.console import OutputError

        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc}); nothing was written (fix: run "
                          "in a checkout you can write, or check the free space)") from None
    return warnings
