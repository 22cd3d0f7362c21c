"""The topology of a stack as a Graphviz picture, drawn from its address plan.

A bridge stack: the SaaS VPCs and the backbone (transit gateway or Cloud WAN) and the Direct Connect
gateway in AWS; the Fabric Cloud Routers at the exchange; the Microsoft edges, the ExpressRoute
circuit and gateway and the hub VNet in Azure. Every BGP link is an edge labelled with its /30, the
address of each end, both ASNs, BFD and the VLAN; the ExpressRoute primary is drawn thick, the
secondary dashed. A bridge's single points of failure (one router, one metro, one circuit, one peering
location) are drawn in red and listed in a note. A customer stack: its endpoints placed where they
live (a SaaS VPC or the hub's endpoint subnet), with the hostnames that resolve to them, behind a
one-node summary of its bridge.

The DOT text is built here (:func:`bridge_dot`, :func:`customer_dot`) and rendered by the Debian
package's ``dot`` binary (:func:`render`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from stacks import limits as L
from stacks.plan import BridgePlan, CustomerPlan
from stacks.spec import BridgeSpec, CustomerSpec

FORMATS = ("svg", "png", "dot")

AWS_COLOR, AWS_FILL = "#CC7A00", "#FFF4E5"
EXCHANGE_COLOR, EXCHANGE_FILL = "#B3141B", "#FDEDED"
AZURE_COLOR, AZURE_FILL = "#0063B1", "#EAF3FC"
PRIMARY_COLOR, SECONDARY_COLOR, AWS_LINK_COLOR = "#0063B1", "#5B8DB8", "#CC7A00"
SPOF_COLOR = "#D00000"
BACKUP_COLOR = "#6B6B6B"


class DotMissing(Exception):
    """Graphviz's ``dot`` is not installed."""


def _q(text: str) -> str:
    """A DOT double-quoted string; newlines become centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _id(*parts: str) -> str:
    return "_".join("".join(c if c.isalnum() else "_" for c in p) for p in parts)


def _attrs(**kw: str | float) -> str:
    return "[" + ", ".join(f"{k}={_q(str(v)) if isinstance(v, str) else v}" for k, v in kw.items()) + "]"


def _host(address: object) -> str:
    return str(address).split("/", 1)[0]


def _last_octet(address: object) -> str:
    return "." + _host(address).rsplit(".", 1)[-1]


def _msee(circuit: int, priority: str) -> str:
    """The node of a circuit's Microsoft edge: msee_primary for the first circuit, msee2_primary for the second."""
    return f"msee{'' if circuit == 0 else circuit + 1}_{priority}"


def _bfd(plan: BridgePlan) -> str:
    b = plan.bfd
    return f"BFD {b.interval_ms} ms x {b.multiplier}" if b.enabled else "BFD off"


def _header(name: str, title: str, rankdir: str = "TB") -> list[str]:
    return [
        f"digraph {_q(name)} {{",
        "  " + "graph " + _attrs(rankdir=rankdir, fontname="Helvetica", fontsize=16, labelloc="t", labeljust="l",
                                 label=title, nodesep=0.35, ranksep=0.9, pad=0.3, newrank="true",
                                 bgcolor="white"),
        "  " + "node " + _attrs(fontname="Helvetica", fontsize=11, shape="box", style="rounded,filled",
                                fillcolor="white", margin="0.15,0.08"),
        "  " + "edge " + _attrs(fontname="Helvetica", fontsize=10, arrowhead="none", penwidth=1.4),
    ]


def _cluster(name: str, label: str, color: str, fill: str, body: list[str], labelloc: str = "t") -> list[str]:
    return [f"  subgraph {_q('cluster_' + name)} {{",
            "    " + "graph " + _attrs(label=label, style="rounded,filled", color=color, fillcolor=fill,
                                       fontsize=13, fontcolor=color, penwidth=1.5, margin=14, labelloc=labelloc),
            *("    " + line for line in body), "  }"]


def _backup_edges(plan: BridgePlan) -> list[str]:
    """The IPsec backup path (bridge:vpnBackup): one dashed edge per AWS VPN connection, with its two tunnels."""
    b = plan.backup
    if b is None:
        return []
    lines = []
    for instance in (0, 1):
        tunnels = b.of_instance(instance)
        label = (f"IPsec backup vpn{instance + 1} (instance {instance})\n"
                 + "\n".join(f"{t.id} {t.inside} AWS {_last_octet(t.aws.address)} | "
                             f"Azure {_last_octet(t.azure.address)}" for t in tunnels)
                 + f"\neBGP {b.aws_asn} <-> {b.azure_asn}, PSK, DPD {b.dpd_timeout_s} s\n"
                   "standby: the private path wins")
        lines.append("  backbone -> vpngw " + _attrs(label=label, color=BACKUP_COLOR, fontcolor=BACKUP_COLOR,
                                                     style="dashed", penwidth=1.6))
    lines.append("  vpngw -> hub " + _attrs(color=BACKUP_COLOR, style="dashed"))
    return lines


def bridge_dot(spec: BridgeSpec, plan: BridgePlan) -> str:
    """The bridge's topology as DOT."""
    asn_note = "" if plan.fcr_asn_source == "config" else " (stand-in)"
    title = (f"Bridge {plan.stack}: AWS {plan.aws_region} <-> Azure {plan.azure_location}, {_bfd(plan)}\n"
             f"AWS -> Azure: {', '.join(map(str, plan.aws_prefixes))}    "
             f"Azure -> AWS: {', '.join(map(str, plan.azure_prefixes))}")
    lines = _header(f"bridge-{plan.stack}", title)

    aws = []
    for vpc in spec.aws.vpcs:
        aws.append(f"{_id('vpc', vpc.name)} " + _attrs(label=f"VPC {vpc.name}\n{vpc.cidr}\n{vpc.vpc_id}"))
    if plan.backbone == "transit-gateway":
        aws.append("backbone " + _attrs(label=f"Transit gateway\nASN {plan.tgw_asn}", penwidth=2,
                                        color=AWS_COLOR))
        backbone_edge = "attachment"
    else:
        cn = spec.aws.core_network
        ranges = ", ".join(cn.asn_ranges) if cn else ""
        edges = ", ".join(cn.edge_locations) if cn else ""
        aws.append("backbone " + _attrs(label=f"Cloud WAN core network\nASNs {ranges}\nedges {edges}", penwidth=2,
                                        color=AWS_COLOR))
        backbone_edge = "VPC attachment (segment saas)"
    aws.append("dxgw " + _attrs(label=f"Direct Connect gateway\nASN {plan.dxgw_asn}", penwidth=2, color=AWS_COLOR))
    lines += _cluster("aws", f"AWS {plan.aws_region} (account {spec.aws.account_id})", AWS_COLOR, AWS_FILL, aws)

    metros = sorted({r.metro for r in plan.routers})
    # The single points of failure (stacks.spec.single_points) are drawn in red, and listed in a note.
    spof = {(sp.kind, sp.name) for sp in plan.single_points}
    fcr_asn = {s.router: s.fcr.asn for s in plan.sessions}
    exchange = [f"{_id('fcr', r.name)} " + _attrs(
        label=f"Fabric Cloud Router {r.name}\nASN {fcr_asn.get(r.name, plan.fcr_asn)}{asn_note}\nmetro {r.metro}, "
              f"{spec.exchange.package}" + ("\nSINGLE POINT OF FAILURE" if ("router", r.name) in spof else ""),
        penwidth=2, color=SPOF_COLOR if ("router", r.name) in spof else EXCHANGE_COLOR) for r in plan.routers]
    lines += _cluster("exchange", f"Equinix Fabric (metro {', '.join(metros)})", EXCHANGE_COLOR, EXCHANGE_FILL,
                      exchange)

    az = spec.azure
    circuits = plan.circuits or (plan.azure,)
    azure = []
    for c in circuits:
        only = bool(spof & {("circuit", c.peering_location), ("peering-location", c.peering_location)})
        where = f" {c.peering_location}" if len(circuits) > 1 else ""
        for priority in ("primary", "secondary"):
            azure.append(f"{_msee(c.circuit, priority)} " + _attrs(
                label=f"Microsoft edge{where} ({priority})\nASN {L.MICROSOFT_EDGE_ASN}"
                      + ("\nONLY CIRCUIT: SINGLE POINT OF FAILURE" if only else ""),
                penwidth=2, color=SPOF_COLOR if only else AZURE_COLOR))
    azure += [
        "ergw " + _attrs(label=f"ExpressRoute gateway\nASN {L.EXPRESSROUTE_GATEWAY_ASN}, {az.gateway_sku}",
                         penwidth=2, color=AZURE_COLOR),
        "hub " + _attrs(label=f"Hub VNet {plan.hub.cidr}\nGatewaySubnet {plan.hub.gateway_subnet}\n"
                              f"endpoints {plan.hub.endpoint_subnet}"),
    ]
    if plan.backup is not None:
        azure.append("vpngw " + _attrs(label=f"VPN gateway (backup)\nASN {plan.backup.azure_asn}, "
                                             f"{plan.backup.gateway_sku}, active-active", penwidth=2,
                                       color=BACKUP_COLOR))
    azure += [f"{_id('spoke', str(p))} " + _attrs(label=f"Azure prefix\n{p}", style="rounded,dashed,filled")
              for p in az.extra_prefixes]
    # Endpoint spokes: peered to the hub, using its gateway (gateway transit).
    azure += [f"{_id('endpoint-spoke', sp.name)} " + _attrs(
        label=f"Endpoint spoke {sp.name} {sp.cidr}\nendpoints {sp.endpoint_subnet}\npeered, gateway transit")
        for sp in plan.spokes]
    described = "; ".join(f"circuit {c.peering_location}, {spec.exchange.bandwidth_mbps} Mbps, {c.tier}/"
                          f"{(az.circuit if c.circuit == 0 else az.second_circuit or az.circuit).family}"
                          for c in circuits)
    lines += _cluster("azure", f"Azure {plan.azure_location}: {described}", AZURE_COLOR, AZURE_FILL, azure,
                      labelloc="b")

    for vpc in spec.aws.vpcs:
        lines.append(f"  {_id('vpc', vpc.name)} -> backbone " + _attrs(label=backbone_edge, color=AWS_COLOR))
    assoc = ("association\nallowed " + ", ".join(map(str, plan.aws_prefixes))
             if plan.backbone == "transit-gateway" else "DX gateway attachment (segment hybrid)")
    lines.append("  backbone -> dxgw " + _attrs(label=assoc, color=AWS_COLOR, penwidth=2))

    for link in plan.aws_links:
        s = plan.session(f"{link.router}/aws")
        label = (f"transit VIF {link.vif_name}\n{link.network}\nAWS {_last_octet(link.amazon_address)} | "
                 f"FCR {_last_octet(link.customer_address)}\neBGP {s.cloud.asn} <-> {s.fcr.asn}, MD5\n"
                 f"{_bfd(plan)}; VLAN from Equinix\nhold {s.timers.hold_s} s, max {s.max_prefixes_from_fcr} routes")
        lines.append(f"  dxgw -> {_id('fcr', link.router)} " + _attrs(
            label=label, color=AWS_LINK_COLOR, fontcolor=AWS_LINK_COLOR, penwidth=2.2))

    for s in plan.sessions:
        if s.kind != "azure":
            continue
        primary = s.priority == "primary"
        end = _msee(plan.circuit_of(s.router).circuit if plan.circuits else 0, s.priority or "primary")
        label = (f"ExpressRoute {'PRIMARY' if primary else 'secondary'}\n{s.link}\n"
                 f"FCR {_last_octet(s.fcr.address)} | Microsoft {_last_octet(s.cloud.address)}\n"
                 f"eBGP {s.fcr.asn} <-> {s.cloud.asn}, MD5\n{_bfd(plan)}; VLAN {s.vlan}\n"
                 f"hold {s.timers.hold_s} s, max {s.max_prefixes_from_fcr} routes")
        color = PRIMARY_COLOR if primary else SECONDARY_COLOR
        lines.append(f"  {_id('fcr', s.router)} -> {end} " + _attrs(
            label=label, color=color, fontcolor=color, penwidth=3.5 if primary else 2.0,
            style="solid" if primary else "dashed"))

    for c in circuits:
        lines.append(f"  {_msee(c.circuit, 'primary')} -> ergw " + _attrs(
            label=f"gateway connection{' ' + str(c.circuit + 1) if len(circuits) > 1 else ''}\n"
                  f"BGP {L.MICROSOFT_EDGE_ASN} <-> {L.EXPRESSROUTE_GATEWAY_ASN}\n(Microsoft-managed)",
            color=AZURE_COLOR))
        lines.append(f"  {_msee(c.circuit, 'secondary')} -> ergw " + _attrs(color=AZURE_COLOR, style="dashed"))
    lines.append("  ergw -> hub " + _attrs(color=AZURE_COLOR))
    lines += _backup_edges(plan)
    for p in az.extra_prefixes:
        lines.append(f"  hub -> {_id('spoke', str(p))} " + _attrs(color=AZURE_COLOR, style="dashed",
                                                                   label="peered / advertised"))
    for sp in plan.spokes:
        lines.append(f"  hub -> {_id('endpoint-spoke', sp.name)} " + _attrs(color=AZURE_COLOR, style="dashed",
                                                                            label="peering, gateway transit"))
    lines.append("  legend " + _attrs(
        shape="note", fillcolor="#F7F7F7", fontsize=10,
        label="thick solid: ExpressRoute primary\ndashed: secondary\norange: transit VIF per router\n"
              "each link: /30, end addresses, ASNs, BFD, VLAN"
              + ("\ngrey dashed: IPsec backup (carries traffic only when the private path is down)"
                 if plan.backup is not None else "")))
    lines.append("  { rank=same; legend; hub }")
    if plan.single_points:
        lines.append("  single_points " + _attrs(
            shape="note", fillcolor="#FDEDED", color=SPOF_COLOR, fontcolor=SPOF_COLOR, fontsize=10,
            label="single points of failure (validate warns):\n" + "\n".join(
                f"{sp.kind} {sp.name}" for sp in plan.single_points)))
        lines.append("  { rank=same; legend; single_points }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def customer_dot(spec: CustomerSpec, bridge_spec: BridgeSpec, bridge: BridgePlan, plan: CustomerPlan) -> str:
    """A customer's endpoints, where they live, and the names that resolve to them."""
    title = f"Customer {plan.customer} ({plan.stack}) on bridge {plan.bridge_stack}"
    lines = _header(f"customer-{plan.stack}", title)
    aws_eps = [ep for ep in plan.endpoints if ep.cloud == "aws"]
    azure_eps = [ep for ep in plan.endpoints if ep.cloud == "azure"]

    aws: list[str] = []
    for vpc in bridge_spec.aws.vpcs:
        eps = [ep for ep in aws_eps if ep.vpc == vpc.name]
        body = [f"{_id('vpc', vpc.name)} " + _attrs(label=f"SaaS VPC {vpc.name}\n{vpc.cidr}")]
        for ep in eps:
            kind = "Redshift endpoint" if ep.kind == "redshift-endpoint" else "interface endpoint"
            body.append(f"{_id('ep', ep.name)} " + _attrs(
                label=f"{kind} {ep.name}\n{ep.platform}, TCP {','.join(map(str, ep.ports))}\n"
                      f"SG: {', '.join(map(str, ep.allowed_cidrs))} only", penwidth=2, color=AWS_COLOR))
        aws += [f"subgraph {_q('cluster_vpc_' + vpc.name)} {{",
                "  graph " + _attrs(label=f"VPC {vpc.name}", style="rounded", color=AWS_COLOR),
                *("  " + b for b in body), "}"]
    lines += _cluster("aws", f"AWS {bridge.aws_region}", AWS_COLOR, AWS_FILL, aws)

    backbone = f"TGW {bridge.tgw_asn}" if bridge.backbone == "transit-gateway" else "Cloud WAN"
    lines.append("  bridge " + _attrs(
        label=f"bridge {bridge.stack}\n{backbone} / DX gateway {bridge.dxgw_asn}\nFCR {bridge.fcr_asn} x "
              f"{len(bridge.routers)} / ExpressRoute\n{_bfd(bridge)}",
        shape="box3d", fillcolor="#F2F2F2"))

    where = ("hub endpoint subnet" if plan.endpoint_spoke is None
             else f"endpoint subnet of spoke {plan.endpoint_spoke}")
    azure = ["subnet " + _attrs(label=f"{where}\n{bridge.endpoint_subnet(plan.endpoint_spoke)}")]
    for ep in azure_eps:
        azure.append(f"{_id('ep', ep.name)} " + _attrs(
            label=f"private endpoint {ep.name}\n{ep.platform}, TCP {','.join(map(str, ep.ports))}\n"
                  "manual approval by the platform", penwidth=2, color=AZURE_COLOR))
    lines += _cluster("azure", f"Azure {bridge.azure_location} (hub {bridge.hub.cidr})", AZURE_COLOR, AZURE_FILL,
                      azure)

    for vpc in bridge_spec.aws.vpcs:
        lines.append(f"  {_id('vpc', vpc.name)} -> bridge " + _attrs(color=AWS_COLOR, penwidth=2))
        for ep in aws_eps:
            if ep.vpc == vpc.name:
                lines.append(f"  {_id('vpc', vpc.name)} -> {_id('ep', ep.name)} " + _attrs(color=AWS_COLOR))
    lines.append("  bridge -> subnet " + _attrs(color=AZURE_COLOR, penwidth=2, label="private peering"))
    for ep in azure_eps:
        lines.append(f"  subnet -> {_id('ep', ep.name)} " + _attrs(color=AZURE_COLOR))
    for ep in plan.endpoints:
        if not ep.hostnames:
            continue
        if ep.zone_owner == "name":
            record = "A" if ep.cloud == "azure" else "alias A"
            where = "private zone per name"
        else:
            record = "A" if ep.cloud == "azure" else "CNAME"
            where = f"private zone {ep.zone}"
        names = "\n".join(ep.hostnames)
        lines.append(f"  {_id('dns', ep.name)} " + _attrs(
            label=f"{record}, {where}\n{names}", shape="note", fillcolor="#F7F7F7", fontsize=10))
        lines.append(f"  {_id('dns', ep.name)} -> {_id('ep', ep.name)} " + _attrs(style="dotted", arrowhead="normal"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def stack_dot(project: Path, stack: str) -> str:
    """The DOT source of a stack's diagram; raises ConfigError for a bad stack."""
    from stacks.loader import load_stack
    from stacks.plan import plan_bridge, plan_customer

    spec = load_stack(project, stack).spec
    if isinstance(spec, BridgeSpec):
        return bridge_dot(spec, plan_bridge(spec))
    bridge_spec = load_stack(project, spec.bridge_stack).spec
    assert isinstance(bridge_spec, BridgeSpec)
    return customer_dot(spec, bridge_spec, plan_bridge(bridge_spec), plan_customer(spec, bridge_spec))


def dot_binary() -> str:
    found = shutil.which("dot")
    if found is None:
        raise DotMissing("Graphviz `dot` is not installed: apt-get install graphviz (Debian package graphviz), "
                         "or write DOT source with -o FILE.dot")
    return found


class DotFailed(Exception):
    """Graphviz's ``dot`` ran and failed, or did not finish in time."""


def render(dot_text: str, output: Path, fmt: str, *, option: str = "-o") -> None:
    """Write ``dot_text`` to ``output`` as ``fmt`` (svg, png or dot), atomically: ``dot`` writes to its
    standard output, and the picture is written in one rename once it is complete, so a failed or
    interrupted run leaves no partial file. Raises OutputError (a path that cannot be written),
    DotMissing or DotFailed."""
    from bridgectl.console import atomic_write

    if fmt == "dot":
        atomic_write(output, dot_text, option=option)
        return
    args = [dot_binary(), f"-T{fmt}"]
    if fmt == "png":
        # Readable when shown at full size in a pull request or a wiki.
        args.insert(1, "-Gdpi=110")
    try:
        proc = subprocess.run(args, input=dot_text.encode(), capture_output=True, check=False, timeout=120)
    except subprocess.TimeoutExpired:
        raise DotFailed("Graphviz's dot did not finish within 120 s") from None
    if proc.returncode != 0:
        raise DotFailed(f"Graphviz's dot failed: {proc.stderr.decode(errors='replace').strip()}")
    atomic_write(output, proc.stdout, option=option)
