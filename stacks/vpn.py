"""The IPsec backup path (``bridge:vpnBackup``): its keys, its rules and its plan.

A site-to-site VPN between the AWS backbone and an active-active Azure VPN gateway in the hub, with
its tunnels and BGP sessions up all the time, carrying the same prefixes as the private path at a
lower preference. It carries traffic only once the private path's routes are withdrawn (BFD on the
transit VIFs and the ExpressRoute links), and gives them back when they return.

Shape (Microsoft, "How to connect AWS and Azure using a BGP-enabled VPN gateway",
https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-howto-aws-bgp):

* Azure: one active-active VPN gateway (two instances, two public IPs) in the hub's GatewaySubnet,
  next to the ExpressRoute gateway, at ASN 65515;
* AWS: one customer gateway per Azure public IP and one VPN connection per customer gateway (two
  tunnels each, to two AWS outside addresses): four tunnels, ``vpn1-t1``, ``vpn1-t2`` (gateway
  instance 0) and ``vpn2-t1``, ``vpn2-t2`` (instance 1);
* each tunnel has a /30 inside CIDR: AWS takes the first usable address, Azure the second, as a custom
  (APIPA) BGP address of its gateway instance.

Addressing is stable: a tunnel's /30 is fixed by its id (slot 0-3 of ``insideCidrPool``), never by a
position in a list that can grow.

Preference (why the private path wins while it is up):

* transit gateway: for the same prefix, Direct Connect gateway-propagated routes come before
  Site-to-Site VPN-propagated ones (https://docs.aws.amazon.com/vpc/latest/tgw/how-transit-gateways-work.html,
  "Route evaluation order"); longest prefix first, so the VPN never gets a more specific prefix;
* Azure: for the same prefix a gateway learns over ExpressRoute and over a site-to-site VPN, ExpressRoute
  is preferred ("The ExpressRoute circuit is always the primary link", MicrosoftDocs
  expressroute-howto-coexist-resource-manager.md); longest prefix first here too;
* Cloud WAN compares AS-path length before the attachment type
  (https://docs.aws.amazon.com/network-manager/latest/cloudwan/cloudwan-route-evaluation.html): the
  VPN's path (65515) is shorter than the private path's (DX gateway, FCR, 12076, 65515), so on a Cloud
  WAN backbone the core network's policy (version 2025.11) attaches an inbound routing policy to the
  VPN attachments that prepends 65515 four times (``VpnBackupPlan.prepend``): the VPN's path is then
  the longer one and the private path wins (components/cloud_wan.py).

Nothing here imports Pulumi.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from . import limits as L
from .fields import Cidr, Enum, Int, spec
from .problems import Problems

if TYPE_CHECKING:
    from .plan import Budget, Hub, KeyRef, Peer, Timers
    from .spec import BridgeSpec

IPv4Network = ipaddress.IPv4Network

VPN_BACKUP_KEY = "bridge:vpnBackup"

#: the four tunnels and their fixed /30 slot in insideCidrPool: (id, gateway instance, tunnel of the
#: AWS VPN connection, slot). Never reorder: the slot is the tunnel's address.
TUNNEL_SLOTS: tuple[tuple[str, int, int, int], ...] = (
    ("vpn1-t1", 0, 1, 0),
    ("vpn1-t2", 0, 2, 1),
    ("vpn2-t1", 1, 1, 2),
    ("vpn2-t2", 1, 2, 3),
)


@dataclass(frozen=True)
class VpnBackupSpec:
    """The IPsec backup path: a site-to-site VPN, always up, that carries traffic only when every private path
    is down (docs/stack-config.md, "Backup path")."""

    gateway_sku: str = spec(
        "gatewaySku", Enum(*L.VPN_GATEWAY_AZ_SKUS),
        "Azure VPN gateway SKU (zone-redundant; Basic cannot coexist with ExpressRoute).", default="VpnGw1AZ")
    inside_cidr_pool: ipaddress.IPv4Network = spec(
        "insideCidrPool", Cidr(min_prefix=24, max_prefix=28),
        "Pool of the tunnels' /30 inside CIDRs (four, fixed per tunnel: vpn1-t1, vpn1-t2, vpn2-t1, vpn2-t2). "
        "Must lie in 169.254.21.0-169.254.22.255, the only range Azure accepts for custom BGP addresses.",
        default=ipaddress.IPv4Network(L.VPN_DEFAULT_INSIDE_POOL))
    dpd_timeout_seconds: int = spec(
        "dpdTimeoutSeconds", Int(minimum=L.VPN_DPD_RANGE_S[0], maximum=L.VPN_DPD_RANGE_S[1]),
        "Dead peer detection timeout of every tunnel, on both sides (AWS at least 30 s, Azure 9-3600 s).",
        default=L.VPN_DPD_DEFAULT_S)


@dataclass(frozen=True)
class VpnTunnel:
    """One IPsec tunnel of the backup and the BGP session over it."""

    #: ``vpn<connection>-t<tunnel>``: AWS VPN connection 1 or 2 (= Azure gateway instance 0 or 1), its tunnel 1 or 2
    id: str
    #: the Azure gateway instance, its public IP and the AWS customer gateway: 0 or 1
    instance: int
    #: the tunnel of the AWS VPN connection: 1 or 2
    tunnel: int
    #: the /30 inside CIDR
    inside: IPv4Network
    #: the AWS side: first usable address, ASN of the transit gateway or core network
    aws: Peer
    #: the Azure side: second usable address, a custom BGP address of its gateway instance, ASN 65515
    azure: Peer
    #: the pre-shared key (a generated secret)
    key: KeyRef
    #: BGP timers of the AWS VPN endpoint
    timers: Timers
    dpd_timeout_s: int

    @property
    def connection(self) -> int:
        """The AWS VPN connection (1 or 2)."""
        return self.instance + 1


@dataclass(frozen=True)
class VpnBackupPlan:
    gateway_sku: str
    azure_asn: int
    aws_asn: int
    tunnels: tuple[VpnTunnel, ...]
    #: what AWS advertises over the VPN: exactly what it advertises over Direct Connect
    to_azure: tuple[IPv4Network, ...]
    #: what Azure advertises over the VPN: exactly what ExpressRoute carries to AWS
    to_aws: tuple[IPv4Network, ...]
    #: routes AWS accepts from the customer gateway on one VPN connection (Azure's advertisements)
    max_prefixes_to_aws: int
    max_prefixes_to_aws_source: str
    #: routes the Azure VPN gateway accepts from one BGP peer (AWS's advertisements)
    max_prefixes_to_azure: int
    max_prefixes_to_azure_source: str
    inside_pool: IPv4Network
    dpd_timeout_s: int
    #: where the AWS VPN BGP timers come from, or why they are not verified
    timers_source: str
    timers_verified: bool
    #: the AWS end: the transit gateway, or the Cloud WAN core network
    backbone: Literal["transit-gateway", "cloud-wan"] = "transit-gateway"
    #: Cloud WAN only: the ASNs the core network's inbound routing policy prepends on routes from the VPN
    #: attachments, so the private path's shorter AS path wins (L.CLOUD_WAN_BACKUP_PREPEND)
    prepend: tuple[int, ...] = ()

    def tunnel(self, tunnel_id: str) -> VpnTunnel:
        return next(t for t in self.tunnels if t.id == tunnel_id)

    def of_instance(self, instance: int) -> tuple[VpnTunnel, ...]:
        return tuple(t for t in self.tunnels if t.instance == instance)


# --- addressing -----------------------------------------------------------------------------------


def tunnel_inside(pool: IPv4Network, slot: int) -> IPv4Network:
    """The /30 of a slot of the pool."""
    return IPv4Network((int(pool.network_address) + 4 * slot, 30))


def psk_key_id(tunnel_id: str) -> str:
    """How the pre-shared key of a tunnel is named (resources, diff, policy)."""
    return f"{tunnel_id}-psk"


# --- rules ----------------------------------------------------------------------------------------


def validate_vpn_backup(vpn: VpnBackupSpec, spec_: BridgeSpec, problems: Problems) -> None:
    """Every rule of bridge:vpnBackup that involves the rest of the bridge (the key's own ranges are in its spec:
    a pool of /28 or larger holds the four /30s, DPD 30-3,600 s is valid on both clouds).

    Covered elsewhere, with the backup in mind: the transit gateway ASN may not be 65515, the VPN gateway's
    fixed ASN (Azure reserves 65515-65520: stacks.spec._asn_problems); the GatewaySubnet is /27 or larger, as
    coexistence needs (stacks.spec.hub_subnets reserves a /26 for it).
    """
    path = VPN_BACKUP_KEY
    pool = vpn.inside_cidr_pool
    if pool is not None:
        # Azure accepts custom (APIPA) BGP addresses only in 169.254.21.0-169.254.22.255 (L.AWS_AZURE_VPN_URL).
        if not any(pool.subnet_of(r) for r in L.AZURE_APIPA_RANGES):
            problems.error(f"{path}.insideCidrPool", str(pool),
                           "is outside 169.254.21.0-169.254.22.255, the only range Azure accepts for custom BGP "
                           "addresses", "use a pool within 169.254.21.0/24 or 169.254.22.0/24, e.g. 169.254.21.0/24")
        # AWS refuses these /30s as tunnel inside CIDRs (L.AWS_VPN_TUNNEL_OPTIONS_URL); none lies in Azure's range,
        # so a pool that passes the rule above passes this one: it names the tunnels a pool outside it would break.
        for tunnel_id, _, _, slot in TUNNEL_SLOTS:
            inside = tunnel_inside(pool, slot)
            if inside in L.AWS_VPN_RESERVED_INSIDE_CIDRS:
                problems.error(f"{path}.insideCidrPool", str(pool),
                               f"gives tunnel {tunnel_id} {inside}, a /30 AWS reserves",
                               "use a pool within 169.254.21.0-169.254.22.255")
        # The inside /30s are routed inside the tunnels only, but an overlap with the private path's link pools
        # would make one address two BGP neighbours.
        ad = spec_.addressing
        if ad is not None:
            for key, other in (("awsLinkPool", ad.aws_link_pool), ("azureLinkPool", ad.azure_link_pool)):
                if other is not None and pool.overlaps(other):
                    problems.error(f"{path}.insideCidrPool", str(pool),
                                   f"overlaps bridge:addressing.{key} ({other})", "use non-overlapping pools")
    aws, az = spec_.aws, spec_.azure
    # On Cloud WAN the core network's routing policy prepends 65515, which AWS wants outside the core network's
    # own ranges (L.CLOUD_WAN_ROUTE_POLICY_URL): the reserved-ASN rule on coreNetwork.asnRanges already refuses a
    # range that holds 65515-65520 (stacks.spec).
    # Identical prefixes on both paths. AWS: the backup's route table holds exactly the Direct Connect gateway's
    # allowed prefixes (components/vpn_backup.py), so nothing can differ. Azure: the VPN gateway advertises the
    # address space of the hub and of every VNet peered to it, as the ExpressRoute gateway does, but unfiltered,
    # while the exchange passes only the listed prefixes. Which VNets are peered is not in the config, so an
    # extra prefix that is a summary rather than a VNet's address space cannot be told apart here: the docs say
    # so (docs/stack-config.md, "Backup path").
    # Prefix budgets of the VPN BGP sessions, counted as plan_vpn_backup counts them. Today the transit VIF
    # (100 routes) and the DX gateway's allowed prefixes (200) bind first; these stay in case either grows.
    if aws is not None and az is not None:
        to_azure = len([v for v in aws.vpcs or () if v is not None and v.cidr is not None])
        if to_azure > L.AZURE_VPN_MAX_PREFIXES_PER_PEER:
            problems.error("bridge:aws.vpcs", to_azure,
                           f"prefixes would be advertised over the backup VPN; an Azure VPN gateway accepts at most "
                           f"{L.AZURE_VPN_MAX_PREFIXES_PER_PEER} from one BGP peer and drops the session above",
                           "summarise the VPCs, or remove bridge:vpnBackup")
        spokes = getattr(az, "endpoint_spokes", None) or ()
        to_aws = (1 if az.hub_cidr is not None else 0) + len(az.extra_prefixes or ()) + len(spokes)
        if to_aws > L.AWS_VPN_MAX_PREFIXES_FROM_CGW:
            problems.error("bridge:azure.extraPrefixes", to_aws,
                           f"prefixes would be advertised over the backup VPN; AWS accepts at most "
                           f"{L.AWS_VPN_MAX_PREFIXES_FROM_CGW} from a customer gateway on one VPN connection",
                           "summarise the spokes, or remove bridge:vpnBackup")


def more_specific_over_vpn(private: tuple[IPv4Network, ...], vpn: tuple[IPv4Network, ...]
                           ) -> list[tuple[IPv4Network, IPv4Network]]:
    """(VPN prefix, private prefix) pairs where the VPN would carry a more specific prefix than the private path.

    Longest prefix wins before any preference on both clouds, so such a prefix would draw its traffic onto the
    VPN while the private path is up. A VPN prefix that no private prefix covers is reported against itself.
    """
    out: list[tuple[IPv4Network, IPv4Network]] = []
    for v in vpn:
        if v in private:
            continue
        covering = [p for p in private if v.subnet_of(p)]
        out.append((v, covering[0] if covering else v))
    return out


# --- plan -----------------------------------------------------------------------------------------


def _parse_range(text: str | None) -> tuple[int, int] | None:
    """``"64600-64699"`` as (64600, 64699); None when it does not parse (the spec reports that)."""
    lo, _, hi = str(text or "").partition("-")
    return (int(lo), int(hi or lo)) if lo.isdigit() and (hi or lo).isdigit() else None


def plan_vpn_backup(spec_: BridgeSpec, aws_prefixes: tuple[IPv4Network, ...],
                    azure_prefixes: tuple[IPv4Network, ...], hub: Hub) -> VpnBackupPlan | None:
    """The backup's tunnels and what each side advertises over them; None without bridge:vpnBackup."""
    from .plan import KeyRef, Peer, Timers

    vpn = spec_.vpn_backup
    if vpn is None:
        return None
    del hub  # the gateway goes in the hub's GatewaySubnet (components.vpn_backup); nothing to derive here
    # The AWS end of every session: the transit gateway, or the core network edge (its first ASN, as the twin and
    # the plan's sessions take it).
    cloud_wan = spec_.aws.backbone == "cloud-wan"
    if cloud_wan:
        cn = spec_.aws.core_network
        bounds = _parse_range(cn.asn_ranges[0] if cn is not None and cn.asn_ranges else None)
        aws_asn = bounds[0] if bounds else None
    else:
        aws_asn = spec_.aws.transit_gateway_asn
    assert aws_asn is not None, "validated spec"
    timers = Timers(L.AWS_VPN_BGP_KEEPALIVE_S, L.AWS_VPN_BGP_HOLD_S)
    tunnels = []
    for tunnel_id, instance, tunnel, slot in TUNNEL_SLOTS:
        inside = tunnel_inside(vpn.inside_cidr_pool, slot)
        tunnels.append(VpnTunnel(
            id=tunnel_id, instance=instance, tunnel=tunnel, inside=inside,
            aws=Peer(f"aws-vpn{instance + 1}-t{tunnel}", "aws", aws_asn,
                     ipaddress.IPv4Interface(f"{inside.network_address + 1}/30")),
            azure=Peer(f"azure-vpngw-{instance}", "azure-vpn", L.AZURE_VPN_GATEWAY_ASN,
                       ipaddress.IPv4Interface(f"{inside.network_address + 2}/30")),
            # Both clouds' rules: AWS 8-64 characters of letters, digits, . and _, not starting with 0
            # (EC2 API VpnTunnelOptionsSpecification.PreSharedKey); Azure up to 128 printable ASCII characters.
            key=KeyRef(psk_key_id(tunnel_id), "generated", L.VPN_PSK_LEN[0], L.VPN_PSK_LEN[1], True),
            timers=timers, dpd_timeout_s=vpn.dpd_timeout_seconds))
    return VpnBackupPlan(
        gateway_sku=vpn.gateway_sku, azure_asn=L.AZURE_VPN_GATEWAY_ASN, aws_asn=aws_asn, tunnels=tuple(tunnels),
        # The transit gateway advertises to the VPN what the route table associated with its attachment holds:
        # the hybrid table, which holds the VPC CIDRs, the Direct Connect gateway's allowed prefixes.
        to_azure=aws_prefixes,
        # The VPN gateway advertises the hub's address space and the spokes, as the ExpressRoute gateway does.
        to_aws=azure_prefixes,
        max_prefixes_to_aws=L.AWS_VPN_MAX_PREFIXES_FROM_CGW, max_prefixes_to_aws_source=L.AWS_VPN_QUOTAS_URL,
        max_prefixes_to_azure=L.AZURE_VPN_MAX_PREFIXES_PER_PEER,
        max_prefixes_to_azure_source=L.AZURE_VPN_LIMITS_URL,
        inside_pool=vpn.inside_cidr_pool, dpd_timeout_s=vpn.dpd_timeout_seconds,
        timers_source=L.AWS_VPN_BGP_TIMERS_SOURCE, timers_verified=L.AWS_VPN_BGP_TIMERS_VERIFIED,
        backbone="cloud-wan" if cloud_wan else "transit-gateway",
        prepend=(L.AZURE_VPN_GATEWAY_ASN,) * L.CLOUD_WAN_BACKUP_PREPEND if cloud_wan else ())


def backup_budgets(backup: VpnBackupPlan | None) -> list[Budget]:
    """The prefix budgets of the backup's BGP sessions (shown by `bridgectl plan` with the others)."""
    from .plan import Budget

    if backup is None:
        return []
    return [
        Budget("vpn-azure-to-aws", len(backup.to_aws), backup.max_prefixes_to_aws,
               "Azure prefixes into AWS per backup VPN connection", backup.max_prefixes_to_aws_source),
        Budget("vpn-aws-to-azure", len(backup.to_azure), backup.max_prefixes_to_azure,
               "AWS prefixes into the Azure VPN gateway per BGP peer", backup.max_prefixes_to_azure_source),
    ]
