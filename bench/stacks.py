"""Generated stack files of any size, for the benchmarks: bridges with R routers and V VPCs,
customers with E endpoints. Every generated file is valid (the benchmark validates it first)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def bridge_config(name: str, routers: int, vpcs: int) -> dict[str, Any]:
    base = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    base["bridge:aws"]["vpcs"] = [
        {"name": f"vpc{i}", "vpcId": f"vpc-{i:017x}", "cidr": f"10.{100 + i}.0.0/16",
         "subnetIds": [f"subnet-{i:017x}", f"subnet-{i + 1000:017x}"], "routeTableIds": [f"rtb-{i:017x}"]}
        for i in range(vpcs)]
    base["bridge:exchange"]["routers"] = [{"name": f"fcr-{chr(97 + i)}", "metro": "DC"} for i in range(routers)]
    base["bridge:azure"]["resourceGroup"] = f"rg-bridge-{name}"
    return base


_PLATFORMS = [
    ("snowflake", "azure", "sf-pvlinksvc-eastus2.a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6.eastus2.azure.privatelinkservice",
     "{c}-{i}.east-us-2.privatelink.snowflakecomputing.com"),
    ("databricks", "azure", "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-{c}/providers/"
     "Microsoft.Databricks/workspaces/ws{i}", "adb-{i:016d}.7.privatelink.azuredatabricks.net"),
    ("snowflake", "aws", "com.amazonaws.vpce.us-east-1.vpce-svc-{i:017x}",
     "{c}-{i}.us-east-1.privatelink.snowflakecomputing.com"),
    ("databricks", "aws", "com.amazonaws.vpce.us-east-1.vpce-svc-{i:017x}",
     "dbc-{i:08d}.privatelink.cloud.databricks.com"),
]


def customer_config(bridge: str, customer: str, endpoints: int) -> dict[str, Any]:
    eps = []
    for i in range(endpoints):
        platform, cloud, service, host = _PLATFORMS[i % len(_PLATFORMS)]
        eps.append({"name": f"ep{i}", "platform": platform, "cloud": cloud,
                    "service": service.format(c=customer, i=i), "hostnames": [host.format(c=customer, i=i)]})
    return {"aws:region": "us-east-1", "azure-native:location": "eastus2",
            "azure-native:subscriptionId": "00000000-0000-0000-0000-000000000000",
            "bridge:customer": {"id": customer, "bridgeStack": bridge, "endpoints": eps}}


def write_project(where: Path, stacks: dict[str, dict[str, Any]]) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, where / name)
    for stack, config in stacks.items():
        (where / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return where


# --- a bridge with many customers (the scale benchmark and tests/test_scale.py) ----------------------
#
# Every customer has three endpoints: one Azure private endpoint (Snowflake) and two AWS interface
# endpoints (Snowflake, in two of the bridge's four VPCs). The bridge's room is sized for 1,000 of them
# as a real one would be: a /22 endpoint subnet (1,019 private endpoints, under Azure's 1,000 per VNet
# for 1,000 customers), and raised Route 53 and interface-endpoint quotas (the defaults, 500 zones and
# 50 endpoints per VPC, are adjustable: stacks/limits.py cites the quota pages).

SCALE_VPCS = 4


def scale_bridge_config(name: str = "dev") -> dict[str, Any]:
    config = bridge_config(name, 2, SCALE_VPCS)
    config["bridge:azure"]["hubCidr"] = "10.20.0.0/21"
    config["bridge:azure"]["endpointSubnetPrefixLength"] = 22
    config["bridge:aws"]["route53HostedZoneQuota"] = 100_000
    config["bridge:aws"]["interfaceEndpointsPerVpcQuota"] = 1_000
    return config


def scale_customer_config(bridge: str, k: int) -> dict[str, Any]:
    c = f"c{k:04d}"
    eps = [{"name": "sfaz", "platform": "snowflake", "cloud": "azure",
            "service": "sf-pvlinksvc-eastus2.a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6.eastus2.azure.privatelinkservice",
            "hostnames": [f"{c}-az.east-us-2.privatelink.snowflakecomputing.com"]}]
    for j in range(2):
        eps.append({"name": f"sfaws{j}", "platform": "snowflake", "cloud": "aws", "vpc": f"vpc{(k + j) % SCALE_VPCS}",
                    "service": f"com.amazonaws.vpce.us-east-1.vpce-svc-{k * 2 + j:017x}",
                    "hostnames": [f"{c}-{j}.us-east-1.privatelink.snowflakecomputing.com"]})
    return {"bridge:customer": {"id": c, "bridgeStack": bridge, "endpoints": eps}}


def scale_project(where: Path, customers: int, bridges: tuple[str, ...] = ("dev",)) -> tuple[Path, list[str]]:
    """A project with ``bridges``, each with ``customers`` generated customers; (project, stacks)."""
    stacks: dict[str, dict[str, Any]] = {}
    for b in bridges:
        stacks[b] = scale_bridge_config(b)
        for k in range(customers):
            stacks[f"{b}.c{k:04d}"] = scale_customer_config(b, k)
    return write_project(where, stacks), list(stacks)
