"""The questions ``bridgectl customer add --interactive`` asks, each answer checked as it is given.

Answers are read with :func:`input`, so a person gets line editing and tests can feed answers on
standard input. Each answer is checked with the stack rules themselves: the endpoint so far is
put in a candidate stack file and run through the same validation as ``bridgectl validate``;
only the problems about the key just asked are shown, with the fix, and the question is asked
again. Flags given on the command line answer their question (and are checked the same way).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from stacks.problems import ConfigError, Problem
from stacks.spec import CUSTOMER_KEY, PLATFORMS

from .cli import UsageError
from .onboarding import (
    BridgeInfo,
    EndpointInput,
    at_path,
    clouds_for,
    databricks_aws_hostname,
    default_endpoint_name,
    parse_snowflake_config,
    platform_zone,
    private_hostname,
    problems_of,
    snowflake_ocsp_names,
    split_hostnames,
    with_endpoints,
    without_listed_ocsp,
)

PLATFORM_HELP = {
    "snowflake": "Snowflake account (Private Link to Snowflake's own service)",
    "databricks": "Databricks workspace (front-end Private Link)",
    "starburst": "Starburst (a Private Link service run by Starburst or the customer)",
    "redshift": "Amazon Redshift (a cluster, or a VPC endpoint service; AWS only)",
}

SERVICE_HELP = {
    ("snowflake", "azure"): "The Private Link service alias: `privatelink-pls-id` in the output of "
                            "SELECT SYSTEM$GET_PRIVATELINK_CONFIG(); (the customer's ACCOUNTADMIN runs it). "
                            "You may paste that whole JSON output, or give the path of a file holding it.",
    ("snowflake", "aws"): "The VPC endpoint service: `privatelink-vpce-id` in the output of "
                          "SELECT SYSTEM$GET_PRIVATELINK_CONFIG(); (com.amazonaws.vpce.<region>.vpce-svc-...). "
                          "You may paste that whole JSON output, or give the path of a file holding it.",
    ("databricks", "azure"): "The workspace's Azure resource id: /subscriptions/<id>/resourceGroups/<rg>/providers/"
                             "Microsoft.Databricks/workspaces/<name> (portal: the workspace > Properties > Id).",
    ("databricks", "aws"): "The workspace (REST API) VPC endpoint service of the workspace's region, from "
                           "Databricks' table of regional endpoint services (com.amazonaws.vpce.<region>."
                           "vpce-svc-...).",
    ("starburst", "azure"): "The Private Link service alias (<prefix>.<guid>.<region>.azure.privatelinkservice) "
                            "or resource id that the customer or Starburst gives you.",
    ("starburst", "aws"): "The VPC endpoint service name (com.amazonaws.vpce.<region>.vpce-svc-...) that the "
                          "customer or Starburst gives you.",
    ("redshift", "aws"): "The VPC endpoint service name (com.amazonaws.vpce.<region>.vpce-svc-...) in front of "
                         "the cluster.",
}

HOSTNAME_HELP = {
    ("snowflake", "azure"): "The account's private URL: `privatelink-account-url` (its OCSP name is published "
                            "with it).",
    ("snowflake", "aws"): "The account's private URL: `privatelink-account-url` (its OCSP name is published with it).",
    ("databricks", "azure"): "The workspace URL (adb-<id>.<n>.azuredatabricks.net); its private name in "
                             "privatelink.azuredatabricks.net is used.",
    ("databricks", "aws"): "The region's private name: the workspace URL is a CNAME to it.",
    ("starburst", "azure"): "The names the SaaS uses for the Starburst coordinator, inside the zone above.",
    ("starburst", "aws"): "The names the SaaS uses for the Starburst coordinator, inside the zone above.",
    ("redshift", "aws"): "Names the SaaS uses for the cluster, inside the zone above.",
}


class Prompter:
    """Numbered choices, free answers with a check, and confirmations, on standard input."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        if sys.stdin.isatty():
            # input() edits lines with arrow keys and history only once readline is loaded.
            with suppress(ImportError):
                import readline  # noqa: F401

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def read(self, prompt: str) -> str:
        self.out.flush()
        try:
            answer = input(prompt)
        except EOFError:
            raise UsageError("input ended before every question was answered; nothing was written") from None
        if not sys.stdin.isatty():
            print(answer, flush=True)  # a transcript of piped answers reads like a session
        return answer.strip()

    def choose(self, title: str, choices: Sequence[tuple[str, str]], default: str | None = None) -> str:
        self.say(title)
        for n, (value, text) in enumerate(choices, 1):
            self.say(f"  {n}) {value:<11} {text}")
        values = [v for v, _ in choices]
        hint = f" [{values.index(default) + 1}]" if default in values else ""
        while True:
            answer = self.read(f"Choose 1-{len(choices)}{hint}: ")
            if not answer and default in values:
                return default
            if answer.isdigit() and 1 <= int(answer) <= len(choices):
                return values[int(answer) - 1]
            if answer.lower() in values:
                return answer.lower()
            self.say(f"  ! {answer!r} is not one of the choices: answer with a number from 1 to {len(choices)}")

    def ask(self, question: str, check: Callable[[str], list[str]], *, default: str | None = None,
            optional: bool = False) -> str:
        """Ask until ``check`` returns no problems; an empty answer takes the default (or "" if optional)."""
        hint = f" [{default}]" if default else (" (empty for none)" if optional and "empty" not in question else "")
        while True:
            answer = self.read(f"{question}{hint}: ")
            if not answer:
                if default:
                    answer = default
                elif not optional:
                    self.say("  ! an answer is required")
                    continue
            problems = check(answer)
            if not problems:
                return answer
            for line in problems:
                self.say(f"  ! {line}")

    def confirm(self, question: str, default: bool = True) -> bool:
        hint = "[Y/n]" if default else "[y/N]"
        while True:
            answer = self.read(f"{question} {hint} ").lower()
            if not answer:
                return default
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            self.say("  ! answer y or n")


def problem_text(problem: Problem) -> str:
    """A problem without its key path: the person answering knows which question it is about."""
    from stacks.problems import MISSING, render_value

    shown = "" if problem.value is MISSING else f"{render_value(problem.value)} "
    return f"{shown}{problem.reason}" + (f" (fix: {problem.fix})" if problem.fix else "")


@dataclass
class EndpointQuestions:
    """Everything needed to ask for one endpoint of a customer stack."""

    project: Path
    stack: str
    base: Mapping[str, Any]        # the stack's config, with the endpoints already decided
    bridge: BridgeInfo
    prompter: Prompter
    no_ocsp: bool = False

    @property
    def index(self) -> int:
        return len(self.base[CUSTOMER_KEY]["endpoints"])

    @property
    def taken(self) -> list[str]:
        return [str(e.get("name")) for e in self.base[CUSTOMER_KEY]["endpoints"]]

    def problems(self, ep: EndpointInput, key: str) -> list[str]:
        """The stack rules' problems about ``key`` of this endpoint, were it written now."""
        if key == "name" and ep.name in self.taken:
            free = default_endpoint_name(ep.platform or "endpoint", ep.cloud or "", self.taken)
            return [f"{ep.name!r} is already an endpoint of this customer (fix: choose another name, e.g. {free})"]
        config = with_endpoints(self.base, [*self.base[CUSTOMER_KEY]["endpoints"],
                                            self._completed(ep, key).as_config()])
        path = f"{CUSTOMER_KEY}.endpoints[{self.index}].{key}"
        found = [problem_text(p) for p in at_path(problems_of(self.project, self.stack, config), path)]
        if found and key == "service" and ep.platform == "databricks" and ep.cloud == "azure" \
                and "azuredatabricks.net" in (ep.service or ""):
            found.append("that is the workspace URL (it goes in the hostnames next); the resource id is in the "
                         "portal: the workspace > Properties > Id")
        return found

    @staticmethod
    def _completed(ep: EndpointInput, key: str) -> EndpointInput:
        """The endpoint with stand-ins for the names still to be asked: without them the stack does not
        parse, and the rules that need a whole stack (the service's region against the bridge's) would
        only speak after the last question."""
        if key == "hostnames" or ep.platform == "redshift" or ep.hostnames:
            return ep
        done = replace(ep)
        zone = platform_zone(ep.platform, ep.cloud) or ep.zone
        if zone is None:
            zone = done.zone = "answer-pending.invalid"
        done.hostnames = [f"answer-pending.{zone}"]
        return done

    def field(self, ep: EndpointInput, key: str, attr: str, question: str, preset: Any, *,
              default: str | None = None, optional: bool = False, flag: str = "",
              convert: Callable[[str], Any] = lambda s: s) -> Any:
        """One answer: from its flag if that passes the rules, else asked until it does."""
        converted: dict[str, Any] = {}

        def check(answer: str) -> list[str]:
            value: Any = convert(answer) if answer else None
            converted[answer] = value
            return self.problems(replace(ep, **{attr: value}), key)

        if preset:
            text = preset if isinstance(preset, str) else ", ".join(preset)
            problems = self.problems(replace(ep, **{attr: preset}), key)
            if not problems:
                self.prompter.say(f"{question}: {text} (from {flag})")
                return preset
            for line in problems:
                self.prompter.say(f"  ! {flag} {line}")
        answer = self.prompter.ask(question, check, default=default, optional=optional)
        return converted.get(answer) if answer else None

    def ask(self, preset: EndpointInput) -> EndpointInput:
        p = self.prompter
        ep = EndpointInput()
        # Platform and cloud: fixed sets, offered as numbered choices.
        if preset.platform in PLATFORMS:
            ep.platform = preset.platform
            p.say(f"Platform: {ep.platform} (from --platform)")
        else:
            if preset.platform:
                p.say(f"  ! --platform {preset.platform!r} is not one of {', '.join(PLATFORMS)}")
            ep.platform = p.choose("Which data platform does the customer want to reach privately?",
                                   [(name, PLATFORM_HELP[name]) for name in PLATFORMS])
        clouds = clouds_for(ep.platform)
        if preset.cloud in clouds:
            ep.cloud = preset.cloud
            p.say(f"Cloud: {ep.cloud} (from --cloud)")
        elif len(clouds) == 1:
            ep.cloud = clouds[0]
            p.say(f"Cloud: {ep.cloud} ({ep.platform} runs only there)")
        else:
            if preset.cloud:
                p.say(f"  ! --cloud {preset.cloud!r} is not available for {ep.platform}: use {' or '.join(clouds)}")
            ep.cloud = p.choose(f"Where does the customer's {ep.platform} run?",
                                [(c, f"the customer's {ep.platform} is in {'Azure' if c == 'azure' else 'AWS'}")
                                 for c in clouds])
        self._name(ep, preset)
        suggested: list[str] = []
        if ep.platform == "redshift" and (preset.cluster or (not preset.service and p.choose(
                "What did the customer give you?",
                [("cluster", "a cluster identifier and the AWS account that owns it"),
                 ("service", "a VPC endpoint service name")]) == "cluster")):
            self._cluster(ep, preset)
        else:
            suggested = self._service(ep, preset)
        self._zone(ep, preset)
        self._vpc(ep, preset)
        if ep.platform != "redshift" or ep.zone:
            ep.hostnames = self._hostnames(ep, preset.hostnames, suggested)
        # Single sign-on through the SaaS (Azure Databricks): from the flags only; the rules check them.
        ep.browser_authentication = preset.browser_authentication
        ep.workspace_region = preset.workspace_region
        return self._whole(ep)

    def _whole(self, ep: EndpointInput) -> EndpointInput:
        """Check the finished endpoint against every rule; ask again for whatever a rule across keys
        still rejects (the answers were checked one by one, with stand-ins for those to come)."""
        prefix = f"{CUSTOMER_KEY}.endpoints[{self.index}]"
        blank = EndpointInput()
        while True:
            config = with_endpoints(self.base, [*self.base[CUSTOMER_KEY]["endpoints"], ep.as_config()])
            found = at_path(problems_of(self.project, self.stack, config), prefix)
            if not found:
                return ep
            key = found[0].path[len(prefix) + 1:].split(".")[0].split("[")[0]
            for problem in found:
                self.prompter.say(f"  ! {problem.path[len(prefix) + 1:]}: {problem_text(problem)}")
            if key == "name":
                self._name(ep, blank)
            elif key == "service":
                self._service(ep, blank)
            elif key in ("cluster", "ownerAccount"):
                self._cluster(ep, blank)
            elif key == "zone":
                self._zone(ep, blank)
            elif key == "hostnames":
                ep.hostnames = self._hostnames(ep, [], [])
            else:
                raise ConfigError(found, f"Pulumi.{self.stack}.yaml")

    def _name(self, ep: EndpointInput, preset: EndpointInput) -> None:
        ep.name = self.field(ep, "name", "name", "Endpoint name (unique in this customer)", preset.name,
                             default=default_endpoint_name(ep.platform or "", ep.cloud or "", self.taken),
                             flag="--name")

    def _cluster(self, ep: EndpointInput, preset: EndpointInput) -> None:
        ep.cluster = self.field(ep, "cluster", "cluster", "Redshift cluster identifier", preset.cluster,
                                flag="--cluster")
        ep.owner_account = self.field(ep, "ownerAccount", "owner_account",
                                      "AWS account that owns the cluster (12 digits)", preset.owner_account,
                                      flag="--owner-account")

    def _service(self, ep: EndpointInput, preset: EndpointInput) -> list[str]:
        """Ask for the service; returns the hostnames a pasted Snowflake configuration suggests."""
        platform = ep.platform or ""
        self.prompter.say(SERVICE_HELP[(platform, ep.cloud or "")])
        found: dict[str, Any] = {}

        def service_of(answer: str) -> str:
            if platform != "snowflake":
                return answer
            path = Path(answer).expanduser()
            text = answer if answer.startswith(("{", '"{')) else (
                path.read_text(encoding="utf-8") if path.is_file() else "")
            if not text:
                return answer
            try:
                sf = parse_snowflake_config(text, "the pasted output")
            except ConfigError:
                return answer
            found["hosts"] = sf.hostnames
            return sf.service

        ep.service = self.field(ep, "service", "service", "Service", preset.service, flag="--service",
                                convert=service_of)
        return list(found.get("hosts", []))

    def _zone(self, ep: EndpointInput, preset: EndpointInput) -> None:
        if platform_zone(ep.platform, ep.cloud) is not None:
            return
        redshift = ep.platform == "redshift"
        question = ("Private DNS zone for hostnames (this customer stack creates it)" if not redshift else
                    "Private DNS zone for hostnames (empty: use the endpoint's own DNS name)")
        ep.zone = self.field(ep, "zone", "zone", question, preset.zone, optional=redshift, flag="--zone",
                             convert=lambda s: s.lower().rstrip("."))

    def _vpc(self, ep: EndpointInput, preset: EndpointInput) -> None:
        if ep.cloud != "aws":
            return
        bridge = self.bridge.spec
        vpcs = [v.name for v in bridge.aws.vpcs]
        if preset.vpc and preset.vpc not in vpcs:
            self.prompter.say(f"  ! --vpc {preset.vpc!r} is not a VPC of bridge {bridge.stack}: use one of "
                              f"{', '.join(vpcs)}")
        if preset.vpc in vpcs:
            ep.vpc = preset.vpc
        elif len(vpcs) > 1:
            ep.vpc = self.prompter.choose(f"Which VPC of bridge {bridge.stack} holds the endpoint?",
                                          [(v.name, f"{v.vpc_id} {v.cidr}") for v in bridge.aws.vpcs],
                                          default=vpcs[0])

    def _hostnames(self, ep: EndpointInput, preset: list[str], suggested: list[str]) -> list[str]:
        p = self.prompter
        platform, cloud = ep.platform or "", ep.cloud or ""
        zone = platform_zone(platform, cloud) or ep.zone
        default = ""
        if suggested:
            default = ", ".join(suggested)
        elif platform == "databricks" and cloud == "aws":
            default = databricks_aws_hostname(ep.service, self.bridge.spec.aws_region)
        p.say(f"{HOSTNAME_HELP[(platform, cloud)]} Names must end in .{zone}; separate several with commas.")

        def convert(answer: str) -> list[str]:
            hosts = []
            for host in split_hostnames([answer]):
                private, note = private_hostname(host, platform, cloud)
                if note:
                    p.say(f"  note: {note}")
                hosts.append(private)
            return hosts

        hosts: list[str] = self.field(ep, "hostnames", "hostnames", "Hostnames", convert(", ".join(preset)),
                                      default=default or None, optional=platform == "redshift",
                                      flag="--hostname", convert=convert) or []
        if platform == "snowflake":
            hosts, dropped = without_listed_ocsp(hosts)
            if dropped:
                p.say(f"  note: not listing {', '.join(dropped)}: published automatically with its account name")
            extra = snowflake_ocsp_names(hosts)
            if extra:
                p.say(f"  note: also answered privately: {', '.join(extra)} (Snowflake drivers check certificates "
                      "there; published automatically)")
        return hosts

