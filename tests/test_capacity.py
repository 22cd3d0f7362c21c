"""Room the customers of one bridge share, checked across all of them before any plan runs.

Each rule has a case where it says yes and one where it says no: the hub's endpoint subnet (its
addresses less the five Azure keeps), private endpoints per VNet (1,000), interface endpoints per
SaaS VPC (bridge:aws.interfaceEndpointsPerVpcQuota, 50 unless AWS raised it).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks import limits as L
from stacks import loader
from stacks.loader import load_stack
from stacks.problems import ConfigError


def _azure(i: int, browser: bool = False) -> dict[str, Any]:
    if browser:
        return {"name": f"dbx{i}", "platform": "databricks", "cloud": "azure",
                "service": f"/subscriptions/{uuid.UUID(int=i)}/resourceGroups/rg/providers/Microsoft.Databricks/"
                           f"workspaces/ws{i}",
                "hostnames": [f"adb-{1000000000000000 + i}.7.privatelink.azuredatabricks.net"],
                "browserAuthentication": True}
    return {"name": f"sf{i}", "platform": "snowflake", "cloud": "azure",
            "service": f"sf-pvlinksvc-eastus2.{uuid.UUID(int=i)}.eastus2.azure.privatelinkservice",
            "hostnames": [f"acct{i}-xy{i:05d}.east-us-2.privatelink.snowflakecomputing.com"]}


def _aws(i: int) -> dict[str, Any]:
    return {"name": f"sfa{i}", "platform": "snowflake", "cloud": "aws",
            "service": f"com.amazonaws.vpce.us-east-1.vpce-svc-{i:017x}",
            "hostnames": [f"acct{i}-ab{i:05d}.us-east-1.privatelink.snowflakecomputing.com"]}


def _customer(project: Path, cid: str, endpoints: list[dict[str, Any]]) -> None:
    config = {"bridge:customer": {"id": cid, "bridgeStack": "dev", "endpoints": endpoints}}
    (project / f"Pulumi.dev.{cid}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))


def _bridge(project: Path, **azure: Any) -> None:
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"]["bridge:azure"].update(azure)
    # Every name gets its own Route 53 zone: lift that quota so only the rule under test speaks.
    data["config"]["bridge:aws"]["route53HostedZoneQuota"] = 100_000
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _errors(project: Path, stack: str) -> list[str]:
    try:
        load_stack(project, stack)
    except ConfigError as exc:
        return [p.line(exc.source) for p in exc.problems if p.severity == "error"]
    return []


def test_subnet_capacity_is_its_addresses_less_five() -> None:
    import ipaddress

    assert L.subnet_endpoint_capacity(ipaddress.IPv4Network("10.0.0.0/24")) == 251
    assert L.subnet_endpoint_capacity(ipaddress.IPv4Network("10.0.0.0/28")) == 11
    assert L.subnet_endpoint_capacity(ipaddress.IPv4Network("10.0.0.0/30")) == 0


def test_endpoint_subnet_holds_251_on_a_24(project: Path) -> None:
    _bridge(project)  # dev's endpoint subnet is 10.20.1.0/24; dev.acme has 2 Azure endpoints
    _customer(project, "big", [_azure(i) for i in range(249)])
    assert _errors(project, "dev.big") == []
    _customer(project, "big", [_azure(i) for i in range(250)])
    errors = _errors(project, "dev.big")
    assert len(errors) == 1
    assert errors[0].startswith('error: Pulumi.dev.big.yaml: bridge:customer.endpoints: "252 Azure private endpoints" '
                                "do not fit the endpoint subnet 10.20.1.0/24 of bridge dev: it holds 251 (256 "
                                "addresses less the 5 Azure keeps; https://learn.microsoft.com/")
    assert "lower bridge:azure.endpointSubnetPrefixLength" in errors[0]


def test_endpoint_subnet_is_shared_by_every_customer_of_the_bridge(project: Path) -> None:
    _bridge(project)
    _customer(project, "one", [_azure(i) for i in range(150)])
    _customer(project, "two", [_azure(i) for i in range(1000, 1099)])  # with acme's 2: 251 in all
    assert _errors(project, "dev.two") == []
    _customer(project, "two", [_azure(i) for i in range(1000, 1100)])
    errors = _errors(project, "dev.two")
    assert len(errors) == 1
    assert '"252 Azure private endpoints" do not fit the endpoint subnet 10.20.1.0/24' in errors[0]
    assert "shared by its 3 customer stack(s), 100 of them this one's" in errors[0]
    # A customer with no Azure endpoint takes no room and is not blamed for the others.
    _customer(project, "three", [_aws(1)])
    assert _errors(project, "dev.three") == []


def test_browser_authentication_is_a_second_private_endpoint(project: Path) -> None:
    _bridge(project, endpointSubnetPrefixLength=28)  # 11 endpoints; acme takes 2
    _customer(project, "sso", [_azure(i, browser=i == 0) for i in range(8)])  # 9 private endpoints
    assert _errors(project, "dev.sso") == []
    _customer(project, "sso", [_azure(i, browser=i == 0) for i in range(9)])  # 10: 12 with acme's
    assert any('"12 Azure private endpoints" do not fit' in e for e in _errors(project, "dev.sso"))


def test_private_endpoints_per_vnet(project: Path) -> None:
    _bridge(project, hubCidr="10.20.0.0/19", endpointSubnetPrefixLength=20)  # 4,091 addresses: the VNet limit binds
    _customer(project, "many", [_azure(i) for i in range(998)])  # 1,000 with acme's 2
    assert _errors(project, "dev.many") == []
    _customer(project, "many", [_azure(i) for i in range(999)])
    errors = _errors(project, "dev.many")
    assert len(errors) == 1
    assert ('"1001 Azure private endpoints" exceed the 1000 private endpoints Azure allows in one virtual network'
            in errors[0])
    assert L.AZURE_PRIVATE_LINK_LIMITS_URL in errors[0]


def test_interface_endpoints_per_vpc(project: Path) -> None:
    _bridge(project)  # the default quota: 50 per VPC
    _customer(project, "aws", [_aws(i) for i in range(39)])  # 40 with acme's one: 80%, no warning yet
    assert load_stack(project, "dev.aws").warnings == []
    _customer(project, "aws", [_aws(i) for i in range(40)])  # 41: a warning
    warnings = [w.line() for w in load_stack(project, "dev.aws").warnings]
    assert any('"41 interface endpoints in VPC saas" use over 80% of the 50' in w for w in warnings)
    _customer(project, "aws", [_aws(i) for i in range(50)])  # 51: over the quota
    errors = _errors(project, "dev.aws")
    assert len(errors) == 1
    assert '"51 interface endpoints in VPC saas" exceed the 50 interface VPC endpoints' in errors[0]
    assert L.AWS_PRIVATELINK_QUOTAS_URL in errors[0] and "bridge:aws.interfaceEndpointsPerVpcQuota" in errors[0]
    # once AWS raised the quota, the bridge says so and the customer fits
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"]["bridge:aws"]["interfaceEndpointsPerVpcQuota"] = 200
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert _errors(project, "dev.aws") == []


def test_a_huge_customer_is_refused_before_its_plan(project: Path) -> None:
    """5,000 endpoints used to validate and then plan for minutes; now validation says no at once."""
    _bridge(project)
    _customer(project, "huge", [_azure(i) for i in range(5000)])
    errors = _errors(project, "dev.huge")
    assert any("do not fit the endpoint subnet" in e for e in errors)
    assert any("exceed the 1000 private endpoints" in e for e in errors)


def test_siblings_are_read_once_per_process(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validating every customer of a bridge reads each customer file once, not once per customer."""
    _bridge(project)
    for n in range(12):
        _customer(project, f"c{n}", [_azure(n)])
    reads: list[str] = []
    original = loader._read_sibling_spec

    def counting(project: Path, stack: str) -> Any:
        reads.append(stack)
        return original(project, stack)

    monkeypatch.setattr(loader, "_read_sibling_spec", counting)
    monkeypatch.setattr(loader, "_SIBLINGS", {})
    for n in range(12):
        assert _errors(project, f"dev.c{n}") == []
    assert sorted(reads) == sorted({*(f"dev.c{n}" for n in range(12)), "dev.acme"})
    # A changed file is read again.
    _customer(project, "c0", [_azure(0), _azure(500)])
    reads.clear()
    assert _errors(project, "dev.c1") == []
    assert reads == ["dev.c0"]


def test_a_whole_bridge_is_validated_in_linear_time(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`validate` of every customer lists and indexes the bridge's customers once: each check then
    costs its own endpoints, not every other customer's (a bridge has a thousand customer stacks)."""
    from bridgectl.cli import main
    from stacks import spec

    _bridge(project)
    for n in range(30):
        _customer(project, f"c{n}", [_azure(n)])
    builds: list[int] = []
    original = spec.SiblingIndex.build

    def counting(siblings: Any, *args: Any) -> Any:
        builds.append(len(siblings))
        return original(siblings, *args)

    monkeypatch.setattr(spec.SiblingIndex, "build", counting)
    stacks = [f"dev.c{n}" for n in range(30)]
    assert main(["-C", str(project), "validate", "-q", *stacks]) == 0
    assert builds == [31]  # once, over the 30 and dev.acme
    assert main(["-C", str(project), "customer", "list", "dev"]) == 0
    assert builds == [31]  # the same files: the same index
    capsys.readouterr()
    # A changed sibling is seen: the index is built again.
    _customer(project, "c0", [_azure(0), _azure(700)])
    assert _errors(project, "dev.c1") == []
    assert builds == [31, 31]
