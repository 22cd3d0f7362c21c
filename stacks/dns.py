"""Which names a customer stack answers privately, and in which Route 53 private hosted zone.

The SaaS resolves through Route 53 (its VPCs' resolver). A private hosted zone associated with a
VPC answers *every* name under it from its own records, and NXDOMAIN for the rest: a zone for a
whole platform domain (``privatelink.snowflakecomputing.com``) would break every other name of
that domain for the SaaS. So a customer stack owns one private hosted zone per name it publishes,
named like the name, with the record at the zone apex; every other name of the domain resolves
exactly as before (public DNS, or whatever else the SaaS VPCs use). The Route 53 VPC resolver
answers from the most specific zone that matches a name, so a zone per name shadows nothing else
(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/hosted-zone-private-considerations.html).
docs/dns.md has the design, its quotas and its sources.

Names derived here, beside the ones a stack file lists:

* Snowflake: every account hostname (``<locator>.<region>[.<cloud>].privatelink.snowflakecomputing.com``
  and the regionless ``<org>-<account>.privatelink.snowflakecomputing.com``) also answers its OCSP
  name ``ocsp.<host>``, in the same zone (drivers check certificates there; Snowflake's
  ``privatelink-ocsp-url`` and ``regionless-privatelink-ocsp-url``). Snowsight names (``app-…``,
  ``app.<region>…``) have none.
* Azure Databricks with ``browserAuthentication``: the region's browser-authentication name
  ``<region>.pl-auth.privatelink.azuredatabricks.net``, which the workspace URL's single sign-on
  callback resolves to (one per region, shared by every workspace there).

Customer-declared zones (``zone:``, Starburst and Redshift) are kept as they are: the stack creates
that zone and its names go in it. They shadow only the zone the customer named for them.

Nothing here imports Pulumi.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

SNOWFLAKE_DOMAIN = "privatelink.snowflakecomputing.com"
AZURE_DATABRICKS_DOMAIN = "privatelink.azuredatabricks.net"
AWS_DATABRICKS_DOMAIN = "privatelink.cloud.databricks.com"
#: The platforms' private domains: never a zone of ours, only names inside them.
PLATFORM_DOMAINS = (SNOWFLAKE_DOMAIN, AZURE_DATABRICKS_DOMAIN, AWS_DATABRICKS_DOMAIN)
#: The public parents of those domains: a customer zone equal to one of them (or above) would
#: answer the platform's public names too.
PLATFORM_PUBLIC_DOMAINS = ("snowflakecomputing.com", "azuredatabricks.net", "cloud.databricks.com")

_SNOWFLAKE_CLOUDS = ("aws", "azure", "gcp")


@dataclass(frozen=True)
class Record:
    """One name a customer stack answers privately."""

    name: str
    #: the Route 53 private hosted zone holding it (the name itself for a platform's names)
    zone: str
    #: which of the endpoint's addresses it points at
    target: Literal["endpoint", "browser-auth"] = "endpoint"
    #: derived by the bridge rather than listed in the stack file (an OCSP or browser-authentication name)
    automatic: bool = False

    @property
    def at_apex(self) -> bool:
        return self.name == self.zone


def within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def snowflake_account_host(host: str) -> bool:
    """Whether ``host`` is a Snowflake account name (which has an OCSP name) rather than Snowsight's,
    an OCSP name or another service's.

    Account names (SYSTEM$GET_PRIVATELINK_CONFIG): ``privatelink-account-url``
    ``<locator>.<region>[.<cloud>].privatelink.snowflakecomputing.com`` and
    ``regionless-privatelink-account-url`` ``<org>-<account>.privatelink.snowflakecomputing.com``
    (also a Client Redirect connection, ``<org>-<connection>``). Snowsight: ``app-<org>-<account>``
    and ``app.<region>``.
    """
    if not host.endswith("." + SNOWFLAKE_DOMAIN):
        return False
    labels = host[:-len(SNOWFLAKE_DOMAIN) - 1].split(".")
    first = labels[0]
    if first in ("ocsp", "app") or first.startswith("app-"):
        return False
    return len(labels) in (1, 2) or (len(labels) == 3 and labels[2] in _SNOWFLAKE_CLOUDS)


def ocsp_name(host: str) -> str:
    return f"ocsp.{host}"


def implied_ocsp(hosts: Sequence[str]) -> dict[str, str]:
    """Listed ``ocsp.<host>`` names that the listed account ``<host>`` already publishes: {ocsp name: host}."""
    listed = set(hosts)
    return {ocsp_name(h): h for h in hosts if snowflake_account_host(h) and ocsp_name(h) in listed}


def browser_auth_hostname(region: str) -> str:
    """Azure Databricks' browser-authentication name of a region: the private name of
    ``<region>.pl-auth.azuredatabricks.net``."""
    return f"{region}.pl-auth.{AZURE_DATABRICKS_DOMAIN}"


def endpoint_records(platform: str, domain: str | None, hostnames: Iterable[str], customer_zone: str | None,
                     browser_auth_region: str | None = None) -> tuple[Record, ...]:
    """Every name an endpoint publishes, in order: each listed name, then its derived ones.

    ``domain`` is the platform's private domain (None for Starburst and Redshift, which use
    ``customer_zone``, the zone the stack file names).
    """
    if domain is None:
        # As written: the customer's zone and names are the stack file's, and so are their resource names.
        hosts = list(dict.fromkeys(hostnames))
        return tuple(Record(h, customer_zone) for h in hosts) if customer_zone is not None else ()
    hosts = list(dict.fromkeys(h.rstrip(".") for h in hostnames))
    records: list[Record] = []
    implied = implied_ocsp(hosts) if platform == "snowflake" else {}
    for host in hosts:
        if host in implied:
            continue  # published with its account name, in that name's zone
        records.append(Record(host, host))
        if platform == "snowflake" and snowflake_account_host(host):
            records.append(Record(ocsp_name(host), host, automatic=True))
    if browser_auth_region:
        name = browser_auth_hostname(browser_auth_region)
        records.append(Record(name, name, target="browser-auth", automatic=True))
    return tuple(records)


def zones_of(records: Iterable[Record]) -> list[str]:
    """The zones the records need, once each, in order of first use."""
    return list(dict.fromkeys(r.zone for r in records))
