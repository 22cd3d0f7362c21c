"""The IPsec backup path (bridge:vpnBackup): its keys and rules, its plan, the resources on both clouds, the
preference for the private path, and what the diff, the diagram and the policy pack say about it.

Every rule has a case where it says no and one where it says yes.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from bridgectl import diagram, offline
from bridgectl import diff as d
from bridgectl.offline import offline_plan
from bridgectl.policycheck import check_resources, policy_config
from bridgectl.replacements import rule_for
from bridgectl.risks import disruptive
from components.vpn_backup import no_leading_zero
from policy import rules
from stacks import limits as L
from stacks.plan import BridgePlan, plan_bridge
from stacks.problems import ConfigError
from stacks.spec import BridgeSpec, hub_subnets, parse_config
from stacks.vpn import TUNNEL_SLOTS, VpnBackupSpec, more_specific_over_vpn

ROOT = Path(__file__).resolve().parent.parent
DEV: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
IP = ipaddress.IPv4Network

Mutation = Callable[[dict[str, Any]], None]


def _config(mutate: Mutation | None = None) -> dict[str, Any]:
    cfg = copy.deepcopy(DEV)
    if mutate is not None:
        mutate(cfg)
    return cfg


def _lines(mutate: Mutation | None = None) -> list[str]:
    """Every problem (errors and warnings) validation reports for dev changed by ``mutate``."""
    try:
        _, warnings = parse_config("dev", _config(mutate))
    except ConfigError as exc:
        return [p.line() for p in exc.problems]
    return [p.line() for p in warnings]


def _plan(mutate: Mutation | None = None) -> BridgePlan:
    spec, _ = parse_config("dev", _config(mutate))
    assert isinstance(spec, BridgeSpec)
    return plan_bridge(spec)


def _backup(**keys: Any) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        cfg["bridge:vpnBackup"] = dict(keys)
    return mutate


def _about_backup(lines: list[str]) -> list[str]:
    return [line for line in lines if "vpnBackup" in line or "backup VPN" in line or "Azure VPN gateway" in line]


# --- the plan ------------------------------------------------------------------------------------


def test_dev_plans_four_tunnels_with_each_clouds_address_convention() -> None:
    backup = _plan().backup
    assert backup is not None
    assert [t.id for t in backup.tunnels] == ["vpn1-t1", "vpn1-t2", "vpn2-t1", "vpn2-t2"]
    assert [(t.instance, t.tunnel) for t in backup.tunnels] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert [str(t.inside) for t in backup.tunnels] == ["169.254.21.0/30", "169.254.21.4/30", "169.254.21.8/30",
                                                       "169.254.21.12/30"]
    for t in backup.tunnels:
        # AWS takes the first usable address, Azure the second (L.AWS_AZURE_VPN_URL).
        assert t.aws.ip == t.inside.network_address + 1 and t.azure.ip == t.inside.network_address + 2
        assert (t.aws.role, t.aws.asn) == ("aws", 64512)
        assert (t.azure.role, t.azure.asn) == ("azure-vpn", 65515)
        assert any(t.inside.subnet_of(r) for r in L.AZURE_APIPA_RANGES)
        assert t.inside not in L.AWS_VPN_RESERVED_INSIDE_CIDRS
        assert t.key.source == "generated" and t.key.id == f"{t.id}-psk"
        assert (t.key.min_len, t.key.max_len) == (8, 64)
        assert t.dpd_timeout_s == 40
        assert (t.timers.keepalive_s, t.timers.hold_s) == (10, 30)
    assert backup.gateway_sku == "VpnGw1AZ" and backup.azure_asn == 65515 and backup.aws_asn == 64512
    assert not backup.timers_verified and "unverified" in backup.timers_source
    assert (backup.max_prefixes_to_aws, backup.max_prefixes_to_azure) == (1000, 4000)


def test_without_the_key_there_is_no_backup() -> None:
    plan = _plan(lambda c: c.pop("bridge:vpnBackup"))
    assert plan.backup is None
    assert not [b for b in plan.budgets if b.name.startswith("vpn-")]


def test_an_empty_key_takes_the_documented_defaults() -> None:
    spec, _ = parse_config("dev", _config(_backup()))
    assert isinstance(spec, BridgeSpec)
    assert spec.vpn_backup == VpnBackupSpec()
    assert (spec.vpn_backup.gateway_sku, str(spec.vpn_backup.inside_cidr_pool), spec.vpn_backup.dpd_timeout_seconds) \
        == ("VpnGw1AZ", "169.254.21.0/24", 40)


def _grow(cfg: dict[str, Any]) -> None:
    cfg["bridge:aws"]["vpcs"].append({"name": "more", "vpcId": "vpc-0ffffffffffffffff", "cidr": "10.11.0.0/16",
                                      "subnetIds": ["subnet-0ffffffffffffffff"],
                                      "routeTableIds": ["rtb-0ffffffffffffffff"]})
    cfg["bridge:exchange"]["routers"].reverse()
    cfg["bridge:azure"]["extraPrefixes"] = ["10.30.0.0/16"]


def test_tunnel_addresses_are_fixed_per_tunnel() -> None:
    before, after = _plan().backup, _plan(_grow).backup
    assert before is not None and after is not None
    assert [(t.id, t.inside, t.aws.address, t.azure.address) for t in before.tunnels] == \
        [(t.id, t.inside, t.aws.address, t.azure.address) for t in after.tunnels]
    # The slot is the tunnel's: another pool moves every tunnel to the same slot of it.
    moved = _plan(_backup(insideCidrPool="169.254.22.16/28")).backup
    assert moved is not None
    assert [str(t.inside) for t in moved.tunnels] == ["169.254.22.16/30", "169.254.22.20/30", "169.254.22.24/30",
                                                      "169.254.22.28/30"]
    assert [slot for *_, slot in TUNNEL_SLOTS] == [0, 1, 2, 3]


# --- preference: identical prefixes, never a more specific one over the VPN -------------------------


def test_the_vpn_advertises_exactly_what_the_private_path_does() -> None:
    plan = _plan(_grow)
    assert plan.backup is not None
    # AWS -> Azure: the Direct Connect gateway's allowed prefixes; Azure -> AWS: what ExpressRoute carries.
    assert plan.backup.to_azure == plan.aws_prefixes
    assert plan.backup.to_aws == plan.azure_prefixes
    assert more_specific_over_vpn(plan.aws_prefixes, plan.backup.to_azure) == []


def test_a_more_specific_prefix_over_the_vpn_is_found() -> None:
    private = (IP("10.10.0.0/16"),)
    assert more_specific_over_vpn(private, (IP("10.10.1.0/24"),)) == [(IP("10.10.1.0/24"), IP("10.10.0.0/16"))]
    assert more_specific_over_vpn(private, (IP("10.99.0.0/16"),)) == [(IP("10.99.0.0/16"), IP("10.99.0.0/16"))]
    assert more_specific_over_vpn(private, private) == []


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("project")
    for name in ["Pulumi.yaml", "__main__.py", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))]:
        shutil.copy(ROOT / name, tmp / name)
    return tmp


@pytest.fixture(scope="module")
def dev(project: Path) -> dict[str, Any]:
    return offline_plan(project, "dev")


def _of(plan: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"].endswith(suffix)]


def _named(plan: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["name"] == name)


def test_the_transit_gateway_advertises_the_allowed_prefixes_and_keeps_the_vpn_as_standby(
        dev: dict[str, Any]) -> None:
    allowed = _named(dev, "directconnect-tgw-assoc")["inputs"]["allowedPrefixes"]
    table = _named(dev, "backup-rt-vpn")
    routes = [r for r in _of(dev, "ec2transitgateway/route:Route") if table["urn"] in r["dependsOn"]]
    assert sorted(r["inputs"]["destinationCidrBlock"] for r in routes) == sorted(allowed)
    vpc_attachment = _named(dev, "backbone-saas")
    assert {r["inputs"]["transitGatewayAttachmentId"] for r in routes} == {f"{vpc_attachment['name']}-id"} or \
        all(vpc_attachment["urn"] in r["dependsOn"] for r in routes)
    for n in (1, 2):
        vpn = _named(dev, f"backup-vpn{n}")
        assoc = _named(dev, f"backup-vpn{n}-assoc")
        assert vpn["urn"] in assoc["dependsOn"] and table["urn"] in assoc["dependsOn"]
        # The Azure prefixes propagate into the VPCs' table next to the Direct Connect gateway's, which the transit
        # gateway prefers for the same prefix (route evaluation order).
        prop = _named(dev, f"backup-vpn{n}-to-saas")["inputs"]
        assert prop["transitGatewayRouteTableId"] == _named(dev, "directconnect-dx-to-saas")["inputs"][
            "transitGatewayRouteTableId"]
        assert prop["transitGatewayAttachmentId"].startswith("tgw-attach-")


# --- the resources on both clouds ---------------------------------------------------------------


def test_azure_vpn_gateway_coexists_with_the_expressroute_gateway(dev: dict[str, Any]) -> None:
    gw = _named(dev, "backup-gateway")
    i = gw["inputs"]
    assert (i["gatewayType"], i["vpnType"], i["activeActive"], i["enableBgp"]) == ("Vpn", "RouteBased", True, True)
    assert i["sku"] == {"name": "VpnGw1AZ", "tier": "VpnGw1AZ"} and i["vpnGatewayGeneration"] == "Generation1"
    assert i["bgpSettings"]["asn"] == 65515
    subnets = {c["subnet"]["id"] for c in i["ipConfigurations"]}
    assert subnets == {_named(dev, "expressroute-gateway")["inputs"]["ipConfigurations"][0]["subnet"]["id"]}
    assert all(s.endswith("/subnets/GatewaySubnet") for s in subnets)
    # One custom APIPA address per tunnel, on its instance's IP configuration (named in the id Azure gives it).
    by_config = {p["ipconfigurationId"].rsplit("/", 1)[-1]: p["customBgpIpAddresses"]
                 for p in i["bgpSettings"]["bgpPeeringAddresses"]}
    assert by_config == {"vpn-instance-0": ["169.254.21.2", "169.254.21.6"],
                         "vpn-instance-1": ["169.254.21.10", "169.254.21.14"]}
    assert {c["name"] for c in i["ipConfigurations"]} == set(by_config)
    assert all(p["ipconfigurationId"].startswith(gw["outputs"]["id"] if "outputs" in gw else "/subscriptions/")
               for p in i["bgpSettings"]["bgpPeeringAddresses"])
    # After the ExpressRoute gateway, in the same GatewaySubnet.
    assert _named(dev, "expressroute-gateway")["urn"] in gw["dependsOn"]
    pips = [r for r in _of(dev, "network:PublicIPAddress") if r["name"].startswith("backup-")]
    assert len(pips) == 2
    for p in pips:
        assert p["inputs"]["sku"] == {"name": "Standard", "tier": "Regional"}
        assert p["inputs"]["zones"] == ["1", "2", "3"] and p["inputs"]["publicIPAllocationMethod"] == "Static"
    assert gw["protect"]


def test_aws_customer_gateways_and_vpn_connections(dev: dict[str, Any]) -> None:
    pips = {r["name"]: r for r in _of(dev, "network:PublicIPAddress")}
    for n in (1, 2):
        cgw = _named(dev, f"backup-cgw-{n - 1}")["inputs"]
        assert (cgw["bgpAsn"], cgw["type"]) == ("65515", "ipsec.1")
        assert re.fullmatch(r"203\.0\.113\.\d+", cgw["ipAddress"])
        assert pips[f"backup-ip-{n - 1}"]["urn"] in _named(dev, f"backup-cgw-{n - 1}")["dependsOn"]
        vpn = _named(dev, f"backup-vpn{n}")
        i = vpn["inputs"]
        assert i["transitGatewayId"] == _named(dev, "backbone-tgw")["inputs"].get("id", i["transitGatewayId"])
        assert i["transitGatewayId"].startswith("tgw-") and i["staticRoutesOnly"] is False and i["type"] == "ipsec.1"
        assert (i["tunnel1InsideCidr"], i["tunnel2InsideCidr"]) == {
            1: ("169.254.21.0/30", "169.254.21.4/30"), 2: ("169.254.21.8/30", "169.254.21.12/30")}[n]
        assert i["tunnel1PresharedKey"].startswith("[secret") and i["tunnel2PresharedKey"].startswith("[secret")
        assert i["tunnel1DpdTimeoutSeconds"] == i["tunnel2DpdTimeoutSeconds"] == 40
        assert i["tunnel1IkeVersions"] == i["tunnel2IkeVersions"] == ["ikev2"]
        secret = set(vpn["options"]["additionalSecretOutputs"])
        assert {"tunnel1PresharedKey", "tunnel2PresharedKey", "customerGatewayConfiguration"} <= secret
        assert vpn["protect"]


def test_azure_local_gateways_and_ipsec_connections_pair_each_aws_tunnel(dev: dict[str, Any]) -> None:
    outputs = dev["outputs"]["vpnBackup"]
    outside = {t["id"]: t["aws"]["outsideIp"] for t in outputs["tunnels"]}
    assert len(set(outside.values())) == 4
    for tid, aws_addr, pair in (("vpn1-t1", "169.254.21.1", ("169.254.21.2", "169.254.21.10")),
                                ("vpn1-t2", "169.254.21.5", ("169.254.21.6", "169.254.21.14")),
                                ("vpn2-t1", "169.254.21.9", ("169.254.21.2", "169.254.21.10")),
                                ("vpn2-t2", "169.254.21.13", ("169.254.21.6", "169.254.21.14"))):
        lng = _named(dev, f"backup-lng-{tid}")["inputs"]
        assert lng["gatewayIpAddress"] == outside[tid]
        assert lng["bgpSettings"] == {"asn": 64512, "bgpPeeringAddress": aws_addr}
        assert "localNetworkAddressSpace" not in lng  # BGP only
        conn = _named(dev, f"backup-conn-{tid}")
        i = conn["inputs"]
        assert (i["connectionType"], i["connectionProtocol"], i["enableBgp"]) == ("IPsec", "IKEv2", True)
        assert i["sharedKey"].startswith("[secret") and "sharedKey" in conn["options"]["additionalSecretOutputs"]
        assert i["dpdTimeoutSeconds"] == 40
        assert i["localNetworkGateway2"]["id"].endswith(f"/localNetworkGateways/lng-aws-dev-{tid}")
        assert [(a["ipConfigurationId"].rsplit("/", 1)[-1], a["customBgpIpAddress"])
                for a in i["gatewayCustomBgpIpAddresses"]] == [("vpn-instance-0", pair[0]), ("vpn-instance-1", pair[1])]
        assert _named(dev, "backup-gateway")["urn"] in conn["dependsOn"]


def test_the_same_generated_key_on_both_ends_and_never_in_the_outputs(dev: dict[str, Any]) -> None:
    psks = [r for r in _of(dev, "randomPassword:RandomPassword") if r["name"].startswith("backup-psk-")]
    assert sorted(r["name"] for r in psks) == [f"backup-psk-{t}" for t in ("vpn1-t1", "vpn1-t2", "vpn2-t1", "vpn2-t2")]
    for p in psks:
        assert p["inputs"]["length"] == 32 and p["inputs"]["special"] is False
        tid = p["name"].removeprefix("backup-psk-")
        n = 1 if tid.startswith("vpn1") else 2
        # Both the AWS connection and the Azure connection of the tunnel consume it.
        assert p["urn"] in _named(dev, f"backup-vpn{n}")["dependsOn"]
        assert p["urn"] in _named(dev, f"backup-conn-{tid}")["dependsOn"]
    text = yaml.safe_dump(dev["outputs"]["vpnBackup"])
    assert "secret" not in text and "offline" not in text and "Key" not in text


def test_generated_keys_meet_both_clouds_rules() -> None:
    aws_rule = re.compile(r"(?!0)[A-Za-z0-9._]{8,64}")
    assert no_leading_zero("0abcdefgh1234567") == "kabcdefgh1234567"
    assert no_leading_zero("abcdefgh") == "abcdefgh"
    for key in ("0" * 32, "0A1b2C3d" * 4, "Zz09" * 8):
        fixed = no_leading_zero(key)
        assert len(fixed) == len(key) == 32 and aws_rule.fullmatch(fixed) and fixed.isalnum()
    assert not aws_rule.fullmatch("0" * 32)  # the rule itself says no


def test_stack_outputs_carry_the_non_secret_facts(dev: dict[str, Any]) -> None:
    out = dev["outputs"]["vpnBackup"]
    assert out["gatewayName"] == "vpngw-dev" and out["gatewaySku"] == "VpnGw1AZ"
    assert len(out["publicIps"]) == 2 and len(out["vpnConnectionIds"]) == 2
    assert [t["insideCidr"] for t in out["tunnels"]] == ["169.254.21.0/30", "169.254.21.4/30", "169.254.21.8/30",
                                                         "169.254.21.12/30"]
    assert out["tunnels"][0]["azure"]["publicIp"] == out["publicIps"][0]


def test_no_backup_no_backup_resources(project: Path) -> None:
    cfg = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    cfg["config"].pop("bridge:vpnBackup")
    (project / "Pulumi.nobackup.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    plan = offline_plan(project, "nobackup")
    assert not [r for r in plan["resources"] if r["name"].startswith("backup")]
    assert "vpnBackup" not in plan["outputs"]


# --- validation: each rule says no, and yes ----------------------------------------------------------


@pytest.mark.parametrize(("mutate", "expected"), [
    pytest.param(_backup(insideCidrPool="169.254.30.0/24"), [
        'error: bridge:vpnBackup.insideCidrPool: "169.254.30.0/24" is outside 169.254.21.0-169.254.22.255, the only '
        "range Azure accepts for custom BGP addresses (fix: use a pool within 169.254.21.0/24 or 169.254.22.0/24, "
        "e.g. 169.254.21.0/24)"], id="pool-outside-azure-apipa"),
    pytest.param(_backup(insideCidrPool="169.254.22.0/24"), [], id="pool-second-apipa-block"),
    pytest.param(_backup(insideCidrPool="169.254.0.0/28"), [
        'error: bridge:vpnBackup.insideCidrPool: "169.254.0.0/28" is outside 169.254.21.0-169.254.22.255, the only '
        "range Azure accepts for custom BGP addresses (fix: use a pool within 169.254.21.0/24 or 169.254.22.0/24, "
        "e.g. 169.254.21.0/24)",
        'error: bridge:vpnBackup.insideCidrPool: "169.254.0.0/28" gives tunnel vpn1-t1 169.254.0.0/30, a /30 AWS '
        "reserves (fix: use a pool within 169.254.21.0-169.254.22.255)"], id="pool-aws-reserved"),
    pytest.param(_backup(insideCidrPool="169.254.169.240/28"), [
        'error: bridge:vpnBackup.insideCidrPool: "169.254.169.240/28" is outside 169.254.21.0-169.254.22.255, the '
        "only range Azure accepts for custom BGP addresses (fix: use a pool within 169.254.21.0/24 or "
        "169.254.22.0/24, e.g. 169.254.21.0/24)",
        'error: bridge:vpnBackup.insideCidrPool: "169.254.169.240/28" gives tunnel vpn2-t2 169.254.169.252/30, a /30 '
        "AWS reserves (fix: use a pool within 169.254.21.0-169.254.22.255)"], id="pool-aws-reserved-last-slot"),
    pytest.param(_backup(insideCidrPool="169.254.21.240/28"), [], id="pool-smallest"),
    pytest.param(_backup(insideCidrPool="169.254.21.248/29"), [
        'error: bridge:vpnBackup.insideCidrPool: "169.254.21.248/29" has prefix length /29; /24 to /28 is required '
        "(fix: use a network of /24 to /28)"], id="pool-too-small-for-four-tunnels"),
    pytest.param(_backup(insideCidrPool="169.254.21.0/23"), [
        'error: bridge:vpnBackup.insideCidrPool: "169.254.21.0/23" has host bits set (fix: use the network address: '
        "169.254.20.0/23)"], id="pool-host-bits"),
    pytest.param(lambda c: c["bridge:addressing"].update(awsLinkPool="169.254.21.0/24"), [
        'error: bridge:vpnBackup.insideCidrPool: "169.254.21.0/24" overlaps bridge:addressing.awsLinkPool '
        "(169.254.21.0/24) (fix: use non-overlapping pools)"], id="pool-overlaps-transit-vif-pool"),
    pytest.param(_backup(dpdTimeoutSeconds=29), [
        "error: bridge:vpnBackup.dpdTimeoutSeconds: 29 is outside 30-3600 (fix: use a value from 30 to 3600)"],
        id="dpd-below-aws-minimum"),
    pytest.param(_backup(dpdTimeoutSeconds=3601), [
        "error: bridge:vpnBackup.dpdTimeoutSeconds: 3601 is outside 30-3600 (fix: use a value from 30 to 3600)"],
        id="dpd-above-azure-maximum"),
    pytest.param(_backup(dpdTimeoutSeconds=30), [], id="dpd-at-aws-minimum"),
    pytest.param(_backup(gatewaySku="VpnGw1"), [
        'error: bridge:vpnBackup.gatewaySku: "VpnGw1" is not one of VpnGw1AZ, VpnGw2AZ, VpnGw3AZ, VpnGw4AZ, VpnGw5AZ '
        "(fix: did you mean VpnGw1AZ? use one of VpnGw1AZ, VpnGw2AZ, VpnGw3AZ, VpnGw4AZ, VpnGw5AZ)"],
        id="sku-not-zone-redundant"),
    pytest.param(_backup(gatewaySku="VpnGw5AZ"), [], id="sku-largest"),
    pytest.param(_backup(azureAsn=65000), [
        "error: bridge:vpnBackup.azureAsn: 65000 is not a known key (fix: known keys here: gatewaySku, "
        "insideCidrPool, dpdTimeoutSeconds)"], id="no-azure-asn-key-coexistence-keeps-65515"),
    pytest.param(lambda c: c["bridge:aws"].update(transitGatewayAsn=65515), [
        "error: bridge:aws.transitGatewayAsn: 65515 is reserved by Azure (8074, 8075, 12076, 65515-65520) (fix: pick "
        "another private ASN, e.g. 64512-65514)"], id="aws-asn-equals-vpn-gateway-asn"),
])
def test_backup_rule(mutate: Mutation, expected: list[str]) -> None:
    lines = [line for line in _lines(mutate) if "single point of failure" not in line]
    assert lines == expected


def _project(where: Path, mutate: Mutation) -> Path:
    """A project whose dev stack is dev changed by ``mutate``."""
    where.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, where / name)
    (where / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": _config(mutate)}, sort_keys=False))
    return where


def _cloud_wan(cfg: dict[str, Any]) -> None:
    cfg["bridge:aws"]["backbone"] = "cloud-wan"
    del cfg["bridge:aws"]["transitGatewayAsn"]
    cfg["bridge:aws"]["coreNetwork"] = {"asnRanges": ["64600-64699"], "edgeLocations": ["us-east-1"]}


def test_on_cloud_wan_the_backup_attaches_to_the_core_network_with_a_longer_as_path(tmp_path: Path) -> None:
    """Cloud WAN compares AS-path length before the attachment type: the core network's policy prepends the VPN
    gateway's ASN on routes from the VPN attachments until the private path's is the shorter."""
    assert [line for line in _about_backup(_lines(_cloud_wan)) if "single point of failure" not in line] == []
    plan = _plan(_cloud_wan)
    assert plan.backup is not None and plan.backup.backbone == "cloud-wan"
    assert plan.backup.aws_asn == 64600 and {t.aws.asn for t in plan.backup.tunnels} == {64600}
    # Longer than the private path as the twin states it: DX gateway, FCR, Microsoft edge, ExpressRoute gateway.
    private = [plan.dxgw_asn, plan.fcr_asn, L.MICROSOFT_EDGE_ASN, L.EXPRESSROUTE_GATEWAY_ASN]
    assert plan.backup.prepend == (65515,) * 4 and 1 + len(plan.backup.prepend) > len(private)
    out = offline_plan(_project(tmp_path / "wan", _cloud_wan), "dev")
    res = out["resources"]
    policy = json.loads(next(r for r in res if r["type"].endswith("CoreNetworkPolicyAttachment"))["inputs"][
        "policyDocument"])
    assert policy["version"] == "2025.11"
    assert "backup" in {s["name"] for s in policy["segments"]}
    assert {"action": "share", "mode": "attachment-route", "segment": "backup", "share-with": ["saas"]} in policy[
        "segment-actions"]
    vpn_rule = next(r for r in policy["attachment-policies"] if r["conditions"][0]["value"] == "site-to-site-vpn")
    assert vpn_rule["action"] == {"association-method": "constant", "segment": "backup"}
    (label_rule,) = policy["attachment-routing-policy-rules"]
    (routing,) = policy["routing-policies"]
    assert label_rule["action"]["associate-routing-policies"] == [routing["routing-policy-name"]]
    assert routing["routing-policy-direction"] == "inbound"
    action = routing["routing-policy-rules"][0]["rule-definition"]["action"]
    assert action == {"type": "prepend-asn-list", "value": [65515] * 4}
    # The VPN connections have no gateway; a site-to-site VPN attachment each carries the label.
    conns = [r for r in res if r["type"] == "aws:ec2/vpnConnection:VpnConnection"]
    assert len(conns) == 2 and not any(c["inputs"].get("transitGatewayId") for c in conns)
    attachments = [r for r in res if r["type"] == "aws:networkmanager/siteToSiteVpnAttachment:SiteToSiteVpnAttachment"]
    assert len(attachments) == 2
    assert {a["inputs"]["routingPolicyLabel"] for a in attachments} == {label_rule["conditions"][0]["value"]}
    assert not [r for r in res if r["type"].startswith("aws:ec2transitgateway")]
    # Without the backup the policy stays what it was.
    def plain_wan(cfg: dict[str, Any]) -> None:
        _cloud_wan(cfg)
        cfg.pop("bridge:vpnBackup")

    without = offline_plan(_project(tmp_path / "plain", plain_wan), "dev")
    plain = json.loads(next(r for r in without["resources"] if r["type"].endswith("CoreNetworkPolicyAttachment"))[
        "inputs"]["policyDocument"])
    assert plain["version"] == "2021.12" and "routing-policies" not in plain


def test_a_core_network_range_holding_the_vpn_gateways_asn_is_refused() -> None:
    def wide(cfg: dict[str, Any]) -> None:
        _cloud_wan(cfg)
        cfg["bridge:aws"]["coreNetwork"]["asnRanges"] = ["65000-65534"]
    # The prepended ASN must lie outside the core network's ranges: the reserved-ASN rule keeps it out.
    assert [line for line in _lines(wide) if "asnRanges" in line] == [
        "error: bridge:aws.coreNetwork.asnRanges[0]: \"65000-65534\" includes ASNs Azure reserves (65515-65520) "
        "(fix: end the range below 65515)"]


def _vpcs(n: int) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        cfg["bridge:aws"]["vpcs"] = [
            {"name": f"v{i}", "vpcId": f"vpc-{i:017x}", "cidr": f"10.{i // 256}.{i % 256}.0/24",
             "subnetIds": [f"subnet-{i:017x}"], "routeTableIds": [f"rtb-{i:017x}"]} for i in range(n)]
        cfg["bridge:azure"]["hubCidr"] = "172.16.0.0/22"
    return mutate


def test_vpn_prefix_budgets() -> None:
    over = "error: bridge:aws.vpcs: 4001 prefixes would be advertised over the backup VPN; an Azure VPN gateway " \
           "accepts at most 4000 from one BGP peer and drops the session above (fix: summarise the VPCs, or remove " \
           "bridge:vpnBackup)"
    assert over in _lines(_vpcs(4001))
    assert not [line for line in _lines(_vpcs(4000)) if "advertised over the backup VPN" in line]
    extra = [f"172.{16 + i // 256}.{i % 256}.0/24" for i in range(4, 1004)]

    def spokes(n: int) -> Mutation:
        return lambda c: c["bridge:azure"].update(hubCidr="172.16.0.0/22", extraPrefixes=extra[:n])
    assert "error: bridge:azure.extraPrefixes: 1001 prefixes would be advertised over the backup VPN; AWS accepts at " \
           "most 1000 from a customer gateway on one VPN connection (fix: summarise the spokes, or remove " \
           "bridge:vpnBackup)" in _lines(spokes(1000))
    assert not [line for line in _lines(spokes(999)) if "advertised over the backup VPN" in line]


@pytest.mark.parametrize("sku", L.GATEWAY_SKUS)
def test_every_gateway_subnet_holds_both_gateways(sku: str) -> None:
    # Coexistence needs /27 or larger (L.COEXIST_URL); the hub always reserves its first /26 for it.
    pair = hub_subnets(IP("10.20.0.0/22"), sku, 24)
    assert pair is not None and pair[0].prefixlen <= L.COEXIST_GATEWAY_SUBNET_MAX_PREFIXLEN


# --- the diff -------------------------------------------------------------------------------------


def _risks(old: dict[str, Any], new: dict[str, Any]) -> list[d.Risk]:
    changes = d.resource_diff(old, new)
    return d.resource_risks("dev", changes, old_plan=old, new_plan=new)


def test_a_new_inside_cidr_replaces_the_vpn_connection(tmp_path: Path, dev: dict[str, Any]) -> None:
    for name in ["Pulumi.yaml", "__main__.py"]:
        shutil.copy(ROOT / name, tmp_path / name)
    cfg = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    cfg["config"]["bridge:vpnBackup"]["insideCidrPool"] = "169.254.22.0/24"
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    renum = offline_plan(tmp_path, "dev")
    risks = _risks(dev, renum)
    replaced = [r for r in risks if r.kind == "protected-replace" and "backup-vpn" in r.subject]
    assert len(replaced) == 2
    assert "new outside addresses" in replaced[0].message and "ForceNew" in (replaced[0].source or "")
    # The Azure side follows in the same run: its BGP addresses change in place, and the diff says so.
    assert any(r.kind == "disruptive-update" and "backup-gateway" in r.subject and "bgpSettings" in r.message
               for r in risks)
    # Says no: the same plan is no risk.
    assert not [r for r in _risks(dev, dev) if "backup" in r.subject]


def _res(typ: str, name: str, inputs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:s::bridge::{typ}::{name}", "type": typ, "name": name, "parent": None,
            "protect": kw.get("protect", False), "custom": True, "provider": None, "inputs": inputs,
            "dependsOn": kw.get("deps", []), "options": {}}


@pytest.mark.parametrize(("typ", "path", "old", "new", "needle"), [
    ("aws:ec2/vpnConnection:VpnConnection", "tunnel1PresharedKey", "[secret:aa]", "[secret:bb]",
     "stays down until the Azure connection has the same key"),
    ("aws:ec2/vpnConnection:VpnConnection", "customerGatewayId", "cgw-1", "cgw-2", "both tunnels reset"),
    ("azure-native:network:VirtualNetworkGatewayConnection", "sharedKey", "[secret:aa]", "[secret:bb]",
     "until the AWS tunnel has the same key"),
    ("azure-native:network:LocalNetworkGateway", "gatewayIpAddress", "198.51.100.1", "198.51.100.9",
     "both sides must be updated"),
])
def test_key_and_tunnel_changes_are_flagged_with_their_cost(typ: str, path: str, old: Any, new: Any,
                                                            needle: str) -> None:
    assert disruptive(typ, path) is not None
    before = _res(typ, "r", {path: old, "tags": {"a": "1"}})
    change = d.compare_resource(before, _res(typ, "r", {path: new, "tags": {"a": "1"}}))
    risks = d.resource_risks("s", [change])
    assert [r.kind for r in risks] == ["disruptive-update"] and needle in risks[0].message
    # Says no: a tag change is not a risk.
    tags = d.compare_resource(before, _res(typ, "r", {path: old, "tags": {"a": "2"}}))
    assert d.resource_risks("s", [tags]) == []


@pytest.mark.parametrize(("typ", "path", "kind"), [
    ("aws:ec2/vpnConnection:VpnConnection", "tunnel1InsideCidr", "replace"),
    ("aws:ec2/vpnConnection:VpnConnection", "tunnel2InsideCidr", "replace"),
    ("aws:ec2/vpnConnection:VpnConnection", "tunnel1PresharedKey", None),  # in place (ModifyVpnTunnelOptions)
    ("aws:ec2/vpnConnection:VpnConnection", "customerGatewayId", None),  # in place (ModifyVpnConnection)
    ("aws:ec2/customerGateway:CustomerGateway", "ipAddress", "replace"),
    ("aws:ec2/customerGateway:CustomerGateway", "tags", None),
    ("azure-native:network:LocalNetworkGateway", "localNetworkGatewayName", "replace"),
    ("azure-native:network:LocalNetworkGateway", "gatewayIpAddress", None),
    ("azure-native:network:VirtualNetworkGateway", "vpnGatewayGeneration", "refused"),
    ("azure-native:network:VirtualNetworkGateway", "sku.name", None),  # a resize within the generation
])
def test_replacement_rules_of_the_backup(typ: str, path: str, kind: str | None) -> None:
    hit = rule_for(typ, path)
    assert (hit[1].kind if hit else None) == kind


def test_a_regenerated_pre_shared_key_is_named_as_such() -> None:
    psk = _res("random:index/randomPassword:RandomPassword", "backup-psk-vpn1-t1", {"length": 32})
    conn = _res("aws:ec2/vpnConnection:VpnConnection", "backup-vpn1", {"tunnel1PresharedKey": "[secret:aa]"},
                deps=[psk["urn"]])
    change = d.compare_resource(psk, _res("random:index/randomPassword:RandomPassword", "backup-psk-vpn1-t1",
                                          {"length": 40}))
    risks = d.key_regeneration_risks("s", [change], {"resources": [psk, conn]})
    assert [r.message.split(" is ")[0] for r in risks] == ["IPsec pre-shared key backup-psk-vpn1-t1"]
    # Says no: a password no key consumes.
    assert d.key_regeneration_risks("s", [change], {"resources": [psk]}) == []


def test_the_backup_is_bridge_only_for_customers(monkeypatch: pytest.MonkeyPatch) -> None:
    with_backup, _ = parse_config("dev", _config(_backup(insideCidrPool="169.254.22.0/24", dpdTimeoutSeconds=45)))
    without, _ = parse_config("dev", _config(lambda c: c.pop("bridge:vpnBackup")))
    assert isinstance(with_backup, BridgeSpec) and isinstance(without, BridgeSpec)
    assert offline.customer_view(with_backup) == offline.customer_view(without)
    # Says no: were the backup not bridge-only, the customers' view would change with it.
    monkeypatch.setattr(offline, "BRIDGE_ONLY", tuple(p for p in offline.BRIDGE_ONLY if p != "vpn_backup"))
    assert offline.customer_view(with_backup) != offline.customer_view(without)


# --- the diagram ----------------------------------------------------------------------------------


def test_the_diagram_draws_the_backup_dashed() -> None:
    spec, _ = parse_config("dev", _config())
    assert isinstance(spec, BridgeSpec)
    dot = diagram.bridge_dot(spec, plan_bridge(spec))
    edges = [line for line in dot.splitlines() if line.strip().startswith("backbone -> vpngw")]
    assert len(edges) == 2 and all('style="dashed"' in e and "IPsec backup" in e for e in edges)
    assert "vpn1-t1 169.254.21.0/30 AWS .1 | Azure .2" in dot and "VPN gateway (backup)" in dot
    spec2, _ = parse_config("dev", _config(lambda c: c.pop("bridge:vpnBackup")))
    assert isinstance(spec2, BridgeSpec)
    assert "IPsec backup" not in diagram.bridge_dot(spec2, plan_bridge(spec2))


# --- the policy pack ------------------------------------------------------------------------------


def _check(typ: str, props: dict[str, Any], secret_outputs: tuple[str, ...], plaintext: bool = True) -> list[str]:
    opts = PolicyResourceOptions(protect=True, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=list(secret_outputs))
    args = ResourceValidationArgs(typ, unknown_checking_proxy(props), f"urn:pulumi:t::bridge::{typ}::n", "n", opts,
                                  None, config={"plaintextVisible": plaintext})
    found: list[str] = []
    rules.vpn_keys_secret.validate(args, lambda msg, urn=None: found.append(msg))
    return found


def test_policy_requires_secret_pre_shared_keys() -> None:
    vpn = "aws:ec2/vpnConnection:VpnConnection"
    keys = {"tunnel1PresharedKey": "[secret]", "tunnel2PresharedKey": "[secret]"}
    every = ("tunnel1PresharedKey", "tunnel2PresharedKey", "customerGatewayConfiguration")
    assert _check(vpn, keys, every) == []
    assert _check(vpn, keys, ("tunnel1PresharedKey", "tunnel2PresharedKey")) == [
        "n: customerGatewayConfiguration holds the pre-shared keys: list it in additional_secret_outputs"]
    assert _check(vpn, {**keys, "tunnel2PresharedKey": "hunter2hunter2"}, every) == [
        "n: tunnel2PresharedKey is passed in plain text; pass it as a secret (pulumi.Output.secret)"]
    assert _check(vpn, {"tunnel1PresharedKey": "[secret]"}, every)[0].startswith("n: tunnel2PresharedKey is not set")
    conn = "azure-native:network:VirtualNetworkGatewayConnection"
    assert _check(conn, {"connectionType": "IPsec", "sharedKey": "[secret]"}, ("sharedKey",)) == []
    assert _check(conn, {"connectionType": "IPsec", "sharedKey": "[secret]"}, ()) == [
        "n: sharedKey must be a secret: list it in additional_secret_outputs so the pre-shared key is encrypted in "
        "the state and never shown in outputs"]
    assert _check(conn, {"connectionType": "ExpressRoute"}, ()) == []  # no key on the circuit's connection


def test_dev_passes_the_pack_with_the_backup(project: Path, dev: dict[str, Any]) -> None:
    result = check_resources("dev", dev["resources"], policy_config(project, "dev"))
    assert not result.violations, result.violations
    # Says no: the same plan with one key left out of the secret outputs.
    broken = copy.deepcopy(dev["resources"])
    vpn = next(r for r in broken if r["name"] == "backup-vpn1")
    vpn["options"]["additionalSecretOutputs"] = ["customerGatewayConfiguration"]
    bad = check_resources("dev", broken, policy_config(project, "dev"))
    assert any("tunnel1PresharedKey must be a secret" in str(v) for v in bad.violations)


def test_the_plan_text_lists_the_tunnels() -> None:
    from bridgectl.render import bridge_plan_text

    text = bridge_plan_text(_plan())
    assert "IPsec backup (bridge:vpnBackup): Azure VPN gateway VpnGw1AZ" in text
    assert re.search(r"vpn2-t2 +instance 1 +169\.254\.21\.12/30 +64512 169\.254\.21\.13 +65515 169\.254\.21\.14 +"
                     r"10/30s \(unverified\) +40s +generated +1/1000", text)
    assert "IPsec backup" not in bridge_plan_text(_plan(lambda c: c.pop("bridge:vpnBackup")))
