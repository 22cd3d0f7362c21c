"""Which names a customer stack publishes, and in which private zone (stacks/dns.py): the design that
shadows nothing, one zone per name, never a zone for a platform's whole domain."""

from __future__ import annotations

import pytest

from stacks.dns import (
    AWS_DATABRICKS_DOMAIN,
    AZURE_DATABRICKS_DOMAIN,
    PLATFORM_DOMAINS,
    SNOWFLAKE_DOMAIN,
    Record,
    endpoint_records,
    snowflake_account_host,
)

SF = SNOWFLAKE_DOMAIN


@pytest.mark.parametrize(("host", "account"), [
    (f"xy12345.east-us-2.{SF}", True),            # privatelink-account-url (Azure, newer form)
    (f"xy12345.east-us-2.azure.{SF}", True),      # privatelink-account-url with the cloud
    (f"xy12345.us-east-1.{SF}", True),            # AWS
    (f"myorg-myaccount.{SF}", True),              # regionless-privatelink-account-url
    (f"app-myorg-myaccount.{SF}", False),         # regionless-snowsight-privatelink-url
    (f"app.east-us-2.{SF}", False),               # snowsight-privatelink-url
    (f"ocsp.xy12345.east-us-2.{SF}", False),      # privatelink-ocsp-url: already an OCSP name
    (f"myorg-myaccount.openflow.iadzpr.{SF}", False),  # another Snowflake service
    ("xy12345.east-us-2.snowflakecomputing.com", False),  # public, not private
])
def test_which_snowflake_names_have_an_ocsp_name(host: str, account: bool) -> None:
    assert snowflake_account_host(host) is account


def test_snowflake_names_each_get_their_zone_with_the_ocsp_name_inside() -> None:
    host, regionless, snowsight = f"xy.east-us-2.{SF}", f"org-acct.{SF}", f"app-org-acct.{SF}"
    records = endpoint_records("snowflake", SF, [host, regionless, snowsight], None)
    assert records == (
        Record(host, host), Record(f"ocsp.{host}", host, automatic=True),
        Record(regionless, regionless), Record(f"ocsp.{regionless}", regionless, automatic=True),
        Record(snowsight, snowsight))
    assert all(r.zone not in PLATFORM_DOMAINS for r in records)


def test_a_listed_ocsp_name_is_the_automatic_one() -> None:
    host = f"xy.east-us-2.{SF}"
    assert endpoint_records("snowflake", SF, [host, f"ocsp.{host}"], None) == (
        Record(host, host), Record(f"ocsp.{host}", host, automatic=True))


def test_trailing_dots_do_not_make_another_zone() -> None:
    host = f"xy.east-us-2.{SF}"
    assert endpoint_records("snowflake", SF, [f"{host}."], None)[0] == Record(host, host)


def test_azure_databricks_browser_authentication_name() -> None:
    ws = f"adb-1.2.{AZURE_DATABRICKS_DOMAIN}"
    auth = f"westeurope.pl-auth.{AZURE_DATABRICKS_DOMAIN}"
    assert endpoint_records("databricks", AZURE_DATABRICKS_DOMAIN, [ws], None, "westeurope") == (
        Record(ws, ws), Record(auth, auth, target="browser-auth", automatic=True))
    assert endpoint_records("databricks", AZURE_DATABRICKS_DOMAIN, [ws], None) == (Record(ws, ws),)


def test_databricks_on_aws_regional_name_is_its_own_zone() -> None:
    name = f"us-east-1.{AWS_DATABRICKS_DOMAIN}"
    assert endpoint_records("databricks", AWS_DATABRICKS_DOMAIN, [name], None) == (Record(name, name),)


def test_customer_zones_are_kept_as_written() -> None:
    assert endpoint_records("starburst", None, ["sep.sb.acme.internal"], "sb.acme.internal") == (
        Record("sep.sb.acme.internal", "sb.acme.internal"),)
    assert endpoint_records("redshift", None, [], None) == ()
