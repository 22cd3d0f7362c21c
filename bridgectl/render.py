"""Plain-text rendering: aligned tables and the address plan of a stack."""

from __future__ import annotations

from collections.abc import Sequence

from stacks.plan import BridgePlan, CustomerPlan


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  ") -> str:
    """An aligned text table with a rule under the header."""
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def bridge_plan_text(plan: BridgePlan, *, notes: bool = True) -> str:
    """The address plan of a bridge: links, BGP sessions, subnets and prefix budgets, each a table with
    every column headed; the budgets' sources are numbered under their table. ``notes`` false leaves
    out the plan's notes (``bridgectl plan`` prints them once, at the end)."""
    out = []
    backbone = (f"transit gateway (ASN {plan.tgw_asn})" if plan.backbone == "transit-gateway"
                else "Cloud WAN core network")
    asn_note = "" if plan.fcr_asn_source == "config" else " (stand-in)"
    bfd = (f"BFD {plan.bfd.interval_ms} ms x {plan.bfd.multiplier} (detects in {plan.bfd.detect_ms} ms)"
           if plan.bfd.enabled else "BFD off (hold timers only)")
    out.append(f"Bridge stack {plan.stack}: AWS {plan.aws_region} <-> Azure {plan.azure_location}; {backbone}; "
               f"Direct Connect gateway ASN {plan.dxgw_asn}; FCR ASN {plan.fcr_asn}{asn_note}; {bfd}")
    out.append("")
    out.append("Links")
    rows: list[list[object]] = []
    for link in plan.aws_links:
        rows.append([link.router, "AWS transit VIF", str(link.network), link.slot,
                     f"FCR {link.customer_address.ip}", f"AWS {link.amazon_address.ip}",
                     "from hosted connection", link.equinix_connection])
    for az in plan.circuits or (plan.azure,):
        where = "" if len(plan.circuits) < 2 else f" ({az.peering_location})"
        for prio, net, router, conn in (("primary", az.primary, az.primary_router, az.primary_connection),
                                        ("secondary", az.secondary, az.secondary_router, az.secondary_connection)):
            rows.append([router, f"ExpressRoute {prio}{where}", str(net), "-", f"FCR {net.network_address + 1}",
                         f"Microsoft {net.network_address + 2}", str(az.vlan), conn])
    out.append(table(["router", "link", "subnet", "slot", "FCR side", "cloud side", "VLAN", "Equinix connection"],
                     rows))
    out.append("")
    out.append("BGP sessions")
    rows = []
    for s in plan.sessions:
        rows.append([s.id, f"{s.fcr.asn} {s.fcr.ip}", f"{s.cloud.asn} {s.cloud.ip}",
                     f"{s.timers.keepalive_s}/{s.timers.hold_s}s",
                     f"{s.bfd.interval_ms}x{s.bfd.multiplier}" if s.bfd.enabled else "off",
                     s.key.config_path or "generated", f"{len(s.fcr_advertises)}/{s.max_prefixes_from_fcr}"])
    out.append(table(["session", "FCR (ASN, address)", "cloud (ASN, address)", "keepalive/hold", "BFD",
                      "MD5 key", "routes in/limit"], rows))
    out.append("")
    if plan.backup is not None:
        b = plan.backup
        out.append(f"IPsec backup (bridge:vpnBackup): Azure VPN gateway {b.gateway_sku}, active-active; standby "
                   "while any private path advertises the prefixes")
        timers = "" if b.timers_verified else " (unverified)"
        rows = [[t.id, f"instance {t.instance}", str(t.inside), f"{t.aws.asn} {t.aws.ip}",
                 f"{t.azure.asn} {t.azure.ip}", f"{t.timers.keepalive_s}/{t.timers.hold_s}s{timers}",
                 f"{t.dpd_timeout_s}s", "generated",
                 f"{len(b.to_aws)}/{b.max_prefixes_to_aws}"] for t in b.tunnels]
        out.append(table(["tunnel", "Azure gateway", "inside", "AWS (ASN, address)", "Azure (ASN, address)",
                          "keepalive/hold", "DPD", "pre-shared key", "routes in/limit"], rows))
        out.append("")
    out.append("Subnets and prefixes")
    spokes: list[list[object]] = [
        [f"endpoint spoke {sp.name}", f"{sp.cidr} (endpoint subnet {sp.endpoint_subnet}; peered to the hub, gateway "
         "transit)"] for sp in plan.spokes]
    rows = [["hub VNet", str(plan.hub.cidr)], ["GatewaySubnet", str(plan.hub.gateway_subnet)],
            ["endpoint subnet", str(plan.hub.endpoint_subnet)],
            ["AWS advertises (VPC CIDRs)", ", ".join(map(str, plan.aws_prefixes))],
            ["Azure advertises (hub, spokes)", ", ".join(map(str, plan.azure_prefixes))],
            ["private DNS zones", "none: each customer stack owns one per name it publishes (docs/dns.md)"]]
    rows[3:3] = spokes
    out.append(table(["what", "value"], rows))
    out.append("")
    out.append("Prefix budgets")
    sources = list(dict.fromkeys(b.source for b in plan.budgets))
    rows = [[b.what, str(b.count), str(b.limit), f"{b.ratio:.0%}", f"[{sources.index(b.source) + 1}]"]
            for b in plan.budgets]
    out.append(table(["budget", "count", "limit", "used", "source"], rows))
    out.extend(f"  [{n}] {source}" for n, source in enumerate(sources, 1))
    if notes:
        out.extend(f"note: {note}" for note in plan.notes)
    return "\n".join(out)


def customer_plan_text(plan: CustomerPlan) -> str:
    out = [f"Customer stack {plan.stack}: customer {plan.customer} on bridge {plan.bridge_stack}", ""]
    rows = []
    for ep in plan.endpoints:
        hub_or_spoke = ("hub endpoint subnet" if plan.endpoint_spoke is None
                        else f"endpoint subnet of spoke {plan.endpoint_spoke}")
        where = hub_or_spoke if ep.cloud == "azure" else f"VPC {ep.vpc}"
        zones = (f"one per name ({len(ep.zones)})" if ep.zone_owner == "name"
                 else ep.zone if ep.zone_owner == "customer" else "- (no records)")
        rows.append([ep.name, ep.platform, ep.cloud, ep.kind, where, ",".join(map(str, ep.ports)), zones])
    out.append(table(["endpoint", "platform", "cloud", "kind", "in", "ports", "private DNS zones"], rows))
    out.append("")
    rows = [[r.name, r.zone, ep.name + (" (browser authentication)" if r.target == "browser-auth" else ""),
             "automatic" if r.automatic else "stack file"] for ep in plan.endpoints for r in ep.records]
    if rows:
        out.append(table(["hostname", "in private zone", "resolves to endpoint", "listed in"], rows))
        out.append(f"{len(plan.zones)} Route 53 private hosted zone(s), each on every SaaS VPC; no other name of "
                   "the platforms' domains is answered privately (docs/dns.md).")
    return "\n".join(out)
