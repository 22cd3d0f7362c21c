"""Small helpers shared by the components."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

# Stateful, slow or billed resources: replacing one is an outage and days of re-provisioning with
# the exchange, so Pulumi must refuse to delete them unless someone first removes the protection.
PROTECT = True


def child(parent: pulumi.Resource, *, protect: bool = False, depends_on: Sequence[pulumi.Resource] = (),
          **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a child resource: parented (so it inherits the caller's providers) and optionally
    protected and ordered after other resources."""
    return pulumi.ResourceOptions(parent=parent, protect=protect or None,
                                  depends_on=list(depends_on) or None, **kwargs)


def merged_tags(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    return {**base, **extra}


def secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.secret(value)


def strip_prefix(address: str) -> str:
    """``169.254.100.1/30`` -> ``169.254.100.1`` (BGP peer addresses are bare)."""
    return address.split("/", 1)[0]
