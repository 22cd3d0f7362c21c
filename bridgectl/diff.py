"""The offline pull-request diff: offline plans of a base revision and of the working tree, compared
resource by resource, with the risks that matter for this product flagged.

How it works (see docs/ci.md, "Offline diff"):

1. The base revision (default: the merge base with origin/main) is extracted with ``git archive``
   into a temporary directory.
2. Each tree is planned by its own code: a subprocess runs that tree's ``bridgectl.offline`` and
   ``stacks.plan`` with the tree first on ``PYTHONPATH`` (the installed environment supplies only the
   third-party packages). Both trees are planned in parallel.
3. Resources are matched by URN; inputs are compared leaf by leaf; :mod:`bridgectl.replacements`
   says which changes replace a resource, and a replacement propagates to the resources that
   consume its id or computed outputs (the offline ids are stable, so this is traced explicitly).
4. Risks come from the resource diff (a protected resource replaced, removed or unprotected) and
   from the two address plans (BGP sessions, renumbered links, prefix budgets), plus one across
   stacks (a bridge stack changed in the same pull request as customer stack files).

Which stacks are compared when none are named: every stack whose file changed; every customer of a
changed bridge stack file (their endpoints read the bridge's config); and every stack when the
program changed (``__main__.py``, ``Pulumi.yaml``, ``components/``, ``stacks/``, ``pyproject.toml``,
``uv.lock``). Changes elsewhere (``bridgectl/``, ``policy/``, ``twin/``, docs, tests) do not change
what is deployed.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stacks.limits import BUDGET_WARN_RATIO

from .replacements import Rule, replace_on_changes_covers, rule_for

SECRET = "[secret]"
UNKNOWN = "[unknown]"
# A prefix budget is flagged when a change takes it past this share of the provider's limit.
BUDGET_THRESHOLD = BUDGET_WARN_RATIO
CODE_PATHS = ("__main__.py", "Pulumi.yaml", "pyproject.toml", "uv.lock")
CODE_DIRS = ("components/", "stacks/")
COMMENT_MARKER = "<!-- bridgectl-diff -->"
# GitHub rejects comments above 65,536 characters; leave room for the tail note.
MARKDOWN_LIMIT = 60000
# Environment that could let a planning subprocess reach a cloud; the offline plan needs none of it.
_CLOUD_ENV_PREFIXES = ("AWS_", "ARM_", "AZURE_", "EQUINIX_", "PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL")

# Runs inside a tree (its own code first on sys.path); writes {stack: {...}} as JSON. Kept free of
# imports from this module: the base revision may predate it.
SNAPSHOT_SCRIPT = r'''
import dataclasses, json, sys
from pathlib import Path

def plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)

project, out = Path(sys.argv[1]), Path(sys.argv[2])
result = {}
for stack in sys.argv[3:]:
    entry = {}
    result[stack] = entry
    if not (project / f"Pulumi.{stack}.yaml").is_file():
        entry["absent"] = True
        continue
    try:
        from stacks.problems import ConfigError
        from bridgectl.offline import offline_plan
        try:
            entry["plan"] = offline_plan(project, stack)
        except ConfigError as exc:
            entry["errors"] = [p.line(exc.source) for p in exc.problems] or [str(exc)]
    except Exception as exc:
        entry["errors"] = [f"{type(exc).__name__}: {exc}"]
    try:
        from stacks.loader import load_stack
        from stacks.plan import plan_bridge
        spec = load_stack(project, stack).spec
        if getattr(spec, "kind", "") == "bridge":
            entry["bgp"] = plain(plan_bridge(spec))
    except Exception:
        pass
out.write_text(json.dumps(result))
'''


class DiffInputError(Exception):
    """Bad input for a diff (not a git work tree, unknown revision); the CLI exits 2."""


class GitMissing(Exception):
    """git is not installed; the CLI exits 3."""


# --- data ----------------------------------------------------------------------------------------


@dataclass
class PropertyChange:
    path: str
    old: Any
    new: Any
    replaces: str | None = None       # why this change replaces the resource
    source: str | None = None         # where that rule comes from
    refused: bool = False             # the cloud refuses it in place
    via: str | None = None            # the replaced resource whose new outputs this takes


@dataclass
class ResourceChange:
    urn: str
    type: str
    name: str
    action: str                       # create | delete | update | replace
    protect_old: bool = False
    protect_new: bool = False
    changes: list[PropertyChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


@dataclass
class Risk:
    kind: str      # protected-replace | protected-delete | unprotected | bgp-session | renumbered-link |
                   # prefix-budget | mixed-pull-request | base-unplannable
    stack: str | None
    subject: str
    message: str


@dataclass
class StackDiff:
    stack: str
    kind: str
    status: str                       # added | removed | changed | unchanged
    resources: list[ResourceChange] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.resources if r.action == action)


@dataclass
class DiffReport:
    base: str
    base_commit: str
    stacks: list[StackDiff]
    risks: list[Risk]
    selection: dict[str, list[str]]

    @property
    def all_risks(self) -> list[Risk]:
        return [*self.risks, *(r for s in self.stacks for r in s.risks)]


# --- git -----------------------------------------------------------------------------------------


def git(args: Sequence[str], cwd: Path, *, binary: bool = False) -> Any:
    if shutil.which("git") is None:
        raise GitMissing("git is not installed (Debian package git)")
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise DiffInputError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return proc.stdout if binary else proc.stdout.decode()


def repo_layout(project: Path) -> tuple[Path, str]:
    """The git work tree's root and the project's path inside it ("" or "sub/dir/")."""
    try:
        root = Path(git(["rev-parse", "--show-toplevel"], project).strip())
    except DiffInputError:
        raise DiffInputError(f"{project} is not in a git work tree; bridgectl diff compares against a git "
                             "revision") from None
    prefix = git(["rev-parse", "--show-prefix"], project).strip()
    return root, prefix


def default_base(root: Path) -> str:
    """The merge base with origin/main, else with main, else HEAD."""
    for ref in ("origin/main", "main"):
        try:
            git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
        except DiffInputError:
            continue
        return git(["merge-base", "HEAD", ref], root).strip()
    return "HEAD"


def resolve_commit(root: Path, rev: str) -> str:
    try:
        return git(["rev-parse", "--verify", f"{rev}^{{commit}}"], root).strip()
    except DiffInputError:
        raise DiffInputError(f"--base {rev}: not a revision of this repository") from None


def changed_files(root: Path, commit: str, prefix: str) -> list[str]:
    """Files that differ between ``commit`` and the working tree (untracked ones included),
    relative to the project directory."""
    tracked = git(["diff", "--name-only", "--no-renames", commit, "--", prefix or "."], root).splitlines()
    untracked = git(["ls-files", "--others", "--exclude-standard", "--", prefix or "."], root).splitlines()
    out = []
    for path in sorted(set(tracked) | set(untracked)):
        if prefix and not path.startswith(prefix):
            continue
        out.append(path[len(prefix):])
    return out


def extract(root: Path, commit: str, dest: Path) -> None:
    data = git(["archive", "--format=tar", commit], root, binary=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(dest, filter="data")


def stacks_in(project: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project.glob("Pulumi.*.yaml"))


def is_bridge(stack: str) -> bool:
    return "." not in stack


def stack_of(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if "/" not in path and name.startswith("Pulumi.") and name.endswith(".yaml") and name != "Pulumi.yaml":
        return name[len("Pulumi."):-len(".yaml")]
    return None


def affected_stacks(changed: Iterable[str], base_stacks: Iterable[str], head_stacks: Iterable[str]) \
        -> tuple[list[str], dict[str, str]]:
    """The stacks whose plans the changed files can change, each with the reason."""
    everything = sorted(set(base_stacks) | set(head_stacks))
    reasons: dict[str, str] = {}
    changed = list(changed)
    code = [p for p in changed if p in CODE_PATHS or p.startswith(CODE_DIRS)]
    if code:
        for s in everything:
            reasons[s] = f"program changed ({code[0]}{' and more' if len(code) > 1 else ''})"
    for path in changed:
        stack = stack_of(path)
        if stack is None:
            continue
        reasons[stack] = f"{path} changed"
        if is_bridge(stack):
            for s in everything:
                if s.startswith(stack + ".") and s not in reasons:
                    reasons[s] = f"its bridge stack file {path} changed"
    ordered = sorted(reasons, key=lambda s: (not is_bridge(s), s))
    return ordered, reasons


# --- planning ------------------------------------------------------------------------------------


def _clean_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLOUD_ENV_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def _start_snapshot(tree: Path, stacks: Sequence[str], out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", SNAPSHOT_SCRIPT, str(tree), str(out), *stacks],
                            cwd=tree, env=_clean_env(tree), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _finish_snapshot(proc: subprocess.Popen[bytes], out: Path, what: str) -> dict[str, Any]:
    _, err = proc.communicate(timeout=1800)
    if proc.returncode != 0 or not out.is_file():
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        raise DiffInputError(f"planning the {what} failed: {' / '.join(tail) or 'no output'}")
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def snapshot_trees(base_tree: Path, head_tree: Path, stacks: Sequence[str]) \
        -> tuple[dict[str, Any], dict[str, Any]]:
    """Offline plans (and address plans) of ``stacks`` in both trees, each by its own code, in parallel."""
    with tempfile.TemporaryDirectory(prefix="bridgectl-diff-out-") as tmp:
        base_out, head_out = Path(tmp) / "base.json", Path(tmp) / "head.json"
        base_proc = _start_snapshot(base_tree, stacks, base_out)
        head_proc = _start_snapshot(head_tree, stacks, head_out)
        head = _finish_snapshot(head_proc, head_out, "working tree")
        base = _finish_snapshot(base_proc, base_out, "base revision")
    return base, head


def read_config(tree: Path, stack: str) -> dict[str, Any]:
    import yaml

    path = tree / f"Pulumi.{stack}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else {}


# --- resource diff -------------------------------------------------------------------------------


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf paths of a JSON value: ``a.b[0].c`` -> leaf. Empty containers are leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in value:
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _rule_hit(resource: dict[str, Any], path: str, old: Any, new: Any) -> tuple[str, str, bool] | None:
    """(why, source, refused) when changing ``path`` replaces ``resource``."""
    hit = rule_for(resource["type"], path)
    if hit is not None:
        _, rule = hit
        if rule.applies(old, new):
            return rule.why, rule.source, rule.kind == "refused"
    pattern = replace_on_changes_covers(list(resource.get("options", {}).get("replaceOnChanges", [])), path)
    if pattern is not None:
        return (f"the component declares replaceOnChanges [{pattern}]",
                "the resource's replaceOnChanges option (components/)", False)
    return None


def _apply(change: PropertyChange, hit: tuple[str, str, bool] | None) -> None:
    if hit is not None:
        change.replaces, change.source, change.refused = hit


def compare_resource(old: dict[str, Any], new: dict[str, Any]) -> ResourceChange:
    res = ResourceChange(new["urn"], new["type"], new["name"], "update", bool(old["protect"]), bool(new["protect"]),
                         delete_before_replace=bool(new.get("options", {}).get("deleteBeforeReplace")))
    before, after = flatten(old["inputs"]), flatten(new["inputs"])
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path, None), after.get(path, None)
        if path in before and path in after and a == b:
            continue
        change = PropertyChange(path, a, b)
        _apply(change, _rule_hit(new, path, a, b))
        res.changes.append(change)
    if old.get("provider") != new.get("provider"):
        res.notes.append(f"provider changes: {_provider_urn(old.get('provider'))} -> "
                         f"{_provider_urn(new.get('provider'))}")
    for option in ("customTimeouts", "replaceOnChanges", "deleteBeforeReplace", "additionalSecretOutputs",
                   "ignoreChanges"):
        if old.get("options", {}).get(option) != new.get("options", {}).get(option):
            res.notes.append(f"option {option}: {_short(old.get('options', {}).get(option))} -> "
                             f"{_short(new.get('options', {}).get(option))}")
    if res.protect_old != res.protect_new:
        res.notes.append("protection " + ("removed" if res.protect_old else "added"))
    if any(c.replaces for c in res.changes):
        res.action = "replace"
    elif not res.changes and not res.notes:
        res.action = "same"
    return res


def _provider_urn(ref: str | None) -> str | None:
    return ref.rsplit("::", 1)[0] if ref else None


def _volatile(resource: dict[str, Any], stack: str, subscription: str) -> tuple[set[str], set[str]]:
    """(values containing the resource's id or URN, exact computed output values) that change when it
    is replaced: its dependents see them as unknown until the new resource exists."""
    contains = {resource["urn"]}
    exact: set[str] = set()
    try:
        from bridgectl.offline import MockContext, fake_resource

        rid, state = fake_resource(MockContext(stack=stack, subscription=subscription), resource["type"],
                                   resource["name"], dict(resource["inputs"]))
    except Exception:
        return contains, exact
    if isinstance(rid, str) and len(rid) >= 8:
        contains.add(rid)
    for key, value in state.items():
        if key not in resource["inputs"] and isinstance(value, str) and len(value) >= 3:
            exact.add(value)
    return contains, exact


def cascade(new_plan: dict[str, Any], changes: dict[str, ResourceChange]) -> None:
    """Propagate replacements: a dependent that consumes a replaced resource's id or computed outputs
    sees them unknown, and is replaced too when that input forces it (as ``pulumi preview`` shows)."""
    resources = {r["urn"]: r for r in new_plan["resources"]}
    dependents: dict[str, list[str]] = defaultdict(list)
    for r in new_plan["resources"]:
        for dep in r.get("dependsOn", []):
            dependents[dep].append(r["urn"])
    subscription = next((str(r["inputs"].get("subscriptionId")) for r in new_plan["resources"]
                         if r["type"] == "pulumi:providers:azure-native" and r["inputs"].get("subscriptionId")),
                        "00000000-0000-0000-0000-000000000000")
    queue = [urn for urn, c in changes.items() if c.action == "replace" and urn in resources]
    done: set[str] = set()
    while queue:
        urn = queue.pop(0)
        if urn in done:
            continue
        done.add(urn)
        origin = resources[urn]
        if origin["type"].startswith("pulumi:providers:"):
            targets = [r for r in new_plan["resources"] if _provider_urn(r.get("provider")) == urn]
            for target in targets:
                tc = changes.get(target["urn"])
                if tc is None or tc.action in ("create", "delete"):
                    continue
                tc.notes.append(f"its provider {origin['name']} is replaced, so it is recreated")
                if tc.action != "replace":
                    tc.action = "replace"
                    queue.append(target["urn"])
            continue
        contains, exact = _volatile(origin, new_plan["stack"], subscription)
        secret_outputs = bool(origin.get("options", {}).get("additionalSecretOutputs"))
        for dep_urn in dependents.get(urn, []):
            dep = resources[dep_urn]
            dc = changes.get(dep_urn)
            if dc is None or dc.action in ("create", "delete"):
                continue
            for path, value in flatten(dep["inputs"]).items():
                if not isinstance(value, str):
                    continue
                hit = (value in exact or any(v in value for v in contains)
                       or (secret_outputs and value == SECRET))
                if not hit or any(c.path == path for c in dc.changes):
                    continue
                change = PropertyChange(path, value, UNKNOWN, via=origin["name"])
                _apply(change, _rule_hit(dep, path, value, UNKNOWN))
                dc.changes.append(change)
                if dc.action == "same":
                    dc.action = "update"
                if change.replaces and dc.action != "replace":
                    dc.action = "replace"
                    queue.append(dep_urn)


def resource_diff(old_plan: dict[str, Any] | None, new_plan: dict[str, Any] | None) -> list[ResourceChange]:
    old_by = {r["urn"]: r for r in (old_plan or {}).get("resources", [])}
    new_by = {r["urn"]: r for r in (new_plan or {}).get("resources", [])}
    changes: dict[str, ResourceChange] = {}
    for urn in sorted(set(old_by) | set(new_by)):
        old, new = old_by.get(urn), new_by.get(urn)
        if old is None and new is not None:
            changes[urn] = ResourceChange(urn, new["type"], new["name"], "create", False, bool(new["protect"]))
        elif new is None and old is not None:
            changes[urn] = ResourceChange(urn, old["type"], old["name"], "delete", bool(old["protect"]), False)
        elif old is not None and new is not None:
            changes[urn] = compare_resource(old, new)
    if new_plan is not None:
        cascade(new_plan, changes)
    return [c for c in changes.values() if c.action != "same" and not _is_component_noop(c)]


def _is_component_noop(change: ResourceChange) -> bool:
    # Option-only changes (timeouts, replaceOnChanges) change no cloud resource; `pulumi preview` does
    # not list them either. Protection changes are notes too, but not "option" ones, so they stay.
    return change.action == "update" and not change.changes and all(n.startswith("option ") for n in change.notes)


# --- risks ---------------------------------------------------------------------------------------


def resource_risks(stack: str, changes: list[ResourceChange]) -> list[Risk]:
    risks = []
    for c in changes:
        subject = f"{c.name} ({c.type})"
        if c.action == "replace" and c.protect_old:
            reasons = [f"{ch.path} takes the replaced {ch.via}'s new id" if ch.via else f"{ch.path}: {ch.replaces}"
                       for ch in c.changes if ch.replaces][:3] or c.notes[:1]
            refused = any(ch.refused for ch in c.changes if ch.replaces)
            risks.append(Risk(
                "protected-replace", stack, subject,
                f"protected resource {c.name} must be replaced ({'; '.join(reasons)})"
                + (": the provider plans an in-place update the cloud refuses, so `pulumi up` fails until the "
                   "resource is detached or replaced" if refused else
                   ": Pulumi refuses to replace a protected resource until `protect` is lifted")
                + "; its replacement is an outage"))
        elif c.action == "delete" and c.protect_old:
            risks.append(Risk("protected-delete", stack, subject,
                              f"protected resource {c.name} is removed from the program"
                              " (Pulumi refuses to delete it while protected; deleting it is an outage)"))
        elif c.action == "update" and c.protect_old and not c.protect_new:
            risks.append(Risk("unprotected", stack, subject,
                              f"protection is lifted from {c.name}: nothing stops its deletion or replacement"))
    return risks


def _fmt_peer(peer: dict[str, Any]) -> str:
    return f"{peer.get('asn')} {peer.get('address')}"


def bgp_risks(stack: str, old: dict[str, Any] | None, new: dict[str, Any] | None,
              old_config: dict[str, Any], new_config: dict[str, Any]) -> list[Risk]:
    """Risks read from the two address plans of a bridge stack."""
    if not old or not new:
        return []
    risks: list[Risk] = []
    for key, what in (("tgw_asn", "transit gateway ASN (the Amazon side of the TGW's BGP with the Direct "
                                   "Connect gateway)"),
                      ("dxgw_asn", "Direct Connect gateway ASN (the AWS side of every transit VIF session)"),
                      ("fcr_asn", "FCR ASN (the exchange side of every session)")):
        if old.get(key) != new.get(key) and old.get(key) is not None and new.get(key) is not None:
            risks.append(Risk("bgp-session", stack, key.replace("_", " "),
                              f"BGP: {what} {old.get(key)} -> {new.get(key)}"))
    old_sessions = {s["id"]: s for s in old.get("sessions", [])}
    new_sessions = {s["id"]: s for s in new.get("sessions", [])}
    old_keys = old_config.get("bridge:bgpAuthKeys") or {}
    new_keys = new_config.get("bridge:bgpAuthKeys") or {}
    for sid in sorted(old_sessions):
        if sid not in new_sessions:
            risks.append(Risk("bgp-session", stack, f"session {sid}",
                              f"BGP session {sid} ({_fmt_peer(old_sessions[sid]['fcr'])} <-> "
                              f"{_fmt_peer(old_sessions[sid]['cloud'])}) is removed"))
            continue
        a, b = old_sessions[sid], new_sessions[sid]
        if a.get("link") != b.get("link"):
            risks.append(Risk("renumbered-link", stack, f"session {sid}",
                              f"link of {sid} renumbered {a.get('link')} -> {b.get('link')}: both ends change "
                              "address and the session is re-provisioned with the exchange"))
        fields = []
        for label, getter in (("FCR ASN", lambda s: s["fcr"]["asn"]), ("cloud ASN", lambda s: s["cloud"]["asn"]),
                              ("FCR address", lambda s: s["fcr"]["address"]),
                              ("cloud address", lambda s: s["cloud"]["address"]),
                              ("VLAN", lambda s: s.get("vlan")),
                              ("MD5 key", lambda s: (s["key"]["id"], s["key"]["source"])),
                              ("BFD", lambda s: (s["bfd"]["enabled"], s["bfd"]["interval_ms"],
                                                 s["bfd"]["multiplier"])),
                              ("timers", lambda s: (s["timers"]["keepalive_s"], s["timers"]["hold_s"]))):
            try:
                va, vb = getter(a), getter(b)
            except (KeyError, TypeError):
                continue
            if va != vb:
                fields.append(f"{label} {_show_field(va)} -> {_show_field(vb)}")
        key_id = b.get("key", {}).get("id")
        if b.get("key", {}).get("source") == "config" and key_id and old_keys.get(key_id) != new_keys.get(key_id):
            fields.append(f"MD5 key bridge:bgpAuthKeys.{key_id} changed (encrypted value differs)")
        if fields:
            risks.append(Risk("bgp-session", stack, f"session {sid}", f"BGP session {sid}: " + "; ".join(fields)))
    old_budgets = {bd["name"]: bd for bd in old.get("budgets", [])}
    for bd in new.get("budgets", []):
        ratio = bd["count"] / bd["limit"] if bd.get("limit") else 0.0
        before = old_budgets.get(bd["name"])
        old_ratio = before["count"] / before["limit"] if before and before.get("limit") else 0.0
        if ratio > BUDGET_THRESHOLD and ratio > old_ratio:
            risks.append(Risk("prefix-budget", stack, bd["name"],
                              f"{bd['what']}: {bd['count']} of {bd['limit']} ({ratio:.0%}, past "
                              f"{BUDGET_THRESHOLD:.0%}; was {old_ratio:.0%}); source: {bd.get('source', '')}"))
    return risks


def _show_field(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "/".join(str(v) for v in value)
    return str(value)


def key_regeneration_risks(stack: str, changes: list[ResourceChange], new_plan: dict[str, Any] | None) \
        -> list[Risk]:
    """A replaced or removed resource that feeds a BGP key (a generated password) changes the key of
    every session that uses it."""
    if not new_plan:
        return []
    key_fields = ("bgpAuthKey", "sharedKey")
    consumers: dict[str, list[str]] = defaultdict(list)
    for r in new_plan["resources"]:
        if any(k in r["inputs"] for k in key_fields):
            for dep in r.get("dependsOn", []):
                consumers[dep].append(r["name"])
    risks = []
    for c in changes:
        if c.action in ("replace", "delete") and consumers.get(c.urn) and c.type.startswith("random:"):
            risks.append(Risk("bgp-session", stack, c.name,
                              f"BGP MD5 key {c.name} is regenerated: sessions of "
                              f"{', '.join(sorted(consumers[c.urn]))} re-key, dropping until both ends match"))
    return risks


# --- the whole diff ------------------------------------------------------------------------------


def diff_stack(stack: str, base: dict[str, Any], head: dict[str, Any], old_config: dict[str, Any],
               new_config: dict[str, Any]) -> StackDiff:
    kind = "bridge" if is_bridge(stack) else "customer"
    old_plan, new_plan = base.get("plan"), head.get("plan")
    if head.get("absent"):
        status = "removed"
    elif base.get("absent"):
        status = "added"
    else:
        status = "changed"
    sd = StackDiff(stack, kind, status)
    if base.get("errors") and not base.get("absent"):
        sd.risks.append(Risk("base-unplannable", stack, stack,
                             "the base revision's plan of this stack failed, so nothing can be compared: "
                             + " / ".join(base["errors"][:3])))
        old_plan = None
    changes = resource_diff(old_plan, new_plan)
    sd.resources = sorted(changes, key=lambda c: (_ACTION_ORDER[c.action], c.type, c.name))
    if status == "changed" and not sd.resources:
        sd.status = "unchanged"
    sd.risks += resource_risks(stack, sd.resources)
    sd.risks += key_regeneration_risks(stack, sd.resources, new_plan)
    sd.risks += bgp_risks(stack, base.get("bgp"), head.get("bgp"), old_config, new_config)
    if status == "removed":
        sd.notes.append("the stack file is removed: CI does not destroy the stack; run `pulumi destroy` "
                        "deliberately (protected resources must be unprotected first)")
    return sd


_ACTION_ORDER = {"replace": 0, "delete": 1, "update": 2, "create": 3, "same": 4}


@dataclass
class Selection:
    base: str
    commit: str
    root: Path
    prefix: str
    changed: list[str]
    stacks: list[str]
    reasons: dict[str, str]
    base_stacks: list[str]
    head_stacks: list[str]


def stacks_at(root: Path, commit: str, prefix: str) -> list[str]:
    names = git(["ls-tree", "--name-only", commit, "--", prefix or "."], root).splitlines()
    return sorted(s for n in names if (s := stack_of(n[len(prefix):] if prefix else n)))


def select(project: Path, base: str | None, named: Sequence[str]) -> Selection:
    root, prefix = repo_layout(project)
    rev = base or default_base(root)
    commit = resolve_commit(root, rev)
    changed = changed_files(root, commit, prefix)
    base_stacks = stacks_at(root, commit, prefix)
    head_stacks = stacks_in(project)
    if named:
        stacks = []
        for name in named:
            stack = Path(name).name
            if stack.startswith("Pulumi.") and stack.endswith(".yaml"):
                stack = stack[len("Pulumi."):-len(".yaml")]
            if stack not in base_stacks and stack not in head_stacks:
                raise DiffInputError(f"stack {stack}: no Pulumi.{stack}.yaml in the working tree or at {rev}")
            stacks.append(stack)
        reasons = {s: "named on the command line" for s in stacks}
        stacks = sorted(dict.fromkeys(stacks), key=lambda s: (not is_bridge(s), s))
    else:
        stacks, reasons = affected_stacks(changed, base_stacks, head_stacks)
    return Selection(rev, commit, root, prefix, changed, stacks, reasons, base_stacks, head_stacks)


def run_diff(project: Path, base: str | None = None, named: Sequence[str] = ()) -> DiffReport:
    """The offline diff of the working tree of ``project`` against ``base`` (see the module doc)."""
    sel = select(project, base, named)
    with tempfile.TemporaryDirectory(prefix="bridgectl-diff-base-") as tmp:
        base_tree = Path(tmp)
        extract(sel.root, sel.commit, base_tree)
        base_project = base_tree / sel.prefix
        # The project may not exist at the base revision: then every stack is new.
        base_project.mkdir(parents=True, exist_ok=True)
        if sel.stacks:
            base_snap, head_snap = snapshot_trees(base_project, project, sel.stacks)
        else:
            base_snap, head_snap = {}, {}
        errors = [f"{s}: {line}" for s in sel.stacks for line in head_snap.get(s, {}).get("errors", [])]
        if errors:
            raise DiffInputError("the working tree's plan failed (run `bridgectl validate`):\n" + "\n".join(errors))
        stacks = [diff_stack(s, base_snap.get(s, {"absent": True}), head_snap.get(s, {"absent": True}),
                             read_config(base_project, s), read_config(project, s)) for s in sel.stacks]
    report = DiffReport(sel.base, sel.commit, stacks, [], {
        "bridges": [s for s in sel.stacks if is_bridge(s) and s in sel.head_stacks],
        "customers": [s for s in sel.stacks if not is_bridge(s) and s in sel.head_stacks],
        "removed": [s for s in sel.stacks if s not in sel.head_stacks],
    })
    report.risks += mixed_risks(stacks, sel.changed)
    return report


def mixed_risks(stacks: list[StackDiff], changed: list[str]) -> list[Risk]:
    changed_bridges = [s.stack for s in stacks if s.kind == "bridge" and s.status not in ("unchanged",)]
    edited_customers = sorted({st for p in changed if (st := stack_of(p)) and not is_bridge(st)})
    if changed_bridges and edited_customers:
        return [Risk("mixed-pull-request", None, ", ".join(changed_bridges),
                     f"bridge stack(s) {', '.join(changed_bridges)} change in the same pull request as customer "
                     f"stack file(s) {', '.join(edited_customers)}: split them, so the bridge change is reviewed "
                     "and deployed (with approval) on its own")]
    return []


def list_selection(project: Path, base: str | None, named: Sequence[str]) -> dict[str, Any]:
    """The stacks a diff would compare, without planning: for CI matrices (bridges before customers)."""
    sel = select(project, base, named)
    return {
        "base": sel.base, "commit": sel.commit,
        "bridges": [s for s in sel.stacks if is_bridge(s) and s in sel.head_stacks],
        "customers": [s for s in sel.stacks if not is_bridge(s) and s in sel.head_stacks],
        "removed": [s for s in sel.stacks if s not in sel.head_stacks],
        "reasons": sel.reasons,
    }


# --- rendering -----------------------------------------------------------------------------------


_SYMBOL = {"create": "+", "delete": "-", "update": "~", "replace": "+-"}


def _short(value: Any, limit: int = 80) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _change_line(ch: PropertyChange) -> str:
    new = f"(known after {ch.via} is replaced)" if ch.via else _short(ch.new)
    text = f"{ch.path}: {_short(ch.old)} -> {new}"
    if ch.replaces:
        text += f"  [forces replacement: {ch.replaces}]"
    return text


def _summary(sd: StackDiff) -> str:
    parts = [f"{sd.count(a)} {label}" for a, label in (("create", "to create"), ("update", "to update"),
                                                        ("replace", "to replace"), ("delete", "to delete"))
             if sd.count(a)]
    return ", ".join(parts) or "no changes"


def render_text(report: DiffReport, *, max_changes: int = 12) -> str:
    out = [f"Offline diff against {report.base} ({report.base_commit[:12]}): "
           f"{len(report.stacks)} stack(s) compared (no cloud contacted; `pulumi preview` is authoritative)"]
    if not report.stacks:
        out.append("No stack is affected by the changed files.")
    for risk in report.risks:
        out.append(f"RISK [{risk.kind}] {risk.message}")
    for sd in report.stacks:
        out.append("")
        out.append(f"== {sd.stack} ({sd.kind}, {sd.status}): {_summary(sd)}"
                   + (f"  [{len(sd.risks)} risk(s)]" if sd.risks else ""))
        for risk in sd.risks:
            out.append(f"  RISK [{risk.kind}] {risk.message}")
        for note in sd.notes:
            out.append(f"  note: {note}")
        for rc in sd.resources:
            flag = "  [protected]" if rc.protect_old or rc.protect_new else ""
            out.append(f"  {_SYMBOL[rc.action]:>2} {rc.type}  {rc.name}{flag}")
            if rc.action in ("update", "replace"):
                for ch in rc.changes[:max_changes]:
                    out.append(f"       {_change_line(ch)}")
                if len(rc.changes) > max_changes:
                    out.append(f"       ... and {len(rc.changes) - max_changes} more")
                for note in rc.notes:
                    out.append(f"       note: {note}")
                if rc.action == "replace" and rc.delete_before_replace:
                    out.append("       note: deleted before its replacement is created (outage window)")
    total = len(report.all_risks)
    out.append("")
    out.append(f"{total} risk(s) found." if total else "No risks found.")
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DiffReport, *, max_changes: int = 8) -> str:
    risks = report.all_risks
    head = [COMMENT_MARKER, "### Offline plan diff",
            f"Compared with `{report.base}` (`{report.base_commit[:12]}`) by `bridgectl diff`: offline plans, "
            "no cloud contacted. A real `pulumi preview` (where credentials exist) is authoritative.", ""]
    if risks:
        head.append(f"**:warning: {len(risks)} risk(s) found**")
        head.append("")
        for risk in risks:
            where = f"`{risk.stack}` " if risk.stack else ""
            head.append(f"- :warning: **{risk.kind}** {where}{_md_escape(risk.message)}")
    else:
        head.append("**:white_check_mark: No risks found.**")
    head.append("")
    if report.stacks:
        head += ["| stack | kind | status | create | update | replace | delete | risks |",
                 "|---|---|---|---:|---:|---:|---:|---:|"]
        for sd in report.stacks:
            head.append(f"| `{sd.stack}` | {sd.kind} | {sd.status} | {sd.count('create')} | {sd.count('update')} | "
                        f"{sd.count('replace')} | {sd.count('delete')} | {len(sd.risks)} |")
    else:
        head.append("No stack is affected by the changed files.")
    body: list[str] = []
    for sd in report.stacks:
        if not sd.resources and not sd.notes:
            continue
        body += ["", f"<details{' open' if sd.risks else ''}><summary><b>{sd.stack}</b> ({sd.kind}): "
                     f"{_summary(sd)}</summary>", ""]
        for note in sd.notes:
            body.append(f"_note: {_md_escape(note)}_")
            body.append("")
        body += ["| | type | name | changes |", "|---|---|---|---|"]
        for rc in sd.resources:
            details = []
            if rc.action in ("update", "replace"):
                details = [f"`{_md_escape(_change_line(ch))}`" for ch in rc.changes[:max_changes]]
                if len(rc.changes) > max_changes:
                    details.append(f"... {len(rc.changes) - max_changes} more")
                details += [_md_escape(n) for n in rc.notes]
            flag = " :lock:" if rc.protect_old or rc.protect_new else ""
            body.append(f"| `{_SYMBOL[rc.action]}` | `{rc.type}` | `{rc.name}`{flag} | {'<br>'.join(details)} |")
        body += ["", "</details>"]
    text = "\n".join(head)
    rest = "\n" + "\n".join(body) if body else ""
    if len(text) + len(rest) > MARKDOWN_LIMIT:
        rest = rest[: max(0, MARKDOWN_LIMIT - len(text))] + \
            "\n\n_(truncated; run `bridgectl diff` locally or see the job log for the full diff)_"
    return text + rest + "\n"


def to_json(report: DiffReport) -> str:
    data = {"base": report.base, "commit": report.base_commit, "selection": report.selection,
            "risks": [asdict(r) for r in report.all_risks],
            "stacks": [asdict(s) for s in report.stacks]}
    return json.dumps(data, indent=2, default=str) + "\n"


def replacement_table_rows() -> list[tuple[str, str, Rule]]:
    from .replacements import TABLE

    return [(t, p, r) for t, props in TABLE.items() for p, r in props.items()]
