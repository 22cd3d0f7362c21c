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
import re
import secrets
import selectors
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stacks.limits import BUDGET_WARN_RATIO

from .replacements import TABLE, Rule, replace_on_changes_covers, rule_for
from .risks import (
    CUSTOMER_FACING,
    ENDPOINT_ACTION,
    ENDPOINT_TARGETS,
    WATCHERS,
    disruptive,
    endpoint_target,
    target_of,
)

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

def snapshot(project, stacks, replaced=None, progress=None):
    # One listing of a bridge's customer files for all the stacks planned here (older code lacks it).
    import contextlib
    try:
        from stacks.loader import one_snapshot
    except ImportError:
        one_snapshot = contextlib.nullcontext
    with one_snapshot():
        return _snapshot(project, stacks, replaced, progress)

def _snapshot(project, stacks, replaced, progress):
    result = {}
    for stack in stacks:
        entry = {}
        result[stack] = entry
        if progress is not None:
            progress(stack)
        if not (project / f"Pulumi.{stack}.yaml").is_file():
            entry["absent"] = True
            continue
        try:
            from stacks.problems import ConfigError
            from bridgectl.offline import offline_plan
            try:
                # Only the working tree's code is asked to plan replaced resources as recreated.
                entry["plan"] = (offline_plan(project, stack, replaced=replaced) if replaced
                                 else offline_plan(project, stack))
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
                # What its customers read of it, where this tree's code can say (older code cannot:
                # then no customer is taken as unchanged).
                import bridgectl.offline as offline
                inputs = getattr(offline, "customer_inputs", None)
                if inputs is not None and "plan" in entry:
                    entry["customerInputs"] = inputs(project, stack, replaced) if replaced else inputs(project, stack)
        except Exception:
            pass
    return result

def _planned(stack):
    # One line per stack on stdout: the parent counts them for its progress.
    sys.stdout.write(f"planning {stack}\n")
    sys.stdout.flush()

if __name__ == "__main__":
    args = sys.argv[3:]
    replaced = None
    if args[:1] == ["--replaced"]:
        replaced = json.loads(Path(args[1]).read_text())
        args = args[2:]
    try:
        result = snapshot(Path(sys.argv[1]), args, replaced, _planned)
    except KeyboardInterrupt:
        sys.exit(130)  # the parent says so; no traceback from here
    Path(sys.argv[2]).write_text(json.dumps(result))
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
    via: str | None = None            # the replaced resource(s) whose new outputs this takes


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
    #: False for what is not a cloud resource (providers, stack references, components): listed, not counted
    counted: bool = True


@dataclass
class Risk:
    kind: str                         # a key of bridgectl.risks.RULES
    stack: str | None
    subject: str
    message: str
    #: the rule's source (provider code, cloud documentation) where one applies
    source: str | None = None
    #: the stacks (the bridge, its customers) whose traffic or resources the change touches
    touches: list[str] = field(default_factory=list)
    #: what someone must do for the change to complete (a customer's approval), if anything
    action: str | None = None


@dataclass
class StackDiff:
    stack: str
    kind: str
    status: str                       # added | removed | changed | unchanged
    resources: list[ResourceChange] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: a new stack's reviewable inputs (platform, service, hostnames; routers, metros, circuit)
    inputs: list[str] = field(default_factory=list)
    #: the order in which replacements happen: {"deleteFirst", "create", "deleteAfter"} -> resource names
    order: dict[str, list[str]] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return sum(1 for r in self.resources if r.action == action and r.counted)


@dataclass
class DiffReport:
    base: str
    base_commit: str
    stacks: list[StackDiff]
    risks: list[Risk]
    selection: dict[str, list[str]]
    #: the files that changed (kept in a shard's report: the merge judges the mixed pull request)
    changed: list[str] = field(default_factory=list)
    #: {"index", "count", "stacks"} for one shard's partial report, else None
    shard: dict[str, Any] | None = None

    @property
    def all_risks(self) -> list[Risk]:
        return [*self.risks, *(r for s in self.stacks for r in s.risks)]

    def count(self, action: str) -> int:
        return sum(s.count(action) for s in self.stacks)


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

#: a function that plans ``stacks`` of the working tree with the given resources shown as replaced
#: (stack -> URNs), returning snapshots like :data:`SNAPSHOT_SCRIPT` writes
Replanner = Callable[[dict[str, list[str]], list[str]], dict[str, Any]]
#: passes of planning with replacements renewed: a chain is as long as the longest dependency path
#: from a replaced resource (the Equinix chain: circuit, connection, protocols); more is a loop
MAX_PASSES = 8


#: one key per process for the secrets' digests (bridgectl/offline.py, SECRET_DIGEST_ENV): both trees
#: of one diff record a secret alike when it is the same, and nothing outside the diff can use it
_DIGEST_KEY = secrets.token_hex(16)


def _clean_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLOUD_ENV_PREFIXES)}
    env["BRIDGE_SECRET_DIGEST_KEY"] = _DIGEST_KEY
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


#: planning processes at once (both trees share them); default: the machine's cores
DEFAULT_WORKERS = max(1, min(os.cpu_count() or 1, 8))
#: stacks one planning process plans before it exits and a fresh one takes over: each customer plan
#: leaves about 0.3 MiB behind in the process (Pulumi's runtime state; bench/results.json), so this
#: bounds a process's memory, while a fresh process costs its imports (about 2 s)
DEFAULT_STACKS_PER_PROCESS = 100
#: how long one planning process may take (seconds); past it the diff stops with a clear error
DEFAULT_TIMEOUT = 1800.0


class PlanTimeout(DiffInputError):
    """A planning process ran past its time; the diff stops, nothing half-compared is reported."""


@dataclass
class PlanJob:
    """Stacks of one tree planned by one process (of one bridge: its program then runs once)."""

    tree: Path
    stacks: list[str]
    what: str                                   # "base revision" | "working tree"
    replaced: dict[str, list[str]] | None = None


@dataclass
class Planner:
    """How the plans run: ``workers`` processes at once, each planning at most ``per_process`` stacks
    (then a fresh one), each given ``timeout`` seconds; ``progress`` hears (done, total, what)."""

    workers: int = DEFAULT_WORKERS
    per_process: int = DEFAULT_STACKS_PER_PROCESS
    timeout: float = DEFAULT_TIMEOUT
    progress: Callable[[int, int, str], None] | None = None
    #: planning processes started (tests count them)
    started: int = 0

    def jobs(self, tree: Path, stacks: Sequence[str], what: str,
             replaced: dict[str, list[str]] | None = None) -> list[PlanJob]:
        """``stacks`` in jobs: the bridges together, then each bridge's customers in slices."""
        bridges = [s for s in stacks if is_bridge(s)]
        out = [PlanJob(tree, bridges, what, replaced)] if bridges else []
        for _, members in sorted(customers_of(s for s in stacks if not is_bridge(s)).items()):
            size = max(1, self.per_process)
            out += [PlanJob(tree, members[i:i + size], what, replaced) for i in range(0, len(members), size)]
        return out

    def plan(self, jobs: Sequence[PlanJob]) -> list[dict[str, Any]]:
        """Run ``jobs`` (at most ``workers`` at once); their snapshots, in order. On a timeout, a
        failure or Ctrl-C every process still running is stopped before this returns or raises."""
        results: list[dict[str, Any] | None] = [None] * len(jobs)
        total, done = sum(len(j.stacks) for j in jobs), 0
        queue = list(range(len(jobs)))
        running: dict[int, tuple[int, subprocess.Popen[bytes], float]] = {}
        with tempfile.TemporaryDirectory(prefix="bridgectl-diff-") as tmp, selectors.DefaultSelector() as sel:
            work = Path(tmp)
            try:
                while queue or running:
                    while queue and len(running) < max(1, self.workers):
                        i = queue.pop(0)
                        proc = self._start(jobs[i], work, i)
                        assert proc.stdout is not None
                        running[proc.stdout.fileno()] = (i, proc, time.monotonic())
                        sel.register(proc.stdout, selectors.EVENT_READ, i)
                    for key, _ in sel.select(timeout=0.5):
                        i, proc, _started = running[key.fd]
                        data = os.read(key.fd, 65536)
                        if data:
                            n = data.count(b"\n")
                            if n and self.progress is not None:
                                done += n
                                self.progress(done, total, jobs[i].what)
                            continue
                        sel.unregister(key.fileobj)
                        del running[key.fd]
                        results[i] = self._finish(jobs[i], proc, work, i)
                    now = time.monotonic()
                    for i, _proc, started in running.values():
                        if now - started > self.timeout:
                            job = jobs[i]
                            raise PlanTimeout(
                                f"planning the {job.what} timed out after {self.timeout:.0f} s ({len(job.stacks)} "
                                f"stack(s): {', '.join(job.stacks[:3])}{' ...' if len(job.stacks) > 3 else ''}); "
                                "nothing was compared (fix: give it more time with --timeout SECONDS, or split "
                                "the diff with --shard I/N)")
            finally:
                for _i, proc, _started in running.values():
                    _stop(proc)
        return [r if r is not None else {} for r in results]

    def _start(self, job: PlanJob, work: Path, i: int) -> subprocess.Popen[bytes]:
        extra: list[str] = []
        if job.replaced:
            spec = work / f"replaced-{i}.json"
            spec.write_text(json.dumps(job.replaced))
            extra = ["--replaced", str(spec)]
        self.started += 1
        with open(work / f"err-{i}.txt", "wb") as err:
            return subprocess.Popen([sys.executable, "-c", SNAPSHOT_SCRIPT, str(job.tree), str(work / f"out-{i}.json"),
                                     *extra, *job.stacks], cwd=job.tree, env=_clean_env(job.tree),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)

    @staticmethod
    def _finish(job: PlanJob, proc: subprocess.Popen[bytes], work: Path, i: int) -> dict[str, Any]:
        proc.wait()
        out = work / f"out-{i}.json"
        if proc.returncode == 130:
            raise KeyboardInterrupt
        if proc.returncode != 0 or not out.is_file():
            tail = (work / f"err-{i}.txt").read_text(errors="replace").strip().splitlines()[-5:]
            raise DiffInputError(f"planning the {job.what} failed: {' / '.join(tail) or 'no output'}")
        data: dict[str, Any] = json.loads(out.read_text())
        return data

    def snapshot(self, jobs: Sequence[PlanJob]) -> dict[Path, dict[str, Any]]:
        """The snapshots of ``jobs`` merged per tree."""
        merged: dict[Path, dict[str, Any]] = {}
        for job, result in zip(jobs, self.plan(jobs), strict=True):
            merged.setdefault(job.tree, {}).update(result)
        return merged


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End a planning process (and reap it): politely, then for good."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def snapshot_trees(base_tree: Path, head_tree: Path, stacks: Sequence[str], planner: Planner | None = None) \
        -> tuple[dict[str, Any], dict[str, Any]]:
    """Offline plans (and address plans) of ``stacks`` in both trees, each by its own code, in parallel."""
    planner = planner or Planner()
    jobs = planner.jobs(base_tree, stacks, "base revision") + planner.jobs(head_tree, stacks, "working tree")
    merged = planner.snapshot(jobs)
    return merged.get(base_tree, {}), merged.get(head_tree, {})


def subprocess_replanner(tree: Path, planner: Planner | None = None) -> Replanner:
    """Plans the working tree again in planning processes, with replaced resources renewed."""
    planner = planner or Planner()

    def replan(replaced: dict[str, list[str]], stacks: list[str]) -> dict[str, Any]:
        return planner.snapshot(planner.jobs(tree, stacks, "working tree", replaced)).get(tree, {})
    return replan


def local_snapshot(tree: Path, stacks: Sequence[str], replaced: dict[str, list[str]] | None = None) \
        -> dict[str, Any]:
    """The same snapshot in this process, with this process's code (tests, benchmarks)."""
    namespace: dict[str, Any] = {"__name__": "bridgectl_snapshot"}
    exec(compile(SNAPSHOT_SCRIPT, "<snapshot>", "exec"), namespace)
    previous = os.environ.get("BRIDGE_SECRET_DIGEST_KEY")
    os.environ["BRIDGE_SECRET_DIGEST_KEY"] = _DIGEST_KEY
    try:
        result: dict[str, Any] = json.loads(json.dumps(namespace["snapshot"](tree, list(stacks), replaced)))
    finally:
        if previous is None:
            os.environ.pop("BRIDGE_SECRET_DIGEST_KEY", None)
        else:
            os.environ["BRIDGE_SECRET_DIGEST_KEY"] = previous
    return result


def local_replanner(tree: Path) -> Replanner:
    return lambda replaced, stacks: local_snapshot(tree, stacks, replaced)


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

#: the keys that identify an element of a list of objects, in order of preference: lists are
#: compared element by element by identity (NSG rules by name, routes by destination), never by
#: position, so a reordering is no change
IDENTITY_KEYS = ("name", "destinationCidrBlock", "addressPrefix", "vpcId", "type", "fromPort", "priority")


def _identity(items: list[Any]) -> str | None:
    for key in IDENTITY_KEYS:
        values = [item.get(key) for item in items]
        if all(isinstance(v, str | int) and not isinstance(v, bool) for v in values) \
                and len(set(values)) == len(values):
            return key
    return None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf paths of a JSON value: ``a.b.c`` -> leaf. A list of objects is keyed by the identity of its
    elements (``securityRules[name=allow-https].access``); a list of plain values is one leaf, sorted
    (its order means nothing to the clouds here: CIDR lists, subnet ids, record values). Empty
    containers are leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in value:
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        if all(isinstance(item, dict) for item in value):
            key = _identity(value)
            out = {}
            for item in value:
                tag = f"{key}={item[key]}" if key else json.dumps(item, sort_keys=True, default=str)
                out.update(flatten(item, f"{prefix}[{tag}]") if key else {f"{prefix}[{tag}]": True})
            return out
        if not any(isinstance(item, dict | list) for item in value):
            return {prefix: sorted(value, key=lambda v: (str(type(v)), str(v)))}
        return {k: v for i, item in enumerate(value) for k, v in flatten(item, f"{prefix}[{i}]").items()}
    return {prefix: value}


def _rule_hit(resource: dict[str, Any], path: str, old: Any, new: Any) -> tuple[str, str, bool] | None:
    """(why, source, refused) when changing ``path`` replaces ``resource``."""
    hit = rule_for(resource["type"], path)
    if hit is not None:
        _, rule = hit
        if rule.applies(old, new):
            return rule.why, rule.source, rule.kind == "refused"
    patterns = list(resource.get("options", {}).get("replaceOnChanges", []))
    pattern = replace_on_changes_covers(patterns, path)
    if pattern is not None:
        return (f"the component declares replaceOnChanges [{pattern}]",
                "the resource's replaceOnChanges option (components/)", False)
    if _is_secret(old) or _is_secret(new):
        # A secret block hides which of its fields changed: it replaces when any field under it would
        # (the Azure connections' z-side holds the circuit's service key).
        inner = [k for k in (*TABLE.get(resource["type"], {}), *patterns) if k.startswith(path + ".")]
        if inner:
            hit = rule_for(resource["type"], inner[0])
            return (f"a secret part of {path} changed, and {inner[0]} cannot change in place",
                    hit[1].source if hit else "the resource's replaceOnChanges option (components/)", False)
    return None


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[secret")


def _apply(change: PropertyChange, hit: tuple[str, str, bool] | None) -> None:
    if hit is not None:
        change.replaces, change.source, change.refused = hit


def _ignored(resource: dict[str, Any], path: str) -> bool:
    """A path under the resource's ``ignoreChanges``: the engine keeps the deployed value."""
    return replace_on_changes_covers(list(resource.get("options", {}).get("ignoreChanges", [])), path) is not None


def _upstream_replaced(resource: dict[str, Any], replaced_names: dict[str, str],
                       upstream: dict[str, set[str]]) -> list[str]:
    """The replaced resources this one depends on, less those that depend on another of them: the
    origin of the new values (a VIF takes the replaced Equinix connection's hosted connection, not
    its confirmation's)."""
    found = [d for d in resource.get("dependsOn", []) if d in replaced_names]
    return [d for d in found if not any(o in upstream.get(d, ()) for o in found if o != d)]


def compare_resource(old: dict[str, Any], new: dict[str, Any], reference: dict[str, Any] | None = None,
                     replaced_names: dict[str, str] | None = None,
                     upstream: dict[str, set[str]] | None = None) -> ResourceChange:
    """How ``old`` becomes ``new``. ``reference`` is the same resource planned without any
    replacement: an input that differs from it takes a replaced resource's new outputs, named by
    ``replaced_names`` (URN -> name) among its dependencies."""
    res = ResourceChange(new["urn"], new["type"], new["name"], "update", bool(old["protect"]), bool(new["protect"]),
                         delete_before_replace=bool(new.get("options", {}).get("deleteBeforeReplace")),
                         counted=_counted(new))
    before, after = flatten(old["inputs"]), flatten(new["inputs"])
    unchanged = flatten(reference["inputs"]) if reference is not None else after
    names = replaced_names or {}
    via = ", ".join(sorted(names[d] for d in _upstream_replaced(new, names, upstream or {}))) or "a replaced resource"
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path, None), after.get(path, None)
        if path in before and path in after and a == b:
            continue
        if _ignored(new, path):
            continue
        change = PropertyChange(path, a, b)
        if reference is not None and unchanged.get(path, None) != b:
            change.via = via
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


def _counted(resource: dict[str, Any]) -> bool:
    """Cloud resources count; providers, stack references, reads and components do not."""
    internal = resource["type"].startswith(("pulumi:providers:", "pulumi:pulumi:"))
    return bool(resource.get("custom", True)) and not internal and not resource.get("options", {}).get("read")


def _provider_urn(ref: str | None) -> str | None:
    return ref.rsplit("::", 1)[0] if ref else None


def _provider_cascade(new_plan: dict[str, Any], changes: dict[str, ResourceChange]) -> None:
    """A replaced provider recreates every resource it manages (pulumi/pulumi-aws#4000)."""
    queue = [urn for urn, c in changes.items() if c.action == "replace" and c.type.startswith("pulumi:providers:")]
    for urn in queue:
        name = changes[urn].name
        for target in new_plan["resources"]:
            if _provider_urn(target.get("provider")) != urn:
                continue
            tc = changes.get(target["urn"])
            if tc is None or tc.action in ("create", "delete", "replace"):
                continue
            tc.notes.append(f"its provider {name} is replaced, so it is recreated")
            tc.action = "replace"


def resource_diff(old_plan: dict[str, Any] | None, new_plan: dict[str, Any] | None,
                  reference: dict[str, Any] | None = None, replaced: Iterable[str] = ()) -> list[ResourceChange]:
    """Resource changes from ``old_plan`` to ``new_plan``. ``new_plan`` may be planned with
    ``replaced`` resources renewed (new ids and outputs, as once recreated); ``reference`` is the
    same stack planned without, which tells which inputs change only because of a replacement."""
    old_by = {r["urn"]: r for r in (old_plan or {}).get("resources", [])}
    new_by = {r["urn"]: r for r in (new_plan or {}).get("resources", [])}
    ref_by = {r["urn"]: r for r in (reference or {}).get("resources", [])} if reference else {}
    replaced_names = {u: new_by[u]["name"] for u in replaced if u in new_by}
    upstream = {u: set(new_by[u].get("dependsOn", [])) for u in replaced_names}
    changes: dict[str, ResourceChange] = {}
    for urn in sorted(set(old_by) | set(new_by)):
        old, new = old_by.get(urn), new_by.get(urn)
        if old is None and new is not None:
            changes[urn] = ResourceChange(urn, new["type"], new["name"], "create", False, bool(new["protect"]),
                                          counted=_counted(new))
        elif new is None and old is not None:
            changes[urn] = ResourceChange(urn, old["type"], old["name"], "delete", bool(old["protect"]), False,
                                          counted=_counted(old))
        elif old is not None and new is not None:
            changes[urn] = compare_resource(old, new, ref_by.get(urn) if reference else None, replaced_names,
                                            upstream)
    if new_plan is not None:
        _provider_cascade(new_plan, changes)
    return [c for c in changes.values()
            if c.action != "same" and not _is_component_noop(c) and not (c.action == "create" and not c.counted
                                                                         and c.type.startswith("bridge:"))]


def _is_component_noop(change: ResourceChange) -> bool:
    # Option-only changes (timeouts, replaceOnChanges) change no cloud resource; `pulumi preview` does
    # not list them either. Protection changes are notes too, but not "option" ones, so they stay.
    return change.action == "update" and not change.changes and all(n.startswith("option ") for n in change.notes)


def replacement_order(plan: dict[str, Any] | None, changes: list[ResourceChange]) -> dict[str, list[str]]:
    """The order of a stack's replacements, as the engine runs them: resources replaced with
    ``deleteBeforeReplace``, and the replaced resources that depend on them, are deleted first
    (dependents first); then every replacement is created (dependencies first); the other old
    resources are deleted last (dependents first) (Pulumi docs, resource option deleteBeforeReplace;
    pulumi/pulumi pkg/resource/deploy/step_generator.go, calculateDependentReplacements)."""
    replaced = {c.urn: c for c in changes if c.action == "replace" and c.counted}
    if not replaced or plan is None:
        return {}
    deps = {r["urn"]: set(r.get("dependsOn", [])) for r in plan["resources"]}

    def reaches(urn: str) -> set[str]:
        seen: set[str] = set()
        stack = list(deps.get(urn, ()))
        while stack:
            d = stack.pop()
            if d not in seen:
                seen.add(d)
                stack.extend(deps.get(d, ()))
        return seen

    upstream = {u: reaches(u) & set(replaced) for u in replaced}
    ordered: list[str] = []
    remaining = set(replaced)
    while remaining:
        ready = sorted((u for u in remaining if not (upstream[u] & remaining)), key=lambda u: replaced[u].name)
        if not ready:  # a cycle cannot come from a real program; keep the rest by name
            ready = sorted(remaining, key=lambda u: replaced[u].name)
        ordered += ready
        remaining -= set(ready)
    first = {u for u in replaced if replaced[u].delete_before_replace}
    first |= {u for u in replaced if upstream[u] & first}
    names = {u: replaced[u].name for u in replaced}
    return {"deleteFirst": [names[u] for u in reversed(ordered) if u in first],
            "create": [names[u] for u in ordered],
            "deleteAfter": [names[u] for u in reversed(ordered) if u not in first]}


# --- risks ---------------------------------------------------------------------------------------


def resource_risks(stack: str, changes: list[ResourceChange], touches: Sequence[str] = (),
                   old_plan: dict[str, Any] | None = None, new_plan: dict[str, Any] | None = None) -> list[Risk]:
    """The risks of a stack's resource changes (bridgectl/risks.py says what each kind means)."""
    risks = []
    touched = list(touches) or [stack]
    for c in changes:
        if not c.counted:
            continue  # a replaced provider's resources are judged one by one
        subject = f"{c.name} ({c.type})"
        replacing = [ch for ch in c.changes if ch.replaces]
        sources = sorted({ch.source for ch in replacing if ch.source})
        if c.action == "replace":
            reasons = [f"{ch.path} takes the new outputs of {ch.via}" if ch.via else f"{ch.path}: {ch.replaces}"
                       for ch in replacing][:3] or c.notes[:1]
            refused = any(ch.refused for ch in replacing)
            if c.protect_old:
                risks.append(Risk(
                    "protected-replace", stack, subject,
                    f"protected resource {c.name} must be replaced ({'; '.join(reasons)})"
                    + (": the provider plans an in-place update the cloud refuses, so `pulumi up` fails until the "
                       "resource is detached or replaced" if refused else
                       ": Pulumi refuses to replace a protected resource until `protect` is lifted")
                    + "; its replacement is an outage", "; ".join(sources) or None, touched))
            else:
                what = CUSTOMER_FACING.get(c.type)
                risks.append(Risk(
                    "replace", stack, subject,
                    f"{c.name} is deleted and created again ({'; '.join(reasons)})"
                    + (f": {what} is interrupted meanwhile" if what else ""), "; ".join(sources) or None, touched,
                    ENDPOINT_ACTION.get(c.type) if c.type in ENDPOINT_ACTION else None))
        elif c.action == "delete" and c.protect_old:
            risks.append(Risk("protected-delete", stack, subject,
                              f"protected resource {c.name} is removed from the program"
                              " (Pulumi refuses to delete it while protected; deleting it is an outage)",
                              None, touched))
        elif c.action == "delete" and c.type in CUSTOMER_FACING:
            risks.append(Risk("customer-facing-delete", stack, subject,
                              f"{c.name} is deleted: {CUSTOMER_FACING[c.type]}", None, touched))
        elif c.action == "update" and c.protect_old and not c.protect_new:
            risks.append(Risk("unprotected", stack, subject,
                              f"protection is lifted from {c.name}: nothing stops its deletion or replacement",
                              None, touched))
        if c.action == "update":
            for ch in c.changes:
                hit = disruptive(c.type, ch.path)
                if hit is not None and hit[1].applies(ch.old, ch.new):
                    risks.append(Risk("disruptive-update", stack, subject,
                                      f"{c.name}: {ch.path} {_short(ch.old, 40)} -> "
                                      f"{_short(ch.new, 40) if not ch.via else '(new)'} in place: {hit[1].why}",
                                      hit[1].source, touched))
                    break
        if c.action in ("update", "replace") and c.type in ENDPOINT_TARGETS:
            moved = [ch for ch in c.changes if endpoint_target(c.type, ch.path) and not ch.via]
            if moved:
                risks.append(Risk("endpoint-target-changed", stack, subject,
                                  f"{c.name} now connects to another service ({moved[0].path}): the connection "
                                  "is not usable until it is approved again", None, touched,
                                  ENDPOINT_ACTION[c.type]))
    risks += rename_risks(stack, changes, old_plan, new_plan, touched)
    risks += redundancy_risks(stack, changes, touched)
    return risks


def rename_risks(stack: str, changes: list[ResourceChange], old_plan: dict[str, Any] | None,
                 new_plan: dict[str, Any] | None, touched: list[str]) -> list[Risk]:
    """An endpoint deleted and one with the same target created: most likely a rename that forgot
    ``renamedFrom``, which would recreate the endpoint (and ask the customer to approve it again)."""
    if not old_plan or not new_plan:
        return []
    old_by = {r["urn"]: r for r in old_plan["resources"]}
    new_by = {r["urn"]: r for r in new_plan["resources"]}
    gone = {target_of(old_by[c.urn]): c for c in changes
            if c.action == "delete" and c.type in ENDPOINT_TARGETS and c.urn in old_by}
    risks = []
    for c in changes:
        if c.action != "create" or c.type not in ENDPOINT_TARGETS or c.urn not in new_by:
            continue
        match = gone.get(target_of(new_by[c.urn]))
        if match is not None:
            risks.append(Risk("possible-rename", stack, f"{c.name} ({c.type})",
                              f"{match.name} is deleted and {c.name} created with the same target: if the endpoint "
                              "was renamed, keep its resources by setting `renamedFrom:` to its former name "
                              "(docs/stack-config.md, \"Renaming an endpoint\"); otherwise the customer approves a "
                              "new connection", None, touched, ENDPOINT_ACTION.get(c.type)))
    return risks


#: the types whose count is the bridge's redundancy
REDUNDANT = {
    "equinix:fabric/cloudRouter:CloudRouter": "Fabric Cloud Routers",
    "equinix:fabric/connection:Connection": "Equinix connections",
    "aws:directconnect/transitVirtualInterface:TransitVirtualInterface": "transit virtual interfaces",
}


def redundancy_risks(stack: str, changes: list[ResourceChange], touched: list[str]) -> list[Risk]:
    risks = []
    for kind, types, why in (("redundancy-lowered", REDUNDANT, "the bridge keeps fewer independent paths"),
                             ("unwatched", WATCHERS, "the bridge stops watching part of itself (docs/"
                              "runbook-network.md, \"Alarms\")")):
        for typ, what in types.items():
            removed = sum(1 for c in changes if c.type == typ and c.action == "delete")
            added = sum(1 for c in changes if c.type == typ and c.action == "create")
            if removed > added:
                risks.append(Risk(kind, stack, what, f"{removed - added} fewer {what}: {why}", None, touched))
    for c in changes:
        if c.type == "equinix:fabric/connection:Connection" and c.action in ("update", "replace"):
            for ch in c.changes:
                if ch.path == "redundancy.priority" and ch.old is not None and ch.new != ch.old:
                    risks.append(Risk("redundancy-lowered", stack, f"{c.name} ({c.type})",
                                      f"{c.name} changes redundancy priority {ch.old} -> {ch.new}: the pair is not "
                                      "diverse until both connections are in one group again", None, touched))
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
    # The IPsec backup's pre-shared keys too (components/vpn_backup.py): both clouds hold each one.
    key_fields = ("bgpAuthKey", "sharedKey", "tunnel1PresharedKey", "tunnel2PresharedKey")
    consumers: dict[str, list[str]] = defaultdict(list)
    for r in new_plan["resources"]:
        if any(k in r["inputs"] for k in key_fields):
            for dep in r.get("dependsOn", []):
                consumers[dep].append(r["name"])
    risks = []
    for c in changes:
        if c.action in ("replace", "delete") and consumers.get(c.urn) and c.type.startswith("random:"):
            what = "IPsec pre-shared key" if "-psk-" in c.name else "BGP MD5 key"
            risks.append(Risk("bgp-session", stack, c.name,
                              f"{what} {c.name} is regenerated: sessions of "
                              f"{', '.join(sorted(consumers[c.urn]))} re-key, dropping until both ends match"))
    return risks


# --- the whole diff ------------------------------------------------------------------------------


def diff_stack(stack: str, base: dict[str, Any], head: dict[str, Any], old_config: dict[str, Any],
               new_config: dict[str, Any], *, reference: dict[str, Any] | None = None,
               replaced: Iterable[str] = (), customers: Sequence[str] = ()) -> StackDiff:
    """One stack's diff. ``head`` may be planned with ``replaced`` resources renewed, ``reference``
    being its plan without (see :func:`resource_diff`); ``customers`` are the customer stacks of a
    bridge (what its risks touch)."""
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
    changes = resource_diff(old_plan, new_plan, (reference or {}).get("plan"), replaced)
    sd.resources = sorted(changes, key=lambda c: (_ACTION_ORDER[c.action], c.type, c.name))
    if status == "changed" and not sd.resources:
        sd.status = "unchanged"
    touches = [stack, *customers] if kind == "bridge" else [stack]
    sd.risks += resource_risks(stack, sd.resources, touches, old_plan, new_plan)
    sd.risks += key_regeneration_risks(stack, sd.resources, new_plan)
    sd.risks += bgp_risks(stack, base.get("bgp"), head.get("bgp"), old_config, new_config)
    two_run_risks, two_run_notes = two_run_changes(stack, old_config, new_config) if status == "changed" else ([], [])
    sd.risks += two_run_risks
    sd.notes += two_run_notes
    for risk in sd.risks:
        risk.touches = risk.touches or touches
    sd.order = replacement_order(new_plan, sd.resources)
    if status == "added":
        sd.inputs = reviewable_inputs(new_config)
    if status == "removed":
        sd.notes.append("the stack file is removed: CI does not destroy the stack; run `pulumi destroy` "
                        "deliberately (protected resources must be unprotected first)")
    return sd


def _edges(config: dict[str, Any], key: str) -> set[str]:
    aws = config.get("bridge:aws")
    core = aws.get("coreNetwork") if isinstance(aws, dict) else None
    values = core.get(key) if isinstance(core, dict) else None
    return {str(e) for e in values} if isinstance(values, list) else set()


def two_run_changes(stack: str, old_config: dict[str, Any], new_config: dict[str, Any]) \
        -> tuple[list[Risk], list[str]]:
    """Changes the clouds accept only in two deployments, in order: (risks, notes). An edge location
    leaves the Cloud WAN policy only after no attachment uses it (AWS refuses a policy that would
    orphan one: ORPHANED_ATTACHMENT, hashicorp/terraform-provider-aws#29707), so it goes through
    ``retiringEdgeLocations`` (docs/runbook-network.md, "Removing a Cloud WAN edge location")."""
    old_edges, new_edges = _edges(old_config, "edgeLocations"), _edges(new_config, "edgeLocations")
    old_retiring = _edges(old_config, "retiringEdgeLocations")
    new_retiring = _edges(new_config, "retiringEdgeLocations")
    risks, notes = [], []
    dropped = sorted(old_edges - new_edges - new_retiring)
    if dropped:
        risks.append(Risk(
            "two-runs", stack, "Cloud WAN edge locations",
            f"edge location(s) {', '.join(dropped)} leave the core network policy in the same deployment as the "
            "Direct Connect gateway attachment that uses them: the policy is applied first and AWS refuses it "
            "(ORPHANED_ATTACHMENT). Move them to coreNetwork.retiringEdgeLocations instead: the first deployment "
            "moves the attachment off them, a second (after removing them there) takes them out of the policy",
            "hashicorp/terraform-provider-aws#29707 (ORPHANED_ATTACHMENT when a policy removes an edge location "
            "an attachment uses): https://github.com/hashicorp/terraform-provider-aws/issues/29707"))
    moving = sorted((old_edges & new_retiring) - old_retiring)
    if moving:
        notes.append(f"run 1 of 2: the Direct Connect gateway attachment stops using {', '.join(moving)} while the "
                     "core network policy keeps it; once deployed (and the attachment AVAILABLE), remove it from "
                     "coreNetwork.retiringEdgeLocations to take it out of the policy")
    finished = sorted(old_retiring - new_retiring - new_edges)
    if finished:
        notes.append(f"run 2 of 2: {', '.join(finished)} leaves the core network policy (no attachment uses it)")
    return risks, notes


def reviewable_inputs(config: dict[str, Any]) -> list[str]:
    """What a reviewer checks in a new stack: its endpoints (platform, cloud, service, hostnames), or
    its routers, metros and circuit."""
    lines: list[str] = []
    customer = config.get("bridge:customer")
    if isinstance(customer, dict):
        lines.append(f"customer {customer.get('id')} on bridge {customer.get('bridgeStack')}")
        for ep in customer.get("endpoints") or []:
            if not isinstance(ep, dict):
                continue
            target = ep.get("service") or ep.get("cluster") or ""
            lines.append(f"endpoint {ep.get('name')}: {ep.get('platform')} on {ep.get('cloud')}, service {target}, "
                         f"hostnames {', '.join(str(h) for h in ep.get('hostnames') or []) or '(none)'}")
        return lines
    exchange = config.get("bridge:exchange") or {}
    azure = config.get("bridge:azure") or {}
    if isinstance(exchange, dict):
        routers = [f"{r.get('name')} in {r.get('metro')}" for r in exchange.get("routers") or [] if isinstance(r, dict)]
        lines.append(f"routers: {', '.join(routers) or '(none)'}; bandwidth {exchange.get('bandwidthMbps')} Mbps")
    if isinstance(azure, dict):
        circuit = azure.get("circuit") or {}
        lines.append(f"circuit at {circuit.get('peeringLocation')} ({circuit.get('tier')}), hub {azure.get('hubCidr')}")
    return lines


_ACTION_ORDER = {"replace": 0, "delete": 1, "update": 2, "create": 3, "same": 4}


#: the note on a customer stack that was not planned because nothing it reads changed
UNCHANGED_INPUTS = ("not planned: its stack file, what it reads of its bridge (the bridge's outputs and "
                    "config) and the program are the same in both revisions (content hashes), so its plan is too")


def compare(stacks: Sequence[str], base_snap: dict[str, Any], head_snap: dict[str, Any],
            base_configs: dict[str, dict[str, Any]], head_configs: dict[str, dict[str, Any]],
            replan: Replanner | None, customers: dict[str, list[str]] | None = None,
            unchanged: Iterable[str] = ()) -> list[StackDiff]:
    """Diff ``stacks`` and propagate replacements: plan the working tree again with every replaced
    resource renewed (new ids and outputs, as the engine's recreated resource has), in its stack and
    in the customers of a bridge; what consumes them then changes too, which may replace more, until
    nothing new is replaced. ``unchanged`` customers were not planned, their inputs being equal in
    both revisions: they are unchanged, unless a replacement in their bridge reaches them (then they
    are planned here, once as they are, which is both revisions' plan, and once with it)."""
    customers = customers or {}
    base_snap, head_snap = dict(base_snap), dict(head_snap)
    pending = set(unchanged)

    def run(current: dict[str, Any], replaced: dict[str, list[str]]) -> dict[str, StackDiff]:
        return {s: StackDiff(s, "customer", "unchanged", notes=[UNCHANGED_INPUTS]) if s in pending else
                diff_stack(s, base_snap.get(s, {"absent": True}), current.get(s, {"absent": True}),
                           base_configs.get(s, {}), head_configs.get(s, {}),
                           reference=head_snap.get(s) if replaced else None, replaced=replaced.get(s, ()),
                           customers=customers.get(s, ())) for s in stacks}

    replaced: dict[str, list[str]] = {}
    current = head_snap
    diffs = run(current, replaced)
    for _ in range(MAX_PASSES):
        if replan is None:
            break
        merged = {s: sorted(set(replaced.get(s, [])) | {c.urn for c in d.resources if c.action == "replace"})
                  for s, d in diffs.items()}
        merged = {s: u for s, u in merged.items() if u}
        if merged == replaced:
            break
        replaced = merged
        plannable = [s for s in stacks if "plan" in head_snap.get(s, {}) or s in pending]
        targets = [s for s in plannable if s in replaced or (not is_bridge(s) and s.split(".", 1)[0] in replaced)]
        if not targets:
            break
        # The bridges first: a customer left unplanned is reached by its bridge's replacements only if
        # they change what it reads of the bridge (its customerInputs, with the replacements renewed).
        bridges = [s for s in targets if is_bridge(s)]
        replanned = replan(replaced, bridges) if bridges else {}
        inputs = {b: (head_snap.get(b, {}).get("customerInputs"), replanned.get(b, {}).get("customerInputs"))
                  for b in bridges}
        late = [s for s in targets if s in pending and not _same(*inputs.get(s.split(".", 1)[0], (None, None)))]
        if late:
            planned = replan({}, late)
            for s in late:
                base_snap[s] = head_snap[s] = planned.get(s, {"absent": True})
            pending -= set(late)
        customer_targets = [s for s in targets if not is_bridge(s) and s not in pending]
        if customer_targets:
            replanned.update(replan(replaced, customer_targets))
        current = {**head_snap, **replanned}
        diffs = run(current, replaced)
    return [diffs[s] for s in stacks]


def _same(old: str | None, new: str | None) -> bool:
    return bool(old) and old == new


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


def customers_of(stacks: Iterable[str]) -> dict[str, list[str]]:
    """bridge -> its customer stacks (by name: a customer stack is BRIDGE.CUSTOMER)."""
    out: dict[str, list[str]] = defaultdict(list)
    for s in sorted(stacks):
        if not is_bridge(s):
            out[s.split(".", 1)[0]].append(s)
    return dict(out)


@dataclass(frozen=True)
class Shard:
    """Slice ``index`` (1-based) of ``count``: the stacks at positions index-1, index-1+count, ... of
    the selection (bridges first, then customers, each by name)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
        if not m or not 1 <= int(m[1]) <= int(m[2]):
            raise DiffInputError(f"--shard {text}: expected I/N with 1 <= I <= N, e.g. 2/8")
        return cls(int(m[1]), int(m[2]))

    def take(self, stacks: Sequence[str]) -> list[str]:
        return [s for k, s in enumerate(stacks) if k % self.count == self.index - 1]


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def run_diff(project: Path, base: str | None = None, named: Sequence[str] = (), *, shard: Shard | None = None,
             planner: Planner | None = None) -> DiffReport:
    """The offline diff of the working tree of ``project`` against ``base`` (see the module doc).

    Only what can change is planned. Bridges are planned first, in both trees; a customer whose stack
    file and program are byte for byte the same in both trees, and whose bridge gives it the same
    inputs in both (:func:`bridgectl.offline.customer_inputs`, content hashes), is not planned (its
    plan is the same). The rest are planned in processes of at most ``planner.per_process`` stacks.
    With ``shard``, only that slice of the selection is compared (with the bridges its customers
    need), for :func:`merge_reports`."""
    from .offline import program_digest

    planner = planner or Planner()
    sel = select(project, base, named)
    mine = shard.take(sel.stacks) if shard else list(sel.stacks)
    # A customer's diff needs its bridge's (its replacements reach the customer): compared here too,
    # reported by the shard that holds the bridge.
    needed = sorted({s.split(".", 1)[0] for s in mine if not is_bridge(s)} & set(sel.stacks) - set(mine))
    compared = sorted(set(mine) | set(needed), key=lambda s: (not is_bridge(s), s))
    with tempfile.TemporaryDirectory(prefix="bridgectl-diff-base-") as tmp:
        base_tree = Path(tmp)
        extract(sel.root, sel.commit, base_tree)
        base_project = base_tree / sel.prefix
        # The project may not exist at the base revision: then every stack is new.
        base_project.mkdir(parents=True, exist_ok=True)
        same_program = program_digest(base_project) == program_digest(project)
        customers = [s for s in compared if not is_bridge(s)]
        candidates = [s for s in customers if same_program and s in sel.base_stacks and s in sel.head_stacks
                      and same_file(base_project / f"Pulumi.{s}.yaml", project / f"Pulumi.{s}.yaml")]
        # Bridges first: their plans say which customers need planning at all (their customerInputs).
        # A bridge outside the comparison is planned for that alone.
        first = sorted({s for s in compared if is_bridge(s)}
                       | {s.split(".", 1)[0] for s in candidates if s.split(".", 1)[0] in sel.base_stacks
                          and s.split(".", 1)[0] in sel.head_stacks})
        if not candidates:  # every customer is planned: bridges and customers at once
            first = sorted(set(first) | set(customers), key=lambda s: (not is_bridge(s), s))
        base_snap, head_snap = snapshot_trees(base_project, project, first, planner) if first else ({}, {})
        unchanged = []
        for s in candidates:
            b = s.split(".", 1)[0]
            mark = head_snap.get(b, {}).get("customerInputs")
            if mark and mark == base_snap.get(b, {}).get("customerInputs"):
                unchanged.append(s)
        rest = [s for s in customers if s not in unchanged and s not in head_snap]
        if rest:
            more_base, more_head = snapshot_trees(base_project, project, rest, planner)
            base_snap.update(more_base)
            head_snap.update(more_head)
        errors = [f"{s}: {line}" for s in compared for line in head_snap.get(s, {}).get("errors", [])]
        if errors:
            raise DiffInputError("the working tree's plan failed (run `bridgectl validate`):\n" + "\n".join(errors))
        diffs = compare(compared, base_snap, head_snap, {s: read_config(base_project, s) for s in compared},
                        {s: read_config(project, s) for s in compared}, subprocess_replanner(project, planner),
                        customers_of(set(sel.head_stacks) | set(sel.base_stacks)), unchanged)
    stacks = [sd for sd in diffs if sd.stack in mine]
    report = DiffReport(sel.base, sel.commit, stacks, [], selection_of(sel))
    report.changed = list(sel.changed)
    if shard is None:
        report.risks += mixed_risks(stacks, sel.changed)
    else:
        report.shard = {"index": shard.index, "count": shard.count, "stacks": mine}
    return report


def selection_of(sel: Selection) -> dict[str, list[str]]:
    return {"bridges": [s for s in sel.stacks if is_bridge(s) and s in sel.head_stacks],
            "customers": [s for s in sel.stacks if not is_bridge(s) and s in sel.head_stacks],
            "removed": [s for s in sel.stacks if s not in sel.head_stacks]}


# --- shards --------------------------------------------------------------------------------------


def _stack_from(data: dict[str, Any]) -> StackDiff:
    resources = [ResourceChange(**{**r, "changes": [PropertyChange(**c) for c in r.get("changes", [])]})
                 for r in data.get("resources", [])]
    risks = [Risk(**r) for r in data.get("risks", [])]
    keep = {f for f in StackDiff.__dataclass_fields__} - {"resources", "risks"}
    return StackDiff(**{k: v for k, v in data.items() if k in keep}, resources=resources, risks=risks)


def merge_reports(parts: Sequence[dict[str, Any]], names: Sequence[str] = ()) -> DiffReport:
    """One report from the partial reports of every shard of one diff (``bridgectl diff --shard I/N
    --format json``): the same stacks, risks and verdict as the diff run whole. Refuses parts of other
    diffs, a shard given twice, a missing shard or a report that is not a shard's."""
    names = list(names) or [f"report {i + 1}" for i in range(len(parts))]
    if not parts:
        raise DiffInputError("--merge: name the shards' JSON reports")
    for name, part in zip(names, parts, strict=True):
        if not isinstance(part, dict) or not isinstance(part.get("shard"), dict):
            raise DiffInputError(f"--merge {name}: not a shard's report (write one with --shard I/N --format json)")
    first = parts[0]
    count = first["shard"]["count"]
    seen: dict[int, str] = {}
    for name, part in zip(names, parts, strict=True):
        for key in ("commit", "selection"):
            if part.get(key) != first.get(key):
                raise DiffInputError(f"--merge {name}: its {key} differs from {names[0]}'s: the reports come from "
                                     "different diffs")
        if part["shard"]["count"] != count:
            raise DiffInputError(f"--merge {name}: shard of {part['shard']['count']}, {names[0]} of {count}")
        index = part["shard"]["index"]
        if index in seen:
            raise DiffInputError(f"--merge {name}: shard {index}/{count} again (also {seen[index]})")
        seen[index] = name
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise DiffInputError(f"--merge: shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing; every shard's "
                             "report is needed for one verdict")
    stacks = [_stack_from(sd) for part in parts for sd in part.get("stacks", [])]
    order = {s: k for k, s in enumerate(first["selection"].get("bridges", []) + first["selection"].get("customers", [])
                                        + first["selection"].get("removed", []))}
    stacks.sort(key=lambda sd: (order.get(sd.stack, len(order)), sd.stack))
    report = DiffReport(first.get("base", ""), first.get("commit", ""), stacks, [], first["selection"])
    report.changed = list(first.get("changed", []))
    report.risks += mixed_risks(stacks, report.changed)
    return report


def verdict(report: DiffReport, ignore: frozenset[str] = frozenset()) -> int:
    """The gate's exit code: 1 when a risk is found, else 0. ``ignore`` names risk kinds a gate would
    not check (the tests show each risky change fails a gate that ignores its rules)."""
    return 1 if any(r.kind not in ignore for r in report.all_risks) else 0


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


_DIGEST = re.compile(r"\[secret:[0-9a-f]+\]")


def _short(value: Any, limit: int = 80) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str) and _DIGEST.fullmatch(value):
        return "[secret]"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _change_line(ch: PropertyChange) -> str:
    old = _short(ch.old)
    if ch.via:
        new = f"(new: {ch.via} {'are' if ',' in ch.via else 'is'} replaced)"
    else:
        new = _short(ch.new)
        if new == old:
            new += " (changed)"
    text = f"{ch.path}: {old} -> {new}"
    if ch.replaces:
        text += f"  [forces replacement: {ch.replaces}]"
    return text


def _counts(count: Callable[[str], int], risks: int) -> str:
    """"N to add, M to change, K to replace, D to delete; R risks" (cloud resources only)."""
    return (f"{count('create')} to add, {count('update')} to change, {count('replace')} to replace, "
            f"{count('delete')} to delete; {risks} risk{'s' if risks != 1 else ''}")


def _summary(sd: StackDiff) -> str:
    return _counts(sd.count, len(sd.risks))


def _overall(report: DiffReport) -> str:
    return f"Overall: {_counts(report.count, len(report.all_risks))} in {len(report.stacks)} stack(s)."


def _order_lines(sd: StackDiff) -> list[str]:
    out = []
    for key, label in (("deleteFirst", "deleted first (before their replacements exist)"),
                       ("create", "then created"), ("deleteAfter", "old ones deleted last")):
        if sd.order.get(key):
            out.append(f"{label}: {' -> '.join(sd.order[key])}")
    return out


def _risk_text(risk: Risk) -> str:
    text = f"[{risk.kind}] {risk.message}"
    if risk.action:
        text += f" | needs: {risk.action}"
    touches = [t for t in risk.touches if t != risk.stack]
    if touches:
        text += f" | touches: {_names(touches)}"
    if risk.source:
        text += f" | source: {risk.source}"
    return text


def _names(stacks: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(stacks[:limit])
    return shown + (f" (and {len(stacks) - limit} more customers: --format json lists them)"
                    if len(stacks) > limit else "")


def render_text(report: DiffReport) -> str:
    out = [f"Offline diff against {report.base} ({report.base_commit[:12]}): "
           f"{len(report.stacks)} stack(s) compared (no cloud contacted; `pulumi preview` is authoritative)"]
    if not report.stacks:
        out.append("No stack is affected by the changed files.")
    for risk in report.risks:
        out.append(f"RISK {_risk_text(risk)}")
    for sd in report.stacks:
        out.append("")
        out.append(f"== {sd.stack} ({sd.kind}, {sd.status}): {_summary(sd)}")
        for line in sd.inputs:
            out.append(f"  input: {line}")
        for risk in sd.risks:
            out.append(f"  RISK {_risk_text(risk)}")
        for note in sd.notes:
            out.append(f"  note: {note}")
        for line in _order_lines(sd):
            out.append(f"  order: {line}")
        for rc in sd.resources:
            flag = "  [protected]" if rc.protect_old or rc.protect_new else ""
            out.append(f"  {_SYMBOL[rc.action]:>2} {rc.type}  {rc.name}{flag}"
                       + ("" if rc.counted else "  (not a cloud resource)"))
            if rc.action in ("update", "replace"):
                for ch in rc.changes:
                    out.append(f"       {_change_line(ch)}")
                for note in rc.notes:
                    out.append(f"       note: {note}")
                if rc.action == "replace" and rc.delete_before_replace:
                    out.append("       note: deleted before its replacement is created (outage window)")
    total = len(report.all_risks)
    out.append("")
    out.append(_overall(report))
    out.append(f"{total} risk(s) found." if total else "No risks found.")
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_risk(risk: Risk, *, with_stack: bool) -> str:
    where = f"`{risk.stack}` " if with_stack and risk.stack else ""
    line = f"- :warning: **{risk.kind}** {where}{_md_escape(risk.message)}"
    if risk.action:
        line += f"<br>**needs:** {_md_escape(risk.action)}"
    touches = [t for t in risk.touches if t != risk.stack]
    if touches:
        line += f"<br>**touches:** {_md_escape(_names(touches, 20))}"
    if risk.source:
        line += f"<br><sub>source: {_md_escape(risk.source)}</sub>"
    return line


def _md_stack(sd: StackDiff, max_changes: int, *, compact: bool = False) -> list[str]:
    body = ["", f"<details{' open' if sd.risks else ''}><summary><b>{sd.stack}</b> ({sd.kind}, {sd.status}): "
                f"{_summary(sd)}</summary>", ""]
    for line in sd.inputs:
        body.append(f"- {_md_escape(line)}")
    if sd.inputs:
        body.append("")
    for note in sd.notes:
        body += [f"_note: {_md_escape(note)}_", ""]
    for line in _order_lines(sd):
        body += [f"**Order:** {_md_escape(line)}", ""]
    if sd.resources:
        body += ["| | type | name | changes |", "|---|---|---|---|"]
    for rc in sd.resources:
        details: list[str] = []
        if rc.action in ("update", "replace") and not compact:
            lines = [f"`{_md_escape(_change_line(ch))}`" for ch in rc.changes]
            lines += [_md_escape(n) for n in rc.notes]
            if len(lines) > max_changes:
                # Collapsed, never cut: a reviewer opens it.
                details = [f"<details><summary>{len(rc.changes)} changes</summary>{'<br>'.join(lines)}</details>"]
            else:
                details = lines
        flag = " :lock:" if rc.protect_old or rc.protect_new else ""
        extra = "" if rc.counted else " _(not a cloud resource)_"
        body.append(f"| `{_SYMBOL[rc.action]}` | `{rc.type}` | `{rc.name}`{flag}{extra} | {'<br>'.join(details)} |")
    body += ["", "</details>"]
    return body


def render_markdown(report: DiffReport, *, max_changes: int = 6) -> str:
    risks = report.all_risks
    head = [COMMENT_MARKER, "### Offline plan diff",
            f"Compared with `{report.base}` (`{report.base_commit[:12]}`) by `bridgectl diff`: offline plans, "
            "no cloud contacted. A real `pulumi preview` (where credentials exist) is authoritative.", ""]
    if risks:
        head.append(f"**:warning: {len(risks)} risk(s) found**")
        head.append("")
        head += [_md_risk(r, with_stack=True) for r in risks]
    else:
        head.append("**:white_check_mark: No risks found.**")
    head.append("")
    head.append(_overall(report))
    head.append("")
    if report.stacks:
        head += ["| stack | kind | status | add | change | replace | delete | risks |",
                 "|---|---|---|---:|---:|---:|---:|---:|"]
        for sd in report.stacks:
            head.append(f"| `{sd.stack}` | {sd.kind} | {sd.status} | {sd.count('create')} | {sd.count('update')} | "
                        f"{sd.count('replace')} | {sd.count('delete')} | {len(sd.risks)} |")
    else:
        head.append("No stack is affected by the changed files.")
    text = "\n".join(head)
    sections = [(sd, "\n".join(_md_stack(sd, max_changes))) for sd in report.stacks
                if sd.resources or sd.notes or sd.inputs]
    # GitHub refuses a comment over 65,536 characters. Nothing is ever cut: the stacks with risks come
    # first and whole; a stack that no longer fits is named with its counts, its details being in the
    # job log and the JSON report.
    sections.sort(key=lambda item: (not item[0].risks, item[0].stack))
    parts: list[str] = []
    left_out: list[StackDiff] = []
    size = len(text)
    for sd, section in sections:
        if size + len(section) + 1 > MARKDOWN_LIMIT:
            # Then the resources without their changes (those are in the log and the JSON report).
            section = "\n".join(_md_stack(sd, max_changes, compact=True))
        if size + len(section) + 1 > MARKDOWN_LIMIT - 2000:
            left_out.append(sd)
            continue
        parts.append(section)
        size += len(section) + 1
    if left_out:
        parts.append("\n_Details of these stacks do not fit in one comment; every change is in the job log "
                     "(`bridgectl diff`) and the JSON report: "
                     + ", ".join(f"`{sd.stack}` ({_summary(sd)})" for sd in left_out) + "_")
    return text + ("\n" + "\n".join(parts) if parts else "") + "\n"


def to_json(report: DiffReport) -> str:
    risks = report.all_risks
    data: dict[str, Any]
    data = {"base": report.base, "commit": report.base_commit, "selection": report.selection,
            "verdict": "risks" if risks else "clean", "exitCode": 1 if risks else 0,
            "summary": {"add": report.count("create"), "change": report.count("update"),
                        "replace": report.count("replace"), "delete": report.count("delete"),
                        "risks": len(risks)},
            "risks": [asdict(r) for r in risks],
            "stacks": [{**asdict(s), "summary": {"add": s.count("create"), "change": s.count("update"),
                                                 "replace": s.count("replace"), "delete": s.count("delete"),
                                                 "risks": len(s.risks)}} for s in report.stacks]}
    if report.shard is not None:
        # A partial report: its own verdict is the shard's; `--merge` gives the diff's.
        data["shard"] = report.shard
        data["changed"] = report.changed
    return _DIGEST.sub("[secret]", json.dumps(data, indent=2, default=str)) + "\n"


def replacement_table_rows() -> list[tuple[str, str, Rule]]:
    return [(t, p, r) for t, props in TABLE.items() for p, r in props.items()]
