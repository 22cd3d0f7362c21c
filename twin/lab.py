"""Run a lab: namespaces, veth links, FRR daemons, the probe, faults and queries.

This module only runs inside the sandbox that :mod:`twin.sandbox` creates (private network, mount
and PID namespaces; :mod:`twin.runner` checks). Every namespace, link and process it makes lives
in that sandbox and dies with it, whatever happens to this code.

Plumbing is iproute2 and tc called as programs, a handful per node (batched where iproute2 allows);
FRR is driven through the daemons' vty sockets, the interface vtysh itself uses, which answers in
well under a millisecond, so state can be polled finely enough to time a BFD detection.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .model import Lab, Link, Node
from .probe import PORT as PROBE_PORT
from .probe import Summary
from .render import CHARON_RUN, NATT_PORT, RUN_DIR, VXLAN_PORT, frr_configs, ipsec_configs, ipsec_dir

FRR_DIR = Path("/usr/lib/frr")
DAEMONS = ("zebra", "bfdd", "bgpd")
# FRR's state directory; with `-N <node>` each router gets its own subdirectory for sockets and pids.
FRR_STATE = Path("/run/frr")
FRR_USER = "frr"

# Per-namespace kernel settings. Routers forward; reverse-path filtering is off because equal-cost
# paths make the return path of a flow differ from its forward path; flows are hashed on their
# 5-tuple as cloud routers hash them; the bridge is IPv4 only, so IPv6 stays off (no link-local
# chatter on the links).
HOST_SYSCTLS = {
    "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 0,
    "net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1,
}
ROUTER_SYSCTLS = {**HOST_SYSCTLS, "net.ipv4.ip_forward": 1, "net.ipv4.fib_multipath_hash_policy": 1}

# A link cut silently points both ends at this MAC (locally administered, on no interface).
CUT_MAC = "02:74:77:00:00:01"
# A router that stops dead sends nothing: a token-bucket filter whose bucket is smaller than any
# packet drops everything its interfaces would send. (This kernel has no netem and no tc drop
# action; tbf drops what exceeds its bucket.) A sender's own stack notices such drops, which is why
# link cuts use CUT_MAC instead; a dead router's stack has nobody left to notice.
DROP_QDISC = ("tbf", "rate", "8bit", "burst", "1", "limit", "1")

# Probe: 16 flows, each from its own source port so that layer-4 hashing spreads them over every
# equal-cost path (the chance that all take the same one of two paths is 1 in 32,768), at 100
# packets a second each, so an outage is timed to 10 ms.
PROBE_FLOWS = 16
PROBE_PPS = 100

# The HTB class a VPN tunnel's data packets (UDP) go to; everything else (BGP) takes the default.
DATA_CLASS = "1:2"

# strongSwan's IKE daemon (Debian package strongswan-charon) and its control program (strongswan-swanctl);
# the userspace ESP backend is in libcharon-extra-plugins.
CHARON = Path("/usr/lib/ipsec/charon")
KERNEL_LIBIPSEC = Path("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so")
SWANCTL = "swanctl"
# What the internet link's counters sort packets into (:meth:`RunningLab.internet_packets`): VXLAN in
# the clear (UDP/4789, which must stay 0) and ESP in UDP (4500: IKE after NAT-T and every ESP packet).
CLEAR_CLASS, ESP_CLASS = "1:3", "1:4"

DAEMON_START_TIMEOUT_S = 15.0
# The probe stops within half a second (it waits for replies in flight); this is for a busy machine.
PROBE_STOP_TIMEOUT_S = 30.0


class LabError(RuntimeError):
    """A lab operation failed; the message says which and why."""


def run(cmd: list[str], *, stdin: str | None = None, timeout: float = 30.0) -> str:
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise LabError(f"`{' '.join(cmd)}` took more than {timeout:.0f} s") from None
    if done.returncode != 0:
        raise LabError(f"`{' '.join(cmd)}` failed: {(done.stderr or done.stdout).strip() or done.returncode}")
    return done.stdout


class Vty:
    """One FRR daemon's vty socket: commands in, text out (the protocol vtysh uses).

    A command is sent NUL-terminated; the daemon answers with the output, three NULs and a status
    byte (0 is success).
    """

    def __init__(self, node: str, daemon: str) -> None:
        self.node, self.daemon = node, daemon
        self.path = FRR_STATE / node / f"{daemon}.vty"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[socket.socket]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10.0)
        try:
            sock.connect(str(self.path))
            yield sock
        finally:
            sock.close()

    @staticmethod
    def _exchange(sock: socket.socket, command: str) -> tuple[int, str]:
        sock.sendall(command.encode() + b"\0")
        buf = bytearray()
        while len(buf) < 4 or buf[-4:-1] != b"\0\0\0":
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise LabError(f"{command!r}: the daemon closed its vty socket")
            buf += chunk
        return buf[-1], buf[:-4].decode(errors="replace")

    def alive(self) -> bool:
        try:
            with self._connect() as sock:
                return self._exchange(sock, "show version")[0] == 0
        except OSError:
            return False

    def show(self, command: str) -> str:
        with self._connect() as sock:
            self._exchange(sock, "enable")  # some show commands (running-config) need it
            status, out = self._exchange(sock, command)
        if status != 0:
            raise LabError(f"{self.node} {self.daemon}: {command!r} failed ({status}): {out.strip()}")
        return out

    def json(self, command: str) -> dict[str, Any]:
        data = json.loads(self.show(command) or "{}")
        assert isinstance(data, dict)
        return data

    def configure(self, *lines: str) -> None:
        """Apply configuration lines (as in the config file) on the running daemon."""
        with self._connect() as sock:
            for command in ("enable", "configure terminal", *lines, "end"):
                status, out = self._exchange(sock, command)
                if status != 0:
                    raise LabError(f"{self.node} {self.daemon}: {command!r} failed ({status}): {out.strip()}")


class RunningLab:
    """A lab being built, run and broken inside the sandbox."""

    def __init__(self, lab: Lab, *, python: str = sys.executable) -> None:
        self.lab = lab
        self.rundir = Path(RUN_DIR)
        self.python = python
        self.daemons: dict[str, dict[str, subprocess.Popen[bytes]]] = {}
        self.helpers: list[subprocess.Popen[bytes]] = []
        self.namespaces: list[str] = []
        self.broken_links: set[str] = set()
        self.down_routers: set[str] = set()
        self.macs: dict[tuple[str, str], str] = {}
        self.charons: dict[str, subprocess.Popen[bytes]] = {}
        uid = pwd.getpwnam(FRR_USER)
        self._frr_ids = (uid.pw_uid, uid.pw_gid)

    # --- building and tearing down -------------------------------------------------------------

    def build(self) -> None:
        lab = self.lab
        for path in (self.rundir, FRR_STATE):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, *self._frr_ids)
        for node in lab.nodes:
            run(["ip", "netns", "add", node.name])
            self.namespaces.append(node.name)
            sysctls = ROUTER_SYSCTLS if node.is_router else HOST_SYSCTLS
            # Written through /proc from inside the namespace (whose network sysctls they are).
            script = "; ".join(f"echo {v} > /proc/sys/{k.replace('.', '/')}" for k, v in sysctls.items())
            run(["ip", "netns", "exec", node.name, "sh", "-ec", script])
        run(["ip", "-batch", "-"], stdin="".join(
            f"link add {lk.a_iface} netns {lk.a} type veth peer name {lk.b_iface} netns {lk.b}\n"
            for lk in lab.links if lk.kind != "vpn-tunnel"))
        self._add_tunnels()
        for node in lab.nodes:
            lines = ["link set lo up"]
            for iface in node.interfaces:
                lines += [f"addr add {a} dev {iface.name}" for a in (iface.address, *iface.extra)]
                lines += [f"link set {iface.name} up", f"link set {iface.name} alias {iface.peer_node}"]
            run(["ip", "-n", node.name, "-batch", "-"], stdin="\n".join(lines) + "\n")
        self._count_tunnel_data()
        self._pin_neighbours()
        for node in lab.nodes:
            if node.routes:
                run(["ip", "-n", node.name, "-batch", "-"], stdin="".join(f"route add {r}\n" for r in node.routes))
        self._count_internet()
        self.start_ipsec()

    def _add_tunnels(self) -> None:
        """The VPN backup's tunnels: a VXLAN interface at each end between the tunnel's two protected /32s,
        which only its IPsec SA joins (:meth:`start_ipsec`; twin.render, "the VPN backup's IPsec")."""
        for t in self.lab.tunnels:
            for node, local, remote in ((t.aws, t.aws_selector, t.azure_selector),
                                        (t.azure, t.azure_selector, t.aws_selector)):
                run(["ip", "-n", node, "addr", "add", f"{local}/32", "dev", "lo"])
                run(["ip", "-n", node, "link", "add", t.id, "type", "vxlan", "id", str(t.vni), "local", local,
                     "remote", remote, "dstport", str(VXLAN_PORT)])

    def _internet(self, node: str) -> str:
        lab = self.lab
        return next(i.name for i in lab.node(node).interfaces if lab.link(i.link).kind == "internet")

    def _vpn_ends(self) -> list[str]:
        return sorted({n for t in self.lab.tunnels for n in (t.aws, t.azure)})

    def _count_internet(self) -> None:
        """Count what each VPN end sends onto the internet: VXLAN in the clear (UDP to 4789, which must never
        be seen), ESP in UDP (to or from 4500) and the rest. An HTB qdisc whose classes count; it never drops."""
        for node in self._vpn_ends():
            dev = self._internet(node)
            udp = "match ip protocol 17 0xff"
            run(["tc", "-n", node, "-batch", "-"], stdin="".join(f"{line}\n" for line in (
                f"qdisc add dev {dev} root handle 1: htb default 1 r2q 100000",
                f"class add dev {dev} parent 1: classid 1:1 htb rate 10gbit",
                f"class add dev {dev} parent 1: classid {CLEAR_CLASS} htb rate 10gbit",
                f"class add dev {dev} parent 1: classid {ESP_CLASS} htb rate 10gbit",
                f"filter add dev {dev} parent 1: protocol ip prio 1 u32 {udp} match ip dport {VXLAN_PORT} 0xffff "
                f"flowid {CLEAR_CLASS}",
                f"filter add dev {dev} parent 1: protocol ip prio 2 u32 {udp} match ip dport {NATT_PORT} 0xffff "
                f"flowid {ESP_CLASS}",
                f"filter add dev {dev} parent 1: protocol ip prio 3 u32 {udp} match ip sport {NATT_PORT} 0xffff "
                f"flowid {ESP_CLASS}")))

    def internet_packets(self) -> dict[str, int]:
        """Packets the VPN ends have sent onto the internet link since the lab was built, by kind: "clear"
        (VXLAN, unencrypted) and "esp" (ESP and IKE in UDP/4500)."""
        total = {"clear": 0, "esp": 0}
        for node in self._vpn_ends():
            if node in self.down_routers:
                continue
            out = run(["tc", "-n", node, "-s", "class", "show", "dev", self._internet(node)])
            for kind, cls in (("clear", CLEAR_CLASS), ("esp", ESP_CLASS)):
                found = re.search(rf"class htb {re.escape(cls)} .*?\n\s*Sent \d+ bytes (\d+) pkt", out)
                if found is None:
                    raise LabError(f"{node}: no {kind} counter on its internet link: {out.strip()[:200]}")
                total[kind] += int(found.group(1))
        return total

    def start_ipsec(self) -> None:
        """Start charon at each VPN end, in its node's namespace and a mount namespace of its own (its pid
        file is fixed at /var/run/charon.pid, so each needs its own /run: the node's IPsec directory), load its
        tunnels with swanctl (the AWS ends first: they answer, the Azure ends initiate) and return once every
        charon answers; the SAs come up while the lab converges."""
        ends = self._vpn_ends()
        for node in ends:
            home = Path(ipsec_dir(node))
            home.mkdir(parents=True, exist_ok=True)
            for name, text in ipsec_configs(self.lab, node).items():
                (home / name).write_text(text, encoding="utf-8")
                (home / name).chmod(0o600)
            out = (home / "charon.out").open("ab")
            cmd = ["ip", "netns", "exec", node, "unshare", "--mount", "--propagation", "private", "--",
                   "sh", "-ec", f'mount --bind "$0" {CHARON_RUN}; exec {CHARON}', str(home)]
            env = {**os.environ, "STRONGSWAN_CONF": f"{CHARON_RUN}/strongswan.conf"}
            self.charons[node] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                  env=env)
            out.close()

        def ready() -> bool:
            for node, proc in self.charons.items():
                if proc.poll() is not None:
                    log = (Path(ipsec_dir(node)) / "charon.out").read_text(errors="replace")[-400:]
                    raise LabError(f"charon on {node} exited ({proc.returncode}): {log.strip()}")
            return all((Path(ipsec_dir(n)) / "charon.vici").exists() for n in ends)

        self._wait(ready, "charon to start")
        aws_first = sorted(ends, key=lambda n: n not in {t.aws for t in self.lab.tunnels})
        for node in aws_first:
            self.swanctl(node, "--load-all", "--noprompt", "--file", f"{ipsec_dir(node)}/swanctl.conf")

    def swanctl(self, node: str, *args: str) -> str:
        """Run swanctl against ``node``'s charon (its vici socket)."""
        return run(["ip", "netns", "exec", node, SWANCTL, *args, "--uri", f"unix://{ipsec_dir(node)}/charon.vici"],
                   timeout=15.0)

    def ipsec_sas(self, node: str) -> dict[str, str]:
        """Each tunnel's state at ``node``: "up" (IKE SA established and its CHILD_SA installed), else the IKE
        SA's state (CONNECTING, ...) or "none"."""
        out = self.swanctl(node, "--list-sas", "--noblock")
        state: dict[str, str] = {}
        current = None
        for line in out.splitlines():
            ike = re.match(r"^(\S+): #\d+, (\w+), IKEv2", line)
            if ike:
                current = ike.group(1)
                if state.get(current) != "up":
                    state[current] = ike.group(2)
            elif current and re.match(r"^\s+\S+: #\d+, reqid \d+, INSTALLED, TUNNEL", line) \
                    and state.get(current) == "ESTABLISHED":
                state[current] = "up"
        return {t.id: state.get(t.id, "none") for t in self.lab.tunnels if node in (t.aws, t.azure)}

    def _count_tunnel_data(self) -> None:
        """Count data packets entering each tunnel, apart from BGP: an HTB qdisc whose second class takes
        every UDP packet (the probe's; BGP is TCP). Its counter is :meth:`vpn_data_packets`."""
        for t in self.lab.tunnels:
            for node in (t.aws, t.azure):
                run(["tc", "-n", node, "-batch", "-"], stdin="".join(f"{line}\n" for line in (
                    f"qdisc add dev {t.id} root handle 1: htb default 1 r2q 100000",
                    f"class add dev {t.id} parent 1: classid 1:1 htb rate 10gbit",
                    f"class add dev {t.id} parent 1: classid {DATA_CLASS} htb rate 10gbit",
                    f"filter add dev {t.id} parent 1: protocol ip u32 match ip protocol 17 0xff flowid {DATA_CLASS}")))

    def vpn_data_packets(self) -> int:
        """Data packets (UDP: the probe's) sent into any VPN tunnel, at either end, since the lab was built."""
        total = 0
        for t in self.lab.tunnels:
            for node in (t.aws, t.azure):
                if node in self.down_routers:
                    continue
                out = run(["tc", "-n", node, "-s", "class", "show", "dev", t.id])
                found = re.search(rf"class htb {re.escape(DATA_CLASS)} .*?\n\s*Sent \d+ bytes (\d+) pkt", out)
                if found is None:
                    raise LabError(f"{node}: no data counter on tunnel {t.id}: {out.strip()[:200]}")
                total += int(found.group(1))
        return total

    def _pin_neighbours(self) -> None:
        """Make every link's neighbour entries permanent, on both ends.

        Links are point to point and their addresses never move, so ARP has nothing to learn; and a
        silent cut (:meth:`cut`) replaces these entries.
        """
        for node in self.lab.nodes:
            for link in json.loads(run(["ip", "-n", node.name, "-j", "link", "show"])):
                self.macs[(node.name, link["ifname"])] = link.get("address", "")
        for node in self.lab.nodes:
            lines = [self._neighbour(node.name, iface.name, cut=False) for iface in node.interfaces]
            run(["ip", "-n", node.name, "-batch", "-"], stdin="\n".join(lines) + "\n")

    def _neighbour(self, node: str, iface: str, *, cut: bool) -> str:
        """The `ip neigh` command pinning ``iface``'s peer: at its own MAC, or at one nobody has."""
        here = next(i for i in self.lab.node(node).interfaces if i.name == iface)
        link = self.lab.link(here.link)
        peer, peer_if = (link.b, link.b_iface) if link.a == node else (link.a, link.a_iface)
        peer_ip = next(i.address for i in self.lab.node(peer).interfaces if i.name == peer_if).split("/")[0]
        mac = CUT_MAC if cut else self.macs[(peer, peer_if)]
        return f"neigh replace {peer_ip} lladdr {mac} dev {iface} nud permanent"

    def start_routers(self, names: Iterable[str] | None = None) -> None:
        """Write each router's configs and start zebra, then bfdd and bgpd (which need zebra)."""
        routers = [self.lab.node(n) for n in names] if names is not None else list(self.lab.routers)
        for node in routers:
            state, home = FRR_STATE / node.name, self.rundir / node.name
            for path in (state, home):
                path.mkdir(exist_ok=True)
                os.chown(path, *self._frr_ids)
            for daemon, text in frr_configs(node).items():
                (home / f"{daemon}.conf").write_text(text, encoding="utf-8")
            self.daemons[node.name] = {}
            self._start_daemon(node, "zebra")
        self._wait(lambda: all((FRR_STATE / n.name / "zserv.api").exists() for n in routers), "zebra to start")
        # bfdd before bgpd: a BFD session bgpd asks for before bfdd has joined zebra can be lost,
        # and BGP then runs without BFD.
        for daemon in ("bfdd", "bgpd"):
            for node in routers:
                self._start_daemon(node, daemon)
            self._wait(lambda d=daemon: all(Vty(n.name, d).alive() for n in routers), f"{daemon} to start")  # type: ignore[misc]

    def _start_daemon(self, node: Node, daemon: str) -> None:
        home = self.rundir / node.name
        out = (home / f"{daemon}.out").open("ab")
        # -P 0: no vty over TCP (the unix socket is enough); foreground, so this process owns it.
        cmd = ["ip", "netns", "exec", node.name, str(FRR_DIR / daemon), "-N", node.name,
               "-f", str(home / f"{daemon}.conf"), "-P", "0"]
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "TZ": "UTC"})
        out.close()
        self.daemons[node.name][daemon] = proc

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float = DAEMON_START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise LabError(f"timed out after {timeout:.0f} s waiting for {what}")
            for node, procs in self.daemons.items():
                for daemon, proc in procs.items():
                    if proc.poll() is not None and node not in self.down_routers:
                        log = (self.rundir / node / f"{daemon}.out").read_text(errors="replace")[-400:]
                        raise LabError(f"{daemon} on {node} exited ({proc.returncode}): {log.strip()}")
            time.sleep(0.05)

    def stop_routers(self, names: Iterable[str], sig: int = signal.SIGKILL) -> None:
        for name in names:
            procs = self.daemons.get(name, {})
            for proc in procs.values():
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
            for proc in procs.values():
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)

    def start_helper(self, node: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.rundir / f"{node}.helper.log").open("ab")
        proc = subprocess.Popen(["ip", "netns", "exec", node, self.python, "-m", *args], stdout=subprocess.PIPE,
                                stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        self.helpers.append(proc)
        return proc

    def start_echo(self, max_seconds: float) -> None:
        self.start_helper(self.lab.vnet_host, "twin.probe", "echo", "--port", str(PROBE_PORT),
                          "--max-seconds", str(max_seconds))

    def teardown(self) -> None:
        """Stop every process and delete every namespace this lab made (best effort, never raises)."""
        for proc in [*self.helpers, *self.charons.values()]:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        for proc in [*self.helpers, *self.charons.values()]:
            with contextlib.suppress(Exception):
                proc.wait(5)
        for name in list(self.daemons):
            with contextlib.suppress(Exception):
                self.stop_routers([name], signal.SIGTERM)
        for name in reversed(self.namespaces):
            with contextlib.suppress(Exception):
                run(["ip", "netns", "del", name])
        self.namespaces.clear()

    # --- queries ------------------------------------------------------------------------------------

    def bgp(self, node: str) -> Vty:
        return Vty(node, "bgpd")

    def neighbors(self, node: str) -> dict[str, Any]:
        return self.bgp(node).json("show bgp neighbors json")

    def routes(self, node: str) -> dict[str, Any]:
        return self.bgp(node).json("show bgp ipv4 unicast json")

    # --- faults -------------------------------------------------------------------------------------

    def _ends(self, link: Link) -> tuple[tuple[str, str], tuple[str, str]]:
        return (link.a, link.a_iface), (link.b, link.b_iface)

    def cut(self, link_id: str) -> None:
        """Cut a link silently: both ends keep carrier but address their frames to a MAC nobody has.

        The peer's interface discards every frame (not addressed to it) and the sender's stack sees
        each one leave normally, as when a provider's path black-holes traffic. A VPN tunnel is cut
        on the internet, between its two outside addresses (:meth:`_internet_path`): IKE and ESP stop,
        so dead-peer detection sees it as the clouds' would.
        """
        link = self.lab.link(link_id)
        if link.kind == "vpn-tunnel":
            self._internet_path(self.lab.tunnel(link_id).id, cut=True)
            self.broken_links.add(link_id)
            return
        for node, iface in self._ends(link):
            run(["ip", "-n", node, *self._neighbour(node, iface, cut=True).split()])
        self.broken_links.add(link_id)

    def _internet_path(self, tunnel_id: str, *, cut: bool) -> None:
        """Lose (or restore) the internet path of one tunnel: at each end, a policy-routing rule black-holes
        what it sends from its outside address to the other's; the other tunnels, which share the link and
        one of the two addresses, keep theirs."""
        t = self.lab.tunnel(tunnel_id)
        verb = "add" if cut else "del"
        for node, src, dst in ((t.aws, t.aws_outside, t.azure_outside), (t.azure, t.azure_outside, t.aws_outside)):
            run(["ip", "-n", node, "rule", verb, "priority", "100", "from", src, "to", dst, "blackhole"])

    def mend(self, link_id: str) -> None:
        if self.lab.link(link_id).kind == "vpn-tunnel":
            self._internet_path(link_id, cut=False)
            self.broken_links.discard(link_id)
            return
        for node, iface in self._ends(self.lab.link(link_id)):
            run(["ip", "-n", node, *self._neighbour(node, iface, cut=False).split()])
        self.broken_links.discard(link_id)

    def carrier_down(self, link_id: str, node: str) -> None:
        """Take ``node``'s end of a link down: the other end loses carrier at once (a veth pair)."""
        end = next(e for e in self._ends(self.lab.link(link_id)) if e[0] == node)
        run(["ip", "-n", end[0], "link", "set", "dev", end[1], "down"])
        self.broken_links.add(link_id)

    def carrier_up(self, link_id: str) -> None:
        """Bring both ends up again and pin their neighbours anew (a link taken down drops its entries)."""
        for node, iface in self._ends(self.lab.link(link_id)):
            run(["ip", "-n", node, "link", "set", "dev", iface, "up"])
        for node, iface in self._ends(self.lab.link(link_id)):
            run(["ip", "-n", node, *self._neighbour(node, iface, cut=False).split()])
        self.broken_links.discard(link_id)

    def router_down(self, name: str) -> None:
        """The router stops dead: nothing leaves it any more, then its daemons are killed."""
        node = self.lab.node(name)
        run(["tc", "-n", name, "-batch", "-"], stdin="".join(
            f"qdisc add dev {i.name} root {' '.join(DROP_QDISC)}\n" for i in node.interfaces))
        self.down_routers.add(name)
        self.stop_routers([name])

    def router_up(self, name: str) -> None:
        node = self.lab.node(name)
        run(["tc", "-n", name, "-batch", "-"], stdin="".join(f"qdisc del dev {i.name} root\n" for i in node.interfaces))
        # The killed zebra left its routes in the kernel; the new one sweeps them as it starts.
        self.start_routers([name])
        self.down_routers.discard(name)

    # --- probe --------------------------------------------------------------------------------------

    def start_probe(self, max_seconds: float) -> Probe:
        proc = self.start_helper(self.lab.vpc_host, "twin.probe", "send", "--target", self.lab.vnet_address,
                                 "--port", str(PROBE_PORT), "--flows", str(PROBE_FLOWS), "--pps", str(PROBE_PPS),
                                 "--max-seconds", str(max_seconds))
        return Probe(proc)


class Probe:
    """A running probe; :meth:`stop` returns its summary."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def wait_ready(self, timeout: float) -> bool:
        """Whether a first reply came back within ``timeout`` seconds."""
        assert self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return bool(readable) and self.proc.stdout.readline().strip() == b"ready"

    def stop(self) -> Summary:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=PROBE_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise LabError("the probe did not stop") from None
        lines = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
        if not lines:
            raise LabError(f"the probe printed no summary (exit {self.proc.returncode})")
        return Summary.from_json(lines[-1])
