"""Where a new customer's Azure private endpoints go: the hub, or one of the bridge's endpoint spokes.

A bridge with endpoint spokes (``bridge:azure.endpointSpokes``) places each new customer in the VNet
with the most free room, and ``bridgectl customer add`` writes the choice into the new stack file
(``bridge:customer.endpointSpoke``), so adding spokes later never moves a customer: moving one
replaces its private endpoints (new addresses, a new approval by the platform).

Room is counted once over the bridge's customers (one pass, :class:`stacks.spec.SiblingIndex`), never
per pair: the free room of a VNet is the smaller of what its endpoint subnet holds (addresses less the
five Azure keeps) and Azure's private endpoints per VNet, less what its customers use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacks import limits as L
from stacks.spec import BridgeSpec, SiblingIndex, endpoint_subnet_of


@dataclass(frozen=True)
class Room:
    """The free room of one VNet for private endpoints."""

    spoke: str | None  # None: the hub
    capacity: int
    used: int

    @property
    def free(self) -> int:
        return self.capacity - self.used


def rooms(bridge: BridgeSpec, index: SiblingIndex) -> list[Room]:
    """The hub's room and each endpoint spoke's, in the order of the stack file."""
    out = []
    for spoke in (None, *(sp.name for sp in bridge.azure.endpoint_spokes)):
        subnet = endpoint_subnet_of(bridge.azure, spoke)
        if subnet is None:
            continue
        capacity = min(L.subnet_endpoint_capacity(subnet), L.AZURE_PRIVATE_ENDPOINTS_PER_VNET)
        used = index.total_use.get("azure" if spoke is None else f"azure:{spoke}", 0)
        out.append(Room(spoke, capacity, used))
    return out


def choose(bridge: BridgeSpec, index: SiblingIndex) -> str | None:
    """The VNet with the most free room for a new customer: an endpoint spoke's name, or None for the hub
    (and always None on a bridge without spokes, as before spokes existed). Ties go to the first in the
    stack file, the hub first."""
    if not bridge.azure.endpoint_spokes:
        return None
    best: Room | None = None
    for room in rooms(bridge, index):
        if best is None or room.free > best.free:
            best = room
    return best.spoke if best is not None else None


def sibling_index(project: Path, bridge: BridgeSpec) -> SiblingIndex:
    """The bridge's customers, read once (the loader's cache), as one index."""
    from stacks.loader import _siblings

    vpcs = [v.name for v in bridge.aws.vpcs]
    return SiblingIndex.build(_siblings(project, bridge.stack), bridge.stack, bridge.azure_location,
                              vpcs[0] if vpcs else None)


def place(project: Path, bridge: BridgeSpec) -> str | None:
    """The endpoint spoke a new customer of ``bridge`` goes in (None: the hub)."""
    if not bridge.azure.endpoint_spokes:
        return None  # nothing to choose: no customer file is read
    return choose(bridge, sibling_index(project, bridge))
