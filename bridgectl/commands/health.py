"""bridgectl health STACK: the live bridge against its plan (AWS, Azure, Equinix), with the runbook step."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridgectl.health.model import Observation, Report
    from stacks.plan import BridgePlan
    from stacks.spec import BridgeSpec

ORDER = 65
SOURCES = ("aws", "azure", "equinix")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "health", help="compare the live bridge with its plan: sessions, prefixes, limits, states",
        description="Read the deployed bridge with each cloud's own API (AWS Direct Connect with boto3, the "
                    "ExpressRoute circuit and gateway with the Azure SDK, Equinix Fabric v4) and compare it with "
                    "the plan: every BGP session's state, the prefixes each end receives, route counts against "
                    "each provider's limit, BFD where the API shows it, and the provisioning states. Each finding "
                    "names the session, what the plan expects, what was seen, and the runbook step "
                    "(docs/runbook-network.md). Credentials come from the environment, as in CI.",
        epilog="Exit codes: 0 healthy, 1 something differs from the plan, 2 bad input, 3 missing credentials.")
    p.add_argument("stack", metavar="STACK", help="bridge stack name (dev) or path to its file")
    from bridgectl.console import add_json_flag, add_quiet_flag

    add_json_flag(p, '{"stack", "healthy", "sessions": [...], "findings": [{"kind", "subject", "session", "expected", '
                     '"seen", "source", "runbook", ...}]}')
    add_quiet_flag(p)
    p.add_argument("--watch", nargs="?", type=float, const=30.0, metavar="SECONDS",
                   help="read again every SECONDS (default 30) until Ctrl-C: a live view")
    p.add_argument("--only", action="append", choices=SOURCES, metavar="SOURCE",
                   help="read only this cloud (aws, azure, equinix); repeatable; by default all three")
    p.set_defaults(func=run)


def _bridge(args: argparse.Namespace) -> tuple[BridgePlan, BridgeSpec]:
    from bridgectl.commands import bridge_plan

    return bridge_plan(args, "health", "health reads a bridge stack")


class Readers:
    """The three clouds' readers, with their clients made once (credentials checked up front)."""

    def __init__(self, plan: BridgePlan, spec: BridgeSpec, sources: tuple[str, ...]) -> None:
        from bridgectl.health.aws import MissingCredentials

        self.plan, self.spec, self.sources = plan, spec, sources
        self.clients: dict[str, Any] = {}
        missing = []
        for source in sources:
            try:
                self.clients[source] = self._client(source)
            except MissingCredentials as exc:
                missing.append(str(exc))
        if "aws" in self.clients and plan.backup is not None:
            self.clients["aws-vpn"] = self._client("aws-vpn")
        if missing:
            from bridgectl.cli import PrerequisiteMissing

            raise PrerequisiteMissing("; ".join(missing))

    def _client(self, source: str) -> Any:
        if source == "aws-vpn":
            from bridgectl.health import aws

            return aws.ec2_client(self.spec.aws_region)
        if source == "aws":
            from bridgectl.health import aws

            return aws.client(self.spec.aws_region)
        if source == "azure":
            from bridgectl.health import azure

            return azure.client(self.spec.azure_subscription_id)
        from bridgectl.health import equinix

        return equinix.http_client(equinix.token_from_env())

    def observe(self) -> Observation:
        from bridgectl.health.model import Observation

        obs = Observation()
        for source in self.sources:
            try:
                obs.extend(self._observe(source))
            except Exception as exc:  # an API's refusal is a finding: named, never a traceback
                obs.unreadable.append((source, f"{type(exc).__name__}: {str(exc).strip()[:300]}"))
        return obs

    def _observe(self, source: str) -> Observation:
        plan, spec, c = self.plan, self.spec, self.clients[source]
        if source == "aws":
            from bridgectl.health import aws

            obs = aws.observe(c, plan)
            if plan.backup is not None:
                obs.extend(aws.observe_backup(self.clients["aws-vpn"], plan))
            return obs
        if source == "azure":
            from bridgectl.health import azure
            from stacks.bridge import azure_names

            names = azure_names(spec.stack)
            limit = next(b.limit for b in plan.budgets if b.name == "gateway-learned")
            circuits = [names["circuit" if p.circuit == 0 else "circuit2"] for p in plan.circuits or (plan.azure,)]
            obs = azure.observe(c, plan, spec.azure.resource_group, circuits, names["gateway"], limit)
            if plan.backup is not None:
                from components.vpn_backup import azure_vpn_names, connection_name

                obs.extend(azure.observe_backup(c, plan, spec.azure.resource_group,
                                                azure_vpn_names(spec.stack)["gateway"],
                                                lambda tunnel: connection_name(spec.stack, tunnel)))
            return obs
        from bridgectl.health import equinix

        package = next((b.limit for b in plan.budgets if b.name == "fcr-routes"), None)
        return equinix.observe(c, plan, spec.exchange.project_id, package)


def run(args: argparse.Namespace) -> int:
    from bridgectl.console import print_json, progress, progress_enabled
    from bridgectl.health.model import evaluate, expected_from_plan

    plan, spec = _bridge(args)
    sources = tuple(s for s in SOURCES if not args.only or s in args.only)
    readers = Readers(plan, spec, sources)
    expected = expected_from_plan(plan)
    while True:
        with progress(f"reading {', '.join(sources)}", enabled=progress_enabled(args.quiet)):
            observed = readers.observe()
        report = evaluate(expected, observed)
        if args.json:
            print_json({**report.to_json(), "sources": list(sources)})
            sys.stdout.flush()
        else:
            if args.watch:
                print("\033[2J\033[H", end="")
            print(report_text(report, sources), flush=True)
        if not args.watch:
            return 0 if report.healthy else 1
        time.sleep(args.watch)


def report_text(report: Report, sources: tuple[str, ...]) -> str:
    from bridgectl.render import table

    lines = [f"health of {report.stack} ({', '.join(sources)}): "
             + ("healthy" if report.healthy else f"{len(report.findings)} finding(s)"), ""]
    lines.append(table(["session", "state", "BFD", "to cloud", "to FCR", "seen by"],
                       [[r.session, r.state, r.bfd, r.to_cloud, r.to_fcr, r.sources] for r in report.rows]))
    if report.findings:
        lines += ["", "findings:"]
        for f in report.findings:
            lines.append(f"  {f.kind} {f.subject}: expected {f.expected}; seen {f.seen} ({f.source}) -> {f.runbook}")
    return "\n".join(lines)
