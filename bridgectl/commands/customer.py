"""bridgectl customer: onboard customers without editing YAML by hand.

``add`` writes a new customer stack (from flags, or by asking), ``endpoint add|remove`` changes an
existing one, ``list`` shows a bridge's customers, ``handoff`` prints what the customer must do on
their side. Every change is validated with the same rules as ``bridgectl validate`` before a byte
is written, and is followed by the stack's offline plan and its hand-off.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

ORDER = 70

_EXAMPLES = {
    "snowflake": "--platform snowflake --cloud azure --service <privatelink-pls-id> "
                 "--hostname <privatelink-account-url>  (or --snowflake-config FILE)",
    "databricks": "--platform databricks --cloud azure --service /subscriptions/<id>/resourceGroups/<rg>/providers/"
                  "Microsoft.Databricks/workspaces/<name> --hostname adb-<id>.<n>.azuredatabricks.net",
    "starburst": "--platform starburst --cloud aws --service com.amazonaws.vpce.<region>.vpce-svc-<id> "
                 "--zone <zone> --hostname <name>.<zone>",
    "redshift": "--platform redshift --cluster <cluster id> --owner-account <12 digits>",
}

Parser = argparse.ArgumentParser


def _endpoint_flags(p: Parser) -> None:
    g = p.add_argument_group("the endpoint (what the platform hands the customer)")
    g.add_argument("--platform", metavar="P", help="snowflake | databricks | starburst | redshift")
    g.add_argument("--cloud", metavar="C",
                   help="where the customer's platform runs: azure | aws (redshift: aws, the default)")
    g.add_argument("--service", metavar="S",
                   help="Azure Private Link service alias or resource id, Databricks workspace resource id (Azure), "
                        "or VPC endpoint service name com.amazonaws.vpce.<region>.vpce-svc-... (AWS)")
    g.add_argument("--hostname", metavar="H", action="append", default=[],
                   help="a name the SaaS uses, inside the platform's private zone; repeat or separate with commas. "
                        "URLs and public Snowflake / Azure Databricks names are turned into their private names")
    g.add_argument("--snowflake-config", metavar="FILE",
                   help="the JSON output of SELECT SYSTEM$GET_PRIVATELINK_CONFIG(); gives --cloud, --service "
                        "and the hostnames")
    g.add_argument("--name", metavar="N",
                   help="endpoint name, unique in the customer (default: the platform, or platform-cloud if taken)")
    g.add_argument("--zone", metavar="Z",
                   help="private DNS zone for the hostnames when the platform has none (starburst, redshift)")
    g.add_argument("--vpc", metavar="V", help="bridge VPC for an AWS endpoint (default: the bridge's first VPC)")
    g.add_argument("--cluster", metavar="ID", help="redshift: the cluster identifier (instead of --service)")
    g.add_argument("--owner-account", metavar="ACCOUNT", help="redshift: the 12-digit account owning the cluster")
    g.add_argument("--browser-authentication", action="store_true",
                   help="databricks on azure, for workspaces that use single sign-on: also a private endpoint to the "
                        "workspace's browser_authentication sub-resource (one per region on a bridge)")
    g.add_argument("--workspace-region", metavar="R",
                   help="databricks on azure with --browser-authentication: the workspace's Azure region "
                        "(default: the bridge's)")
    # Kept so older scripts still run: every Snowflake account name now publishes its OCSP name itself.
    g.add_argument("--no-ocsp", action="store_true", help=argparse.SUPPRESS)


def _run_flags(p: Parser, *, interactive: bool = True) -> None:
    g = p.add_argument_group("how to run")
    if interactive:
        g.add_argument("-i", "--interactive", action="store_true",
                       help="ask for each value, checking each answer (the default in a terminal when a required "
                            "flag is missing)")
        g.add_argument("-y", "--yes", action="store_true",
                       help="never ask (for CI): a missing flag is an error; no final confirmation")
    g.add_argument("--dry-run", action="store_true", help="print the result and its plan; write nothing")
    g.add_argument("--no-plan", action="store_true", help="skip the offline plan (a few seconds)")


def register(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "customer", help="onboard customers: add, endpoint add|remove, list, handoff",
        description="Write and change customer stacks (Pulumi.<bridge>.<customer>.yaml) without editing YAML: "
                    "every change is checked with the rules of `bridgectl validate` before anything is written, "
                    "never overwrites, and ends with the offline plan and the hand-off (what the customer must "
                    "do on their side). See docs/runbook-support.md.",
        epilog="Example: bridgectl customer add dev globex --platform snowflake --cloud azure "
               "--service sf-pvlinksvc-eastus2.<guid>.eastus2.azure.privatelinkservice "
               "--hostname globex-xy12345.east-us-2.privatelink.snowflakecomputing.com")
    csub = p.add_subparsers(dest="customer_command", metavar="SUBCOMMAND", required=True)

    add = csub.add_parser(
        "add", help="write a new customer stack with its first endpoint(s)",
        description=textwrap.fill(
            "Write Pulumi.<BRIDGE>.<CUSTOMER>.yaml with one endpoint from the flags, or with one or more endpoints "
            "by asking (--interactive, or in a terminal when a required flag is missing); validate it, show its "
            "offline plan and print the hand-off. Nothing is written if any rule fails; an existing file is never "
            "replaced.", 79),
        epilog="Examples:\n  bridgectl customer add dev globex --snowflake-config globex.json\n"
               "  bridgectl customer add dev globex --platform databricks --cloud azure --service "
               "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Databricks/workspaces/<ws> "
               "--hostname adb-123.4.azuredatabricks.net\n  bridgectl customer add dev globex --interactive",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("bridge", metavar="BRIDGE", help="the bridge stack, e.g. dev")
    add.add_argument("customer", metavar="CUSTOMER", help="customer id: 1-40 of a-z, 0-9 and -, unique per bridge")
    _endpoint_flags(add)
    _run_flags(add)
    add.set_defaults(func=run_add)

    ep = csub.add_parser("endpoint", help="add or remove an endpoint of an existing customer",
                         description="Change the endpoints of an existing customer stack, keeping the file's "
                                     "comments and layout; the change is validated before it is written.")
    esub = ep.add_subparsers(dest="endpoint_command", metavar="ACTION", required=True)
    eadd = esub.add_parser("add", help="add an endpoint to a customer",
                           description="Append an endpoint to Pulumi.<BRIDGE>.<CUSTOMER>.yaml (same flags as "
                                       "`customer add`), show the change, the plan and the endpoint's hand-off.")
    eadd.add_argument("bridge", metavar="BRIDGE", help="the bridge stack, e.g. dev")
    eadd.add_argument("customer", metavar="CUSTOMER", help="an existing customer of that bridge")
    _endpoint_flags(eadd)
    _run_flags(eadd)
    eadd.set_defaults(func=run_endpoint_add)
    erm = esub.add_parser("remove", help="remove an endpoint from a customer",
                          description="Remove one endpoint from Pulumi.<BRIDGE>.<CUSTOMER>.yaml. After the merge, "
                                      "`pulumi up` deletes its private endpoint and DNS records. The last endpoint "
                                      "cannot be removed: remove the customer instead (the error says how).")
    erm.add_argument("bridge", metavar="BRIDGE", help="the bridge stack, e.g. dev")
    erm.add_argument("customer", metavar="CUSTOMER", help="an existing customer of that bridge")
    erm.add_argument("name", metavar="NAME", help="the endpoint's name")
    _run_flags(erm, interactive=False)
    erm.set_defaults(func=run_endpoint_remove)

    ern = esub.add_parser("rename", help="rename an endpoint; nothing changes in the cloud",
                          description="Rename one endpoint of Pulumi.<BRIDGE>.<CUSTOMER>.yaml: `name` becomes NEW and "
                                      "`renamedFrom` keeps the name its cloud resources were created under, so the "
                                      "deploy changes nothing and the customer approves nothing again "
                                      "(docs/stack-config.md, \"Renaming an endpoint\").")
    ern.add_argument("bridge", metavar="BRIDGE", help="the bridge stack, e.g. dev")
    ern.add_argument("customer", metavar="CUSTOMER", help="an existing customer of that bridge")
    ern.add_argument("name", metavar="NAME", help="the endpoint's current name")
    ern.add_argument("new_name", metavar="NEW", help="its new name")
    _run_flags(ern, interactive=False)
    ern.set_defaults(func=run_endpoint_rename)

    ls = csub.add_parser("list", help="a bridge's customers, their endpoints, platforms and clouds",
                         description="List the customer stacks of a bridge (Pulumi.<BRIDGE>.*.yaml) with their "
                                     "endpoints; files that fail validation are marked, with their first problem, "
                                     "and the command exits 1.")
    ls.add_argument("bridge", metavar="BRIDGE", help="the bridge stack, e.g. dev")
    ls.add_argument("--json", action="store_true", help="print the list as JSON")
    ls.set_defaults(func=run_list)

    ho = csub.add_parser(
        "handoff", help="what the customer must do on their side",
        description="Print the hand-off of a customer stack: per endpoint, what the customer does (authorize, "
                    "approve, accept) and what support checks, before and after deployment. Without --outputs the "
                    "deployed ids are placeholders, and it says how to get them.",
        epilog="After deployment: pulumi stack output --json -s dev.acme > acme.json && "
               "bridgectl customer handoff dev acme --outputs acme.json")
    ho.add_argument("bridge", metavar="BRIDGE", help="the bridge stack, e.g. dev")
    ho.add_argument("customer", metavar="CUSTOMER", help="the customer id")
    ho.add_argument("--outputs", metavar="FILE",
                    help="the JSON of `pulumi stack output --json -s <stack>` ('-' for standard input): fills in "
                         "the real endpoint ids")
    ho.add_argument("--format", choices=("text", "markdown"), default="text",
                    help="text (default) or markdown, to paste into a ticket")
    ho.add_argument("--json", action="store_true",
                    help='print {"stack", "customer", "needsOutputs", "endpoints": [{"name", ..., "steps": [{"who", '
                         '"when", "text", "command"}]}]} on stdout (docs/cli.md)')
    ho.set_defaults(func=run_handoff)


# --- shared ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _undone_on_interrupt(args: argparse.Namespace, path: Path, old: str | None) -> Iterator[None]:
    """Ctrl-C after the stack file was written (during its plan, say) puts the file back as it was, so an
    interrupted command leaves the tree unchanged; ``bridgectl`` then says so on its "interrupted" line."""
    try:
        yield
    except KeyboardInterrupt:
        from bridgectl.console import atomic_write

        try:
            if old is None:
                path.unlink(missing_ok=True)
                args.interrupted_note = f"{path.name} was removed again; nothing changed"
            else:
                atomic_write(path, old)
                args.interrupted_note = f"{path.name} was put back as it was; nothing changed"
        except OSError as exc:
            args.interrupted_note = f"{path.name} was written and could not be put back ({exc.strerror or exc})"
        raise


@contextlib.contextmanager
def _written(args: argparse.Namespace, project: Path, stack: str, path: Path, old: str | None, text: str,
             done: str, shown: str = "") -> Iterator[None]:
    """Write an edited stack file (refused and left as it was if it does not validate), print ``shown`` (the
    diff) and ``done``, then its validation and plan; the caller's closing words run inside, so a Ctrl-C
    anywhere until they are printed restores the file (:func:`_undone_on_interrupt`)."""
    from bridgectl.onboarding import write_checked

    with _undone_on_interrupt(args, path, old):
        for warning in write_checked(project, stack, text, old=old):
            print(warning.line(path.name), file=sys.stderr)
        print(shown, end="")
        print(done)
        _validated(project, stack, old)
        if not args.no_plan:
            _show_plan(project, stack, text, written=True)
        print("")
        yield


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def _project(args: argparse.Namespace) -> Path:
    from stacks.loader import project_dir

    return project_dir(args.project_dir)


def _check_customer_id(project: Path, bridge: str, customer: str) -> None:
    from bridgectl.onboarding import at_path, problems_of
    from stacks.problems import ConfigError
    from stacks.spec import CUSTOMER_KEY

    config = {CUSTOMER_KEY: {"id": customer, "bridgeStack": bridge, "endpoints": []}}
    problems = at_path(problems_of(project, f"{bridge}.{customer}", config), f"{CUSTOMER_KEY}.id")
    if problems:
        raise ConfigError(problems)


def _preset(args: argparse.Namespace, bridge_region: str, notes: list[str]) -> Any:
    """The endpoint the flags describe, with what can be derived filled in and pasted names cleaned."""
    from bridgectl.onboarding import (
        EndpointInput,
        clouds_for,
        databricks_aws_hostname,
        parse_snowflake_config,
        private_hostname,
        snowflake_ocsp_names,
        split_hostnames,
        without_listed_ocsp,
    )
    from stacks.problems import ConfigError, Problem

    from ..cli import UsageError

    ep = EndpointInput(name=args.name, platform=(args.platform or "").lower() or None,
                       cloud=(args.cloud or "").lower() or None, service=(args.service or "").strip() or None,
                       hostnames=split_hostnames(args.hostname), zone=args.zone, vpc=args.vpc,
                       cluster=args.cluster, owner_account=args.owner_account,
                       browser_authentication=bool(args.browser_authentication),
                       workspace_region=(args.workspace_region or "").strip().lower() or None)
    if ep.zone:
        ep.zone = ep.zone.strip().lower().rstrip(".")
    if args.snowflake_config:
        path = Path(args.snowflake_config)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--snowflake-config {path}: cannot be read ({exc.strerror})") from None
        sf = parse_snowflake_config(text, f"--snowflake-config {path.name}")
        if ep.platform not in (None, "snowflake"):
            raise UsageError(f"--snowflake-config is for --platform snowflake, not {ep.platform}")
        if ep.cloud not in (None, sf.cloud):
            raise ConfigError([Problem("--cloud", ep.cloud, f"contradicts --snowflake-config, which describes "
                                       f"Snowflake on {sf.cloud}", f"drop --cloud or use --cloud {sf.cloud}")])
        ep.platform, ep.cloud = "snowflake", sf.cloud
        ep.service = ep.service or sf.service
        ep.hostnames = ep.hostnames or sf.hostnames
    if ep.platform and not ep.cloud and len(clouds_for(ep.platform)) == 1:
        ep.cloud = clouds_for(ep.platform)[0]
    hosts = []
    for host in ep.hostnames:
        private, note = private_hostname(host, ep.platform, ep.cloud)
        if note:
            notes.append(note)
        hosts.append(private)
    ep.hostnames = hosts
    if ep.platform == "databricks" and ep.cloud == "aws" and not ep.hostnames and ep.service:
        ep.hostnames = [databricks_aws_hostname(ep.service, bridge_region)]
        notes.append(f"hostname defaults to {ep.hostnames[0]}: Databricks on AWS workspace URLs are CNAMEs to "
                     "this regional private name")
    if ep.platform == "snowflake" and ep.hostnames:
        ep.hostnames, dropped = without_listed_ocsp(ep.hostnames)
        if dropped:
            notes.append(f"not listing {', '.join(dropped)}: published automatically with its account name")
        extra = snowflake_ocsp_names(ep.hostnames)
        if extra:
            notes.append(f"also answered privately: {', '.join(extra)} (Snowflake drivers check certificates "
                         "there; published automatically, in the account name's private zone)")
    return ep


def _missing(ep: Any) -> list[str]:
    """The flags still needed to describe the endpoint completely."""
    from bridgectl.onboarding import platform_zone

    missing = []
    if not ep.platform:
        return ["--platform"]
    if not ep.cloud:
        missing.append("--cloud")
    if ep.platform == "redshift":
        if not ep.service and not ep.cluster:
            missing.append("--service (or --cluster with --owner-account)")
    elif not ep.service:
        missing.append("--service")
    if ep.platform == "starburst" and not ep.zone:
        missing.append("--zone")
    if ep.platform != "redshift" and not ep.hostnames and (ep.cloud is None or platform_zone(ep.platform, ep.cloud)
                                                           or ep.zone or ep.platform == "starburst"):
        missing.append("--hostname")
    return missing


def _interactive(args: argparse.Namespace, missing: list[str]) -> bool:
    from ..cli import UsageError

    if args.interactive:
        return True
    if not missing:
        return False
    if sys.stdin.isatty() and not args.yes:
        return True
    example = _EXAMPLES.get(args.platform or "", _EXAMPLES["snowflake"])
    raise UsageError(f"missing {', '.join(missing)} (fix: pass them, e.g. {example}; or use --interactive to be "
                     "asked for each value)")


def _show_plan(project: Path, stack: str, text: str, *, written: bool, out: TextIO | None = None) -> None:
    """The offline plan of the stack as written, or of the would-be file for a dry run: what
    `bridgectl plan` prints, except the hand-off output, which follows with the bridge's real ids."""
    out = out or sys.stdout
    print("", file=out)
    if written:
        _print_plan(project, stack, out)
        return
    from bridgectl.onboarding import shadow_stack

    with shadow_stack(project, stack, text) as path:
        _print_plan(project, str(path), out)


def _print_plan(project: Path, name: str, out: TextIO) -> None:
    from bridgectl.commands.plan import print_messages, resource_tree, run_offline_plan, summary_line
    from bridgectl.console import progress_enabled
    from bridgectl.render import customer_plan_text
    from stacks.loader import load_stack
    from stacks.plan import plan_customer
    from stacks.spec import BridgeSpec, CustomerSpec

    spec = load_stack(project, name).spec
    assert isinstance(spec, CustomerSpec)
    bridge = load_stack(project, spec.bridge_stack).spec
    assert isinstance(bridge, BridgeSpec)
    plan = run_offline_plan(project, name, progress=progress_enabled())
    print(summary_line(plan, f"{len(spec.endpoints)} endpoint(s) on bridge {spec.bridge_stack}"), file=out)
    print("", file=out)
    print(customer_plan_text(plan_customer(spec, bridge)), file=out)
    print("", file=out)
    print(resource_tree(plan), file=out)
    print_messages(plan, out)


def _bridge_ids(bridge: Any, endpoints: Sequence[Any]) -> dict[str, dict[str, str]]:
    """What the SaaS side already knows for each endpoint's hand-off (from the bridge stack)."""
    vpcs = {v.name: v.vpc_id for v in bridge.aws.vpcs}
    return {ep.name: {"subscriptionId": bridge.azure_subscription_id, "region": bridge.aws_region,
                      **({"vpcId": vpcs[ep.vpc]} if ep.vpc in vpcs else {})} for ep in endpoints}


def _handoff(config: Mapping[str, Any], stack: str, bridge: Any, *, only: Sequence[str] | None = None,
             outputs: Mapping[str, Mapping[str, str]] | None = None, fmt: str = "text") -> Any:
    """The hand-off as text, Markdown (``fmt="markdown"``) or data (``fmt="json"``)."""
    from stacks.handoff import handoff_json, handoff_markdown, handoff_text
    from stacks.plan import plan_customer
    from stacks.spec import CustomerSpec, parse_config

    spec, _ = parse_config(stack, config)
    assert isinstance(spec, CustomerSpec)
    endpoints = [ep for ep in plan_customer(spec, bridge).endpoints if only is None or ep.name in only]
    ids = _bridge_ids(bridge, endpoints)
    for name, values in (outputs or {}).items():
        if name in ids:
            ids[name].update(values)
    render = {"markdown": handoff_markdown, "json": handoff_json}.get(fmt, handoff_text)
    return render(endpoints, ids, stack=stack, customer=spec.id, aws_account=bridge.aws.account_id)


def _validated(project: Path, stack: str, old: str | None) -> None:
    """Validate the file just written exactly as `bridgectl validate` does; undo the write if it fails."""
    from bridgectl.onboarding import replace_file
    from stacks.loader import load_stack, stack_file
    from stacks.problems import ConfigError

    path = stack_file(project, stack)
    try:
        loaded = load_stack(project, stack)
    except ConfigError:
        if old is None:
            path.unlink()
        else:
            replace_file(path, old, expected_old=path.read_text(encoding="utf-8"))
        raise
    extra = f", {len(loaded.warnings)} warning(s)" if loaded.warnings else ""
    print(f"{path.name}: valid customer stack{extra}")


def _existing(project: Path, bridge: str, customer: str) -> tuple[Path, str, dict[str, Any]]:
    """An existing customer stack of the bridge: its path, text and config."""
    from bridgectl.onboarding import customer_stacks
    from stacks.loader import read_stack_config, stack_file
    from stacks.problems import MISSING, ConfigError, Problem
    from stacks.spec import CUSTOMER_KEY

    path = stack_file(project, f"{bridge}.{customer}")
    if not path.is_file():
        others = [s.split(".", 1)[1] for s in customer_stacks(project, bridge)]
        raise ConfigError([Problem(path.name, MISSING, f"does not exist: {customer} is not a customer of bridge "
                                   f"{bridge}" + (f" (its customers: {', '.join(others)})" if others else ""),
                                   f"create it with `bridgectl customer add {bridge} {customer} ...`")])
    text = path.read_text(encoding="utf-8")
    config = read_stack_config(path)
    body = config.get(CUSTOMER_KEY)
    if not isinstance(body, dict) or not isinstance(body.get("endpoints"), list):
        raise ConfigError([Problem(f"{CUSTOMER_KEY}.endpoints", MISSING, "is not a list in this file",
                                   "fix the file by hand (bridgectl validate says how)")], path.name)
    return path, text, config


# --- add ------------------------------------------------------------------------------------------


def run_add(args: argparse.Namespace) -> int:
    from bridgectl.interview import EndpointQuestions, Prompter
    from bridgectl.onboarding import (
        default_endpoint_name,
        new_customer_config,
        new_stack_text,
        require_bridge,
    )
    from stacks.loader import list_stacks, read_stack_config, stack_file
    from stacks.problems import MISSING, ConfigError, Problem
    from stacks.spec import CUSTOMER_KEY

    from ..cli import UsageError

    project = _project(args)
    bridge = require_bridge(project, args.bridge)
    customer = args.customer
    _check_customer_id(project, args.bridge, customer)
    stack = f"{args.bridge}.{customer}"
    path = stack_file(project, stack)
    if path.exists():
        try:
            eps = read_stack_config(path).get(CUSTOMER_KEY, {}).get("endpoints") or []
            have = f" with endpoint(s) {', '.join(str(e.get('name')) for e in eps if isinstance(e, dict))}"
        except (ConfigError, AttributeError):
            have = ""
        raise ConfigError([Problem(path.name, MISSING, f"already exists: {customer} is already a customer of bridge "
                                   f"{args.bridge}{have}; it is never overwritten",
                                   f"add an endpoint with `bridgectl customer endpoint add {args.bridge} {customer} "
                                   "...`, or choose another customer id")])
    elsewhere = [s for s in list_stacks(project) if s.count(".") == 1 and s.split(".")[1] == customer]
    if elsewhere:
        _note(f"customer {customer} also exists on other bridges ({', '.join(elsewhere)}); this adds it to "
              f"{args.bridge} only")
    notes: list[str] = []
    preset = _preset(args, bridge.spec.aws_region, notes)
    for note in notes:
        _note(note)
    interactive = _interactive(args, _missing(preset))
    from bridgectl.placement import place

    # Placed once, in the VNet with the most free room, and written into the file: growth never moves it.
    spoke = place(project, bridge.spec)
    if spoke is not None:
        _note(f"customer {customer} goes in endpoint spoke {spoke} (the most free room); written as "
              "bridge:customer.endpointSpoke")
    config = new_customer_config(bridge.spec, customer, [], spoke)
    if interactive:
        prompter = Prompter()
        prompter.say(f"Adding customer {customer} to bridge {args.bridge} ({bridge.path.name}: AWS "
                     f"{bridge.spec.aws_region}, Azure {bridge.spec.azure_location}).")
        prompter.say("Each answer is checked as you give it. Ctrl-C stops without writing anything.")
        n = 1
        while True:
            prompter.say("")
            prompter.say(f"Endpoint {n}")
            questions = EndpointQuestions(project, stack, config, bridge, prompter, no_ocsp=args.no_ocsp)
            ep = questions.ask(preset)
            config[CUSTOMER_KEY]["endpoints"].append(ep.as_config())
            preset = type(preset)()
            n += 1
            if not prompter.confirm("Add another endpoint?", default=False):
                break
        text = new_stack_text(config, args.bridge, customer)
        prompter.say("")
        prompter.say(f"{path.name} will be:")
        prompter.say(text)
        if not args.dry_run and not args.yes and not prompter.confirm(f"Write {path.name}?"):
            raise UsageError("nothing was written (not confirmed)")
    else:
        preset.name = preset.name or default_endpoint_name(preset.platform, preset.cloud, [])
        config[CUSTOMER_KEY]["endpoints"].append(preset.as_config())
        text = new_stack_text(config, args.bridge, customer)
    if args.dry_run:
        from bridgectl.onboarding import check_config

        for warning in check_config(project, stack, config):
            print(warning.line(path.name), file=sys.stderr)
        if not interactive:
            print(f"# {path.name} (dry run: not written)")
            print(text, end="")
        if not args.no_plan:
            _show_plan(project, stack, text, written=False)
        print("")
        print(_handoff(config, stack, bridge.spec))
        print("")
        print(f"Dry run: {path.name} was not written.")
        return 0
    with _written(args, project, stack, path, None, text, f"Wrote {path.name}"):
        print(_handoff(config, stack, bridge.spec))
        print("")
        print(_next_steps(args.bridge, customer, path.name, _needs_before(config, stack, bridge.spec)))
        return 0


def _needs_before(config: Mapping[str, Any], stack: str, bridge: Any) -> bool:
    """Whether any hand-off step must happen before the deployment."""
    from stacks.handoff import BEFORE, handoff_steps
    from stacks.plan import plan_customer
    from stacks.spec import CustomerSpec, parse_config

    spec, _ = parse_config(stack, config)
    assert isinstance(spec, CustomerSpec)
    return any(step.when == BEFORE for ep in plan_customer(spec, bridge).endpoints
               for step in handoff_steps(ep, {}, stack=stack, aws_account=bridge.aws.account_id))


def _next_steps(bridge: str, customer: str, filename: str, before: bool) -> str:
    stack = f"{bridge}.{customer}"
    wait = ("     Then do the steps marked \"before deploy\" above (send the customer theirs); merge once they "
            "are done." if before else "     Nothing is needed from the customer before deployment.")
    return "\n".join([
        "Next steps (docs/runbook-support.md has the details):",
        "  1. Commit the file on a branch and open a pull request; CI posts the offline diff on it:",
        f"       git checkout -b customer/{bridge}-{customer}",
        f"       git add {filename} && git commit -m \"Add customer {customer} on bridge {bridge}\"",
        f"       git push -u origin customer/{bridge}-{customer}",
        "  2. Before merging, create the stack once in the Pulumi backend (docs/ci.md):",
        f"       pulumi stack init <org>/{stack}",
        wait,
        f"  3. After the merge CI deploys the stack ({stack}). Print the hand-off with the real ids and send the",
        "     customer the steps marked [customer, after deploy]:",
        f"       pulumi stack output --json -s <org>/{stack} > {stack}.outputs.json",
        f"       bridgectl customer handoff {bridge} {customer} --outputs {stack}.outputs.json",
        "  4. Do the [support, after deploy] checks from a SaaS host, then close the ticket.",
    ])


# --- endpoint add / remove --------------------------------------------------------------------------


def run_endpoint_add(args: argparse.Namespace) -> int:
    from bridgectl.interview import EndpointQuestions, Prompter
    from bridgectl.onboarding import (
        check_config,
        default_endpoint_name,
        edited_text,
        existing_endpoints,
        require_bridge,
        unified_diff,
        with_endpoints,
    )
    from stacks.problems import ConfigError, Problem
    from stacks.spec import CUSTOMER_KEY

    from ..cli import UsageError

    project = _project(args)
    bridge = require_bridge(project, args.bridge)
    path, old, config = _existing(project, args.bridge, args.customer)
    stack = f"{args.bridge}.{args.customer}"
    eps = existing_endpoints(config)
    taken = [str(e.get("name")) for e in eps]
    notes: list[str] = []
    preset = _preset(args, bridge.spec.aws_region, notes)
    for note in notes:
        _note(note)
    index = len(eps)
    if preset.name and preset.name in taken:
        other = eps[taken.index(preset.name)]
        free = default_endpoint_name(preset.platform or str(other.get("platform")), preset.cloud or "x", taken)
        raise ConfigError([Problem(
            f"{CUSTOMER_KEY}.endpoints[{index}].name", preset.name,
            f"is already an endpoint of customer {args.customer} ({other.get('platform')} on {other.get('cloud')}, "
            f"{other.get('service') or other.get('cluster')})",
            f"pass another --name, e.g. {free}; to replace it, first run `bridgectl customer endpoint remove "
            f"{args.bridge} {args.customer} {preset.name}`")], path.name)
    interactive = _interactive(args, _missing(preset))
    if not interactive and not preset.name:
        preset.name = default_endpoint_name(preset.platform, preset.cloud, taken)
        if preset.name != preset.platform:
            _note(f"endpoint name {preset.platform} is taken in {path.name}; using {preset.name} (--name to choose)")
    if interactive:
        prompter = Prompter()
        prompter.say(f"Adding an endpoint to customer {args.customer} on bridge {args.bridge} (endpoints now: "
                     f"{', '.join(taken)}). Each answer is checked as you give it. Ctrl-C stops without writing.")
        ep = EndpointQuestions(project, stack, with_endpoints(config, eps), bridge, prompter,
                               no_ocsp=args.no_ocsp).ask(preset)
    else:
        ep = preset
    new_ep = ep.as_config()
    text = edited_text(old, config, add=new_ep)
    new_config = with_endpoints(config, [*eps, new_ep])
    diff = unified_diff(old, text, path.name)
    if interactive:
        print(diff, end="")
        if not args.dry_run and not args.yes and not Prompter().confirm(f"Write {path.name}?"):
            raise UsageError("nothing was written (not confirmed)")
    if args.dry_run:
        for warning in check_config(project, stack, new_config):
            print(warning.line(path.name), file=sys.stderr)
        if not interactive:
            print(diff, end="")
        if not args.no_plan:
            _show_plan(project, stack, text, written=False)
        print("")
        print(_handoff(new_config, stack, bridge.spec, only=[new_ep["name"]]))
        print("")
        print(f"Dry run: {path.name} was not changed.")
        return 0
    with _written(args, project, stack, path, old, text, f"Added endpoint {new_ep['name']} to {path.name}",
                  shown="" if interactive else diff):
        print(_handoff(new_config, stack, bridge.spec, only=[new_ep["name"]]))
        print("")
        print(f"Next: commit {path.name} on a branch and open a pull request (docs/runbook-support.md).")
        return 0


def _endpoint_names(eps: list[dict[str, Any]], args: argparse.Namespace, path: Path) -> list[str]:
    """The customer's endpoint names; bad input when ``args.name`` is not one of them."""
    from stacks.problems import ConfigError, Problem
    from stacks.spec import CUSTOMER_KEY

    names = [str(e.get("name")) for e in eps]
    if args.name not in names:
        raise ConfigError([Problem(f"{CUSTOMER_KEY}.endpoints", args.name,
                                   f"names no endpoint of customer {args.customer}",
                                   f"use one of {', '.join(names)}" if names else "")], path.name)
    return names


def run_endpoint_remove(args: argparse.Namespace) -> int:
    from bridgectl.onboarding import (
        check_config,
        edited_text,
        existing_endpoints,
        require_bridge,
        unified_diff,
        with_endpoints,
    )
    from stacks.problems import ConfigError, Problem
    from stacks.spec import CUSTOMER_KEY

    project = _project(args)
    require_bridge(project, args.bridge)
    path, old, config = _existing(project, args.bridge, args.customer)
    stack = f"{args.bridge}.{args.customer}"
    eps = existing_endpoints(config)
    names = _endpoint_names(eps, args, path)
    if len(eps) == 1:
        raise ConfigError([Problem(
            f"{CUSTOMER_KEY}.endpoints", args.name,
            f"is the last endpoint of customer {args.customer}; a customer stack needs at least one",
            f"remove the customer instead, in one pull request: `pulumi destroy -s {stack}`, then "
            f"`pulumi stack rm {stack}`, then `git rm {path.name}` "
            "(docs/runbook-support.md, \"7. Remove a customer\")")], path.name)
    index = names.index(args.name)
    removed = eps[index]
    text = edited_text(old, config, remove=index)
    new_config = with_endpoints(config, [e for i, e in enumerate(eps) if i != index])
    diff = unified_diff(old, text, path.name)
    if args.dry_run:
        for warning in check_config(project, stack, new_config):
            print(warning.line(path.name), file=sys.stderr)
        print(diff, end="")
        if not args.no_plan:
            _show_plan(project, stack, text, written=False)
        print(f"Dry run: {path.name} was not changed.")
        return 0
    with _written(args, project, stack, path, old, text, f"Removed endpoint {args.name} from {path.name}",
                  shown=diff):
        hosts = ", ".join(removed.get("hostnames") or []) or "(no hostnames)"
        print(f"After the merge, `pulumi up -s {stack}` deletes the {removed.get('platform')} endpoint {args.name} "
              f"and the DNS records of {hosts}; the SaaS loses private access through it. Tell the customer: the "
              "connection disappears from their side (they may also revoke its authorization).")
        return 0


def run_endpoint_rename(args: argparse.Namespace) -> int:
    from bridgectl.onboarding import (
        check_config,
        existing_endpoints,
        renamed_text,
        require_bridge,
        unified_diff,
    )
    from stacks.problems import ConfigError, Problem
    from stacks.spec import CUSTOMER_KEY

    project = _project(args)
    require_bridge(project, args.bridge)
    path, old, config = _existing(project, args.bridge, args.customer)
    stack = f"{args.bridge}.{args.customer}"
    names = _endpoint_names(existing_endpoints(config), args, path)
    if args.new_name == args.name:
        raise ConfigError([Problem(f"{CUSTOMER_KEY}.endpoints", args.new_name, "is the endpoint's name already",
                                   "give another name")], path.name)
    text = renamed_text(old, config, names.index(args.name), args.new_name)
    diff = unified_diff(old, text, path.name)
    if args.dry_run:
        import yaml

        for warning in check_config(project, stack, (yaml.safe_load(text) or {}).get("config", {})):
            print(warning.line(path.name), file=sys.stderr)
        print(diff, end="")
        print(f"Dry run: {path.name} was not changed.")
        return 0
    with _written(args, project, stack, path, old, text,
                  f"Renamed endpoint {args.name} to {args.new_name} in {path.name}", shown=diff):
        print(f"Nothing changes in the cloud: its resources keep their first name (renamedFrom). `bridgectl diff` "
              f"shows no change for {stack}; the stack's outputs and hand-off use the new name.")
        return 0


# --- list -----------------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    from bridgectl.onboarding import bridge_problem, customer_stacks
    from stacks.loader import one_snapshot
    from stacks.problems import ConfigError

    project = _project(args)
    info, problem = bridge_problem(project, args.bridge)
    if info is None and problem is not None and "is not valid" not in problem.reason:
        raise ConfigError([problem])
    entries: list[dict[str, Any]] = []
    with one_snapshot():  # the bridge's customer files are read once for all of them
        for stack in customer_stacks(project, args.bridge):
            entries.append(_list_entry(project, stack, info))
    return _print_list(args, info, entries)


def _list_entry(project: Path, stack: str, info: Any) -> dict[str, Any]:
    from stacks.loader import load_stack, read_stack_config, stack_file
    from stacks.problems import ConfigError
    from stacks.spec import CUSTOMER_KEY, CustomerSpec, customer_zones

    path = stack_file(project, stack)
    entry: dict[str, Any] = {"stack": stack, "file": path.name, "customer": stack.split(".", 1)[1],
                             "valid": True, "problems": [], "endpoints": []}
    try:
        spec = load_stack(project, stack).spec
        assert isinstance(spec, CustomerSpec)
        entry["customer"] = spec.id
        entry["endpoints"] = [{"name": e.name, "platform": e.platform, "cloud": e.cloud,
                               "hostnames": list(e.hostnames)} for e in spec.endpoints]
        if info is not None:  # the Route 53 private zones the stack creates (docs/dns.md)
            entry["zones"] = len(customer_zones(spec, info.spec.azure_location))
    except ConfigError as exc:
        entry["valid"] = False
        entry["problems"] = [p.line(exc.source) for p in exc.problems]
        try:  # show what the file says, even though it is not valid
            raw = read_stack_config(path).get(CUSTOMER_KEY, {}).get("endpoints") or []
            entry["endpoints"] = [{"name": e.get("name"), "platform": e.get("platform"), "cloud": e.get("cloud"),
                                   "hostnames": list(e.get("hostnames") or [])} for e in raw if isinstance(e, dict)]
        except (ConfigError, AttributeError, TypeError):
            pass
    return entry


def _print_list(args: argparse.Namespace, info: Any, entries: list[dict[str, Any]]) -> int:
    from bridgectl.render import table

    if args.json:
        json.dump({"bridge": args.bridge, "bridgeValid": info is not None, "customers": entries}, sys.stdout,
                  indent=2)
        print()
        return 1 if any(not e["valid"] for e in entries) else 0
    where = (f"{info.path.name}: AWS {info.spec.aws_region}, Azure {info.spec.azure_location}" if info
             else f"Pulumi.{args.bridge}.yaml: NOT VALID, run `bridgectl validate {args.bridge}`")
    print(f"Customers of bridge {args.bridge} ({where})")
    print("")
    if not entries:
        print(f"  none yet: add one with `bridgectl customer add {args.bridge} <customer> ...`")
        return 0
    rows: list[list[object]] = []
    for entry in entries:
        status = "ok" if entry["valid"] else "INVALID"
        if not entry["endpoints"]:
            rows.append([entry["customer"], status, "-", "-", "-", ""])
        for n, e in enumerate(entry["endpoints"]):
            hosts = e["hostnames"] or [""]
            rows.append([entry["customer"] if n == 0 else "", status if n == 0 else "", e["name"], e["platform"],
                         e["cloud"], hosts[0]])
            rows.extend(["", "", "", "", "", host] for host in hosts[1:])
    print(table(["customer", "status", "endpoint", "platform", "cloud", "hostnames"], rows))
    invalid = [e for e in entries if not e["valid"]]
    endpoints = [ep for e in entries for ep in e["endpoints"]]
    clouds = {c: sum(1 for ep in endpoints if ep["cloud"] == c) for c in ("azure", "aws")}
    print("")
    print(f"{len(entries)} customer(s), {len(endpoints)} endpoint(s) ({clouds['azure']} on azure, {clouds['aws']} "
          f"on aws)" + (f"; {len(invalid)} file(s) fail validation:" if invalid else ""))
    if info is not None:
        zones = sum(int(e.get("zones", 0)) for e in entries)
        print(f"Route 53 private hosted zones (one per published name): {zones} of the "
              f"{info.spec.aws.route53_hosted_zone_quota} of bridge:aws.route53HostedZoneQuota (docs/dns.md)")
    for entry in invalid:
        print(f"  {entry['file']}: {entry['problems'][0]}" + (
            f" (and {len(entry['problems']) - 1} more; run `bridgectl validate {entry['stack']}`)"
            if len(entry["problems"]) > 1 else ""))
    return 1 if invalid else 0




# --- handoff --------------------------------------------------------------------------------------


def _read_outputs(source: str, customer: str) -> dict[str, dict[str, str]]:
    """Per endpoint, the ids from `pulumi stack output --json` (endpoints.<name>.endpointId, ...)."""
    from ..cli import UsageError

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--outputs {source}: cannot be read ({exc.strerror})") from None
    fix = "write it with `pulumi stack output --json -s <stack> > FILE`"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--outputs {source}: is not JSON ({exc}) (fix: {fix})") from None
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), dict):
        raise UsageError(f"--outputs {source}: has no `endpoints` output; is it a customer stack's outputs? "
                         f"(fix: {fix})")
    if data.get("customer") not in (None, customer):
        raise UsageError(f"--outputs {source}: holds the outputs of customer {data['customer']}, not {customer} "
                         f"(fix: {fix})")
    out: dict[str, dict[str, str]] = {}
    for name, values in data["endpoints"].items():
        if not isinstance(values, dict):
            continue
        ids = {k: str(values[k]) for k in ("endpointId", "connectionName", "address") if values.get(k)}
        if "address" in ids:
            ids["privateIp"] = ids["address"]
        out[str(name)] = ids
    return out


def run_handoff(args: argparse.Namespace) -> int:
    from bridgectl.onboarding import require_bridge
    from stacks.loader import load_stack
    from stacks.spec import CustomerSpec

    project = _project(args)
    bridge = require_bridge(project, args.bridge)
    stack = f"{args.bridge}.{args.customer}"
    _existing(project, args.bridge, args.customer)
    loaded = load_stack(project, stack)
    outputs = _read_outputs(args.outputs, args.customer) if args.outputs else None
    if outputs is not None:
        spec_names = [ep.name for ep in loaded.spec.endpoints] if isinstance(loaded.spec, CustomerSpec) else []
        for name in spec_names:
            if name not in outputs:
                _note(f"endpoint {name} is not in {args.outputs}: not deployed yet? Its ids stay placeholders")
    if args.json:
        from bridgectl.console import print_json

        print_json(_handoff(loaded.config, stack, bridge.spec, outputs=outputs, fmt="json"))
        return 0
    text = _handoff(loaded.config, stack, bridge.spec, outputs=outputs, fmt=args.format)
    print(text, end="" if text.endswith("\n") else "\n")
    if outputs is None and args.format == "text":
        print("")
        print(f"To fill in the ids once deployed: pulumi stack output --json -s {stack} > {stack}.outputs.json && "
              f"bridgectl customer handoff {args.bridge} {args.customer} --outputs {stack}.outputs.json")
    return 0
