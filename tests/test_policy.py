"""The CrossGuard policy pack, offline: each rule on small cases, the real stacks passing, and
deliberately broken programs (run under the same mocks as the offline plan) rejected rule by rule.

The pack itself (policy/__main__.py) is never imported: building a PolicyPack starts a gRPC server
and blocks. The rules are plain objects in policy/rules.py.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    Secret,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from bridgectl.cli import main
from bridgectl.offline import MockContext, offline_plan, run_program
from bridgectl.policycheck import check_resources, policy_config
from policy import rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TAGS = {"project": "bridge", "stack": "t", "managed-by": "pulumi"}


def opts(protect: bool = False, secret_outputs: tuple[str, ...] = ()) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=protect, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=list(secret_outputs))


def run_resource(policy: Any, typ: str, props: dict[str, Any], *, protect: bool = False,
                 secret_outputs: tuple[str, ...] = (), config: dict[str, Any] | None = None) -> list[str]:
    violations: list[str] = []
    args = ResourceValidationArgs(typ, unknown_checking_proxy(props), f"urn:pulumi:t::bridge::{typ}::n", "n",
                                  opts(protect, secret_outputs), None, config=config or {})
    try:
        policy.validate(args, lambda msg, urn=None: violations.append(msg))
    except Exception as exc:
        if type(exc).__name__ == "_NotApplicableError":
            return ["<not applicable>"]
        raise
    return violations


# --- each rule on small cases --------------------------------------------------------------------

VIF = rules.TRANSIT_VIF
RP = rules.ROUTING_PROTOCOL


@pytest.mark.parametrize(("typ", "props", "protect", "expect"), [
    (rules.CIRCUIT, {"tags": TAGS}, True, 0),
    (rules.CIRCUIT, {"tags": TAGS}, False, 1),
    (rules.TGW, {}, False, 1),
    (rules.FCR, {}, False, 1),
    (rules.EQUINIX_CONNECTION, {}, False, 1),
    (rules.ROUTE53_ZONE, {"tags": {**TAGS}}, False, 1),                     # the bridge's shared zone
    (rules.ROUTE53_ZONE, {"tags": {**TAGS, "customer": "acme"}}, False, 0),  # a customer's own zone
    (rules.ROUTE53_ZONE, {"tags": UNKNOWN_STRING_VALUE}, False, 1),
    (rules.SECURITY_GROUP, {}, False, 0),                                    # not stateful
])
def test_stateful_resources_protected(typ: str, props: dict[str, Any], protect: bool, expect: int) -> None:
    assert len(run_resource(rules.stateful_resources_protected, typ, props, protect=protect)) == expect


@pytest.mark.parametrize(("typ", "props", "secret_outputs", "config", "expect"), [
    (VIF, {"bgpAuthKey": "[secret]"}, ("bgpAuthKey",), {"plaintextVisible": True}, []),
    (VIF, {"bgpAuthKey": "plaintext1"}, ("bgpAuthKey",), {"plaintextVisible": True}, ["plain text"]),
    # A live preview hands the policy the key unwrapped: only additionalSecretOutputs can be checked.
    (VIF, {"bgpAuthKey": "plaintext1"}, ("bgpAuthKey",), {}, []),
    (VIF, {"bgpAuthKey": "[secret]"}, (), {}, ["additional_secret_outputs"]),
    (VIF, {"bgpAuthKey": UNKNOWN_STRING_VALUE}, ("bgpAuthKey",), {"plaintextVisible": True}, []),
    (VIF, {"bgpAuthKey": UNKNOWN_STRING_VALUE}, (), {}, ["additional_secret_outputs"]),
    (VIF, {}, (), {}, ["no MD5 key"]),
    (RP, {"type": "BGP", "bgpAuthKey": "[secret]"}, ("bgpAuthKey",), {"plaintextVisible": True}, []),
    (RP, {"type": "BGP"}, (), {}, ["no MD5 key"]),
    (RP, {"type": "DIRECT"}, (), {}, []),
    (rules.PEERING, {"sharedKey": "[secret]"}, ("sharedKey",), {"plaintextVisible": True}, []),
    (rules.PEERING, {"sharedKey": "abc123"}, (), {"plaintextVisible": True},
     ["additional_secret_outputs", "plain text"]),
])
def test_bgp_keys_secret(typ: str, props: dict[str, Any], secret_outputs: tuple[str, ...], config: dict[str, Any],
                         expect: list[str]) -> None:
    found = run_resource(rules.bgp_keys_secret, typ, props, secret_outputs=secret_outputs, config=config)
    assert len(found) == len(expect)
    for needle, message in zip(expect, found, strict=True):
        assert needle in message


def test_remediation_style_secret_is_unwrapped() -> None:
    assert rules.get({"k": Secret("v")}, "k") == "v"


@pytest.mark.parametrize(("props", "expect"), [
    ({"type": "BGP", "bfd": {"enabled": True, "interval": "300"}}, 0),
    ({"type": "BGP", "bfd": {"enabled": False, "interval": "300"}}, 1),
    ({"type": "BGP"}, 1),
    ({"type": "BGP", "bfd": {"enabled": UNKNOWN_BOOLEAN_VALUE}}, 0),
    ({"type": "DIRECT"}, 0),
])
def test_bfd_on_bgp_sessions(props: dict[str, Any], expect: int) -> None:
    assert len(run_resource(rules.bfd_on_bgp_sessions, RP, props)) == expect


def _sg(*cidrs: str, ipv6: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": list(cidrs),
                         "ipv6CidrBlocks": list(ipv6)}]}


def _nsg(access: str, source: str, direction: str = "Inbound") -> dict[str, Any]:
    return {"securityRules": [{"name": "r", "access": access, "direction": direction, "sourceAddressPrefix": source}]}


@pytest.mark.parametrize(("typ", "props", "expect"), [
    (rules.SECURITY_GROUP, _sg("10.10.0.0/16"), 0),
    (rules.SECURITY_GROUP, _sg("10.10.0.0/16", "0.0.0.0/0"), 1),
    (rules.SECURITY_GROUP, _sg("10.10.0.0/16", ipv6=("::/0",)), 1),
    (rules.SECURITY_GROUP, _sg(UNKNOWN_STRING_VALUE), 0),
    (rules.SECURITY_GROUP, {"ingress": UNKNOWN_STRING_VALUE}, 0),
    (rules.SG_INGRESS_RULE, {"cidrIpv4": "0.0.0.0/0"}, 1),
    (rules.SG_RULE, {"type": "ingress", "cidrBlocks": ["0.0.0.0/0"]}, 1),
    (rules.SG_RULE, {"type": "egress", "cidrBlocks": ["0.0.0.0/0"]}, 0),
    (rules.NSG, _nsg("Allow", "10.10.0.0/16"), 0),
    (rules.NSG, _nsg("Allow", "*"), 1),
    (rules.NSG, _nsg("Allow", "Internet"), 1),
    (rules.NSG, _nsg("Deny", "*"), 0),          # the endpoint subnet's closing rule
    (rules.NSG, _nsg("Allow", "*", "Outbound"), 0),
])
def test_endpoint_ingress_not_open(typ: str, props: dict[str, Any], expect: int) -> None:
    assert len(run_resource(rules.endpoint_ingress_not_open, typ, props)) == expect


@pytest.mark.parametrize(("typ", "props", "expect"), [
    (rules.TGW, {"tags": TAGS}, 0),
    (rules.TGW, {"tags": {"project": "bridge", "stack": "t"}}, 1),
    (rules.TGW, {}, 1),
    (rules.TGW, {"tags": UNKNOWN_STRING_VALUE}, 0),
    (rules.PRIVATE_ENDPOINT, {"tags": {**TAGS, "managed-by": ""}}, 1),
    ("aws:ec2/route:Route", {}, 0),                                  # not taggable
    ("aws:ec2/instance:Instance", {"tags": {"Name": "x"}}, 1),        # sets tags: checked too
    (rules.FCR, {}, 0),                                               # Equinix has no tags
])
def test_required_tags(typ: str, props: dict[str, Any], expect: int) -> None:
    assert len(run_resource(rules.required_tags, typ, props)) == expect


PLANNED = {"plannedPrefixes": ["10.20.0.0/22", "10.31.0.0/16"]}


@pytest.mark.parametrize(("props", "config", "expect"), [
    ({"destinationCidrBlock": "10.20.0.0/22"}, PLANNED, 0),
    ({"destinationCidrBlock": "10.31.0.0/16"}, PLANNED, 0),
    ({"destinationCidrBlock": "0.0.0.0/0"}, PLANNED, 1),
    ({"destinationCidrBlock": "10.20.0.0/16"}, PLANNED, 1),          # wider than planned
    ({"destinationPrefixListId": "pl-123"}, PLANNED, 1),
    ({"destinationCidrBlock": UNKNOWN_STRING_VALUE}, PLANNED, 0),
    ({"destinationCidrBlock": "0.0.0.0/0"}, {}, "<not applicable>"),
])
def test_routes_to_planned_prefixes(props: dict[str, Any], config: dict[str, Any], expect: int | str) -> None:
    found = run_resource(rules.routes_to_planned_prefixes, rules.VPC_ROUTE, props, config=config)
    assert found == [expect] if isinstance(expect, str) else len(found) == expect


def _stack_resource(typ: str, name: str, props: dict[str, Any], deps: list[PolicyResource] | None = None) \
        -> PolicyResource:
    return PolicyResource(typ, unknown_checking_proxy(props), f"urn:pulumi:t::bridge::{typ}::{name}", name, opts(),
                          None, None, deps or [], {})


def run_stack(resources: list[PolicyResource]) -> list[str]:
    violations: list[str] = []
    rules.no_public_ip_on_endpoints.validate(StackValidationArgs(resources),
                                             lambda msg, urn=None: violations.append(msg))
    return violations


def test_gateway_public_ip_is_expected_and_others_are_not() -> None:
    pip = _stack_resource(rules.PUBLIC_IP, "pip-ergw", {})
    gateway = _stack_resource(rules.GATEWAY, "ergw", {"gatewayType": "ExpressRoute"}, [pip])
    assert run_stack([pip, gateway]) == []
    stray = _stack_resource(rules.PUBLIC_IP, "pip-endpoint", {})
    assert len(run_stack([pip, gateway, stray])) == 1
    # The backup VPN gateway's own public IPs are expected too (components/vpn_backup.py).
    vpn = _stack_resource(rules.GATEWAY, "vpngw", {"gatewayType": "Vpn"}, [stray])
    assert run_stack([pip, gateway, stray, vpn]) == []
    local = _stack_resource(rules.GATEWAY, "lgw", {"gatewayType": "LocalGateway"}, [stray])
    assert len(run_stack([pip, gateway, stray, local])) == 1
    nic = _stack_resource(rules.NIC, "nic", {"ipConfigurations": [{"publicIPAddress": {"id": "x"}}]})
    private_nic = _stack_resource(rules.NIC, "nic2", {"ipConfigurations": [{"privateIPAddress": "10.0.0.4"}]})
    eip = _stack_resource(rules.EIP, "eip", {})
    assert len(run_stack([nic, private_nic, eip])) == 2


def test_aws_connections_on_one_device_are_refused() -> None:
    def vifs(*devices: Any) -> list[str]:
        resources = [_stack_resource(rules.TRANSIT_VIF, f"vif-{i}", {"awsDevice": d} if d is not None else {})
                     for i, d in enumerate(devices)]
        found: list[str] = []
        rules.aws_connections_on_diverse_devices.validate(StackValidationArgs(resources),
                                                          lambda msg, urn=None: found.append(msg))
        return found

    same = vifs("EqDC2-1abc", "EqDC2-1abc")
    assert len(same) == 1 and "EqDC2-1abc" in same[0] and "vif-0, vif-1" in same[0]
    assert vifs("EqDC2-1abc", "EqDC6-2def") == []
    # Not created yet (a first preview) or a single router: nothing to compare.
    assert vifs(None, None) == [] and vifs("EqDC2-1abc") == []


# --- the real stacks pass ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("project")
    for name in ["Pulumi.yaml", "__main__.py", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))]:
        shutil.copy(ROOT / name, tmp / name)
    for p in FIXTURES.glob("Pulumi.*.yaml"):
        shutil.copy(p, tmp / p.name)
    return tmp


@pytest.mark.parametrize("stack", ["dev", "dev.acme", "cwan", "solo"])
def test_stacks_pass_every_rule(project: Path, stack: str) -> None:
    plan = offline_plan(project, stack)
    result = check_resources(plan["stack"], plan["resources"], policy_config(project, stack))
    assert result.violations == []
    assert result.not_evaluated == []
    # Every rule applied, including the route rule (it has the planned prefixes).
    assert result.not_applicable == []


def test_check_command_and_policy_config(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "policy-config.json"
    assert main(["-C", str(project), "check", "dev", "--policy-config-out", str(out)]) == 0
    assert "dev: " in capsys.readouterr().out
    assert yaml.safe_load(out.read_text()) == {"routes-to-planned-prefixes": {"plannedPrefixes": ["10.20.0.0/22"],
                                                                              "backupPrefixes": ["10.10.0.0/16"]}}
    assert main(["-C", str(project), "check", "dev", "dev.acme", "--policy-config-out", str(out)]) == 2


def test_bfd_turned_off_in_config_is_rejected(project: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(project, broken)
    stack_file = broken / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("enabled: true", "enabled: false"))
    assert main(["-C", str(broken), "check", "dev"]) == 1
    plan = offline_plan(broken, "dev")
    result = check_resources("dev", plan["resources"], policy_config(broken, "dev"))
    assert {v.policy for v in result.violations} == {"bfd-on-bgp-sessions"}
    assert len(result.violations) == 4  # every BGP session of the two routers


# --- deliberately broken programs ------------------------------------------------------------------

BROKEN_PROGRAM = '''
import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
from pulumi_azure_native import network
from pulumi_equinix import fabric

TAGS = {"project": "bridge", "stack": "broken", "managed-by": "pulumi"}
protect = pulumi.ResourceOptions(protect=True)

aws.ec2.SecurityGroup("open-sg", vpc_id="vpc-0a1b2c3d4e5f60718", tags=TAGS, ingress=[
    aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"])])
aws.directconnect.TransitVirtualInterface(
    "plain-key-vif", name="vif", connection_id="dxcon-1", dx_gateway_id="dxgw", vlan=100, address_family="ipv4",
    bgp_asn=64999, bgp_auth_key="plaintextkey1", tags=TAGS)
fabric.RoutingProtocol(
    "no-bfd", name="no-bfd", type="BGP", connection_uuid="c-1", customer_asn=64513,
    bgp_ipv4=fabric.RoutingProtocolBgpIpv4Args(customer_peer_ip="169.254.100.1", enabled=True),
    bgp_auth_key=pulumi.Output.secret("k123456"), bfd=fabric.RoutingProtocolBfdArgs(enabled=False, interval="300"),
    opts=pulumi.ResourceOptions(additional_secret_outputs=["bgpAuthKey"]))
network.ExpressRouteCircuit("unprotected-circuit", resource_group_name="rg", circuit_name="erc", location="eastus2",
                            tags=TAGS)
stray = network.PublicIPAddress("endpoint-ip", resource_group_name="rg", location="eastus2",
                                public_ip_address_name="pip-endpoint", tags=TAGS, opts=protect)
network.NetworkInterface("nic", resource_group_name="rg", location="eastus2", tags=TAGS, ip_configurations=[
    network.NetworkInterfaceIPConfigurationArgs(name="ip", public_ip_address=network.PublicIPAddressArgs(id=stray.id))])
network.NetworkSecurityGroup("open-nsg", resource_group_name="rg", location="eastus2", tags=TAGS, security_rules=[
    network.SecurityRuleArgs(name="any", priority=100, direction="Inbound", access="Allow", protocol="*",
                             source_address_prefix="*", source_port_range="*", destination_address_prefix="*",
                             destination_port_range="*")])
aws.ec2.Route("default-route", route_table_id="rtb-0a1b2c3d4e5f60718", destination_cidr_block="0.0.0.0/0",
              transit_gateway_id="tgw-1")
aws.ec2transitgateway.TransitGateway("untagged-tgw", amazon_side_asn=64512, opts=protect)
# The AWS SDK makes a given pre-shared key a secret itself; a tunnel without one gets a key AWS picks.
aws.ec2.VpnConnection("keyless-vpn", customer_gateway_id="cgw-1", transit_gateway_id="tgw-1", type="ipsec.1",
                      tunnel1_preshared_key=pulumi.Output.secret("k1234567"), tags=TAGS)
network.VirtualNetworkGatewayConnection(
    "plain-psk-conn", resource_group_name="rg", location="eastus2", connection_type="IPsec", shared_key="plainpsk123",
    virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id="gw"), tags=TAGS, opts=protect)
# Two transit VIFs that AWS reports on one device (awsDevice is an output: written as raw properties
# here, as a live preview shows them).
for vif_name in ("same-device-a", "same-device-b"):
    pulumi.CustomResource("aws:directconnect/transitVirtualInterface:TransitVirtualInterface", vif_name, {
        "name": vif_name, "connectionId": "dxcon-1", "dxGatewayId": "dxgw", "vlan": 100, "addressFamily": "ipv4",
        "bgpAsn": 64999, "bgpAuthKey": pulumi.Output.secret("k123456"), "tags": TAGS, "awsDevice": "EqDC2-1abc"},
        opts=pulumi.ResourceOptions(protect=True, additional_secret_outputs=["bgpAuthKey"]))

# Compliant neighbours: nothing is reported for them.
gateway_ip = network.PublicIPAddress("gateway-ip", resource_group_name="rg", location="eastus2",
                                     public_ip_address_name="pip-ergw", tags=TAGS, opts=protect)
network.VirtualNetworkGateway("ergw", resource_group_name="rg", location="eastus2", gateway_type="ExpressRoute",
                              virtual_network_gateway_name="ergw", tags=TAGS, opts=protect, ip_configurations=[
    network.VirtualNetworkGatewayIPConfigurationArgs(name="default",
                                                     public_ip_address=network.SubResourceArgs(id=gateway_ip.id))])
aws.ec2.Route("planned-route", route_table_id="rtb-0a1b2c3d4e5f60718", destination_cidr_block="10.20.0.0/22",
              transit_gateway_id="tgw-1")
for vif_name, device in (("diverse-a", "EqDC2-1abc0"), ("diverse-b", "EqDC6-2def0")):
    pulumi.CustomResource("aws:directconnect/transitVirtualInterface:TransitVirtualInterface", vif_name, {
        "name": vif_name, "connectionId": "dxcon-2", "dxGatewayId": "dxgw", "vlan": 101, "addressFamily": "ipv4",
        "bgpAsn": 64999, "bgpAuthKey": pulumi.Output.secret("k123456"), "tags": TAGS, "awsDevice": device},
        opts=pulumi.ResourceOptions(protect=True, additional_secret_outputs=["bgpAuthKey"]))
'''

EXPECTED_BROKEN = {
    ("endpoint-ingress-not-open", "open-sg"), ("endpoint-ingress-not-open", "open-nsg"),
    ("bgp-keys-secret", "plain-key-vif"),
    ("stateful-resources-protected", "plain-key-vif"), ("stateful-resources-protected", "unprotected-circuit"),
    ("bfd-on-bgp-sessions", "no-bfd"),
    ("no-public-ip-on-endpoints", "endpoint-ip"), ("no-public-ip-on-endpoints", "nic"),
    ("routes-to-planned-prefixes", "default-route"),
    ("required-tags", "untagged-tgw"),
    ("vpn-keys-secret", "keyless-vpn"), ("vpn-keys-secret", "plain-psk-conn"),
    ("aws-connections-on-diverse-devices", "same-device-a"),
    # No alarms at all in the broken program: every VIF, the circuit and the gateway are unwatched.
    *(("bridge-watched", n) for n in ("plain-key-vif", "same-device-a", "same-device-b", "diverse-a", "diverse-b",
                                      "unprotected-circuit", "ergw")),
}


def _plan_of(program: str, tmp: Path, stack: str = "broken") -> list[dict[str, Any]]:
    (tmp / "__main__.py").write_text(program)
    run = run_program(tmp, stack, {}, MockContext(stack=stack))
    return [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent or None, "protect": r.protect,
             "custom": r.custom, "provider": r.provider or None, "inputs": r.inputs, "dependsOn": r.depends_on,
             "options": r.options} for r in run.registrations]


@pytest.fixture(scope="module")
def broken_result(tmp_path_factory: pytest.TempPathFactory) -> Any:
    resources = _plan_of(BROKEN_PROGRAM, tmp_path_factory.mktemp("broken"))
    return check_resources("broken", resources,
                           {"routes-to-planned-prefixes": {"plannedPrefixes": ["10.20.0.0/22"]}})


def test_broken_program_is_rejected_rule_by_rule(broken_result: Any) -> None:
    found = {(v.policy, v.name) for v in broken_result.violations}
    assert found == EXPECTED_BROKEN
    # Every rule of the pack caught something.
    assert {p for p, _ in found} == {p.name for p in rules.POLICIES}


def test_broken_key_reports_both_problems(broken_result: Any) -> None:
    messages = [v.message for v in broken_result.violations if v.policy == "bgp-keys-secret"]
    assert any("additional_secret_outputs" in m for m in messages)
    assert any("plain text" in m for m in messages)


@pytest.mark.parametrize(("path", "old", "new", "policy"), [
    ("components/_common.py", "PROTECT = True", "PROTECT = False", "stateful-resources-protected"),
    ("stacks/bridge.py", '"managed-by": "pulumi"', '"owner": "pulumi"', "required-tags"),
    ("components/cloud_router.py", 'additional_secret_outputs=["bgpAuthKey"]', "", "bgp-keys-secret"),
    ("components/vpn_backup.py", 'additional_secret_outputs=["sharedKey"]', "", "vpn-keys-secret"),
])
def test_broken_copies_of_the_real_program(project: Path, tmp_path: Path, path: str, old: str, new: str,
                                           policy: str) -> None:
    """The real program with one rule broken in its components, planned offline from a copy."""
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    for folder in ("components", "stacks"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / path
    assert old in target.read_text()
    target.write_text(target.read_text().replace(old, new))
    # The copy's modules must shadow the installed ones: plan in a subprocess with the copy first.
    script = ("import json, sys; from pathlib import Path; from bridgectl.offline import offline_plan; "
              "print(json.dumps(offline_plan(Path(sys.argv[1]), 'dev')['resources']))")
    proc = subprocess.run([sys.executable, "-c", script, str(copy)], cwd=copy, capture_output=True, text=True,
                          env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"}, check=True)
    result = check_resources("dev", json.loads(proc.stdout), policy_config(project, "dev"))
    assert result.violations and {v.policy for v in result.violations} == {policy}


# --- the pack's files ------------------------------------------------------------------------------


def test_pack_layout() -> None:
    pack = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python"
    tree = ast.parse((ROOT / "policy" / "__main__.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "PolicyPack"]
    assert len(calls) == 1
    kwargs = {k.arg: ast.unparse(k.value) for k in calls[0].keywords}
    assert kwargs["policies"] == "rules.POLICIES" and kwargs["enforcement_level"] == "EnforcementLevel.MANDATORY"


def test_policy_names_are_unique_and_described() -> None:
    names = [p.name for p in rules.POLICIES]
    assert len(names) == len(set(names)) == 10
    assert all(p.description for p in rules.POLICIES)
