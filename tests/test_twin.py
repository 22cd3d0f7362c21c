"""The BGP twin for real: FRR routers in network namespaces, as `bridgectl twin` runs them.

These need root and FRR (Debian package frr). They never skip: without either, `bridgectl twin`
exits 3 and the tests fail with its message (CI installs FRR; .ci/run).

The only timed assertions are the issue's acceptance properties, checked on the twin's own measured
figures (and reported by the twin itself as each scenario's `passed`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.loader import load_stack
from stacks.plan import plan_bridge
from twin import sandbox
from twin.render import build_lab, dpd_detection_s
from twin.scenarios import (
    DPD_MARGIN_S,
    MAX_BACKUP_OUTAGE_MS,
    MAX_DETECTION_MS,
    MAX_DRAIN_LOST_PACKETS,
    MAX_OUTAGE_MS,
)

pytestmark = pytest.mark.twin

ROOT = Path(__file__).resolve().parent.parent
BRIDGECTL = Path(sys.executable).with_name("bridgectl")

# The bars for a full run on a 2-core machine (the hold-timer scenario alone waits 60-90 s): dev (with its
# VPN backup, whose tunnel loss waits out a 30 s hold timer) within 4 minutes, prod (two metros, more
# scenarios) within 4.
FULL_RUN_BUDGET_S = 240
PROD_RUN_BUDGET_S = 240
# Bounds on the subprocesses, so a hung run fails the test instead of the CI job's timeout.
RUN_TIMEOUT_S = 400
# After the run (or a kill), how long the kernel may take to reap the sandbox's processes.
REAP_TIMEOUT_S = 10.0


# Where a charon started without the lab's own /run would keep its pid file and vici socket.
HOST_IPSEC_FILES = (Path("/run/charon.pid"), Path("/run/charon.vici"), Path("/run/charon.ctl"))


@dataclass(frozen=True)
class HostState:
    """What the twin could leave behind on the host."""

    netns: frozenset[str]
    links: frozenset[str]
    frr: frozenset[int]
    runners: frozenset[int]
    #: the host's kernel IPsec state and policies (the twin's ESP runs in userspace: twin.render explains)
    xfrm: frozenset[str] = frozenset()
    #: IKE daemons (the twin runs one per VPN end, inside its sandbox)
    charon: frozenset[int] = frozenset()
    #: files a charon or `ip netns exec` could leave on the host: pid files, vici sockets, /etc/netns
    files: frozenset[str] = frozenset()


def _lines(cmd: list[str]) -> list[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.split("\n")


def _pids(fragment: str) -> frozenset[int]:
    """Processes whose command line contains ``fragment`` (pgrep -f, without needing procps)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # gone meanwhile
            if fragment in cmdline:
                found.add(int(entry.name))
    return frozenset(found - {os.getpid()})


def host_state() -> HostState:
    return HostState(
        netns=frozenset(ln.split()[0] for ln in _lines(["ip", "netns", "list"]) if ln.strip()),
        links=frozenset(ln.split()[0] for ln in _lines(["ip", "-br", "link"]) if ln.strip()),
        frr=_pids("/usr/lib/frr/"),
        runners=_pids("twin.runner"),
        xfrm=frozenset(ln for cmd in (["ip", "xfrm", "state"], ["ip", "xfrm", "policy"]) for ln in _lines(cmd)
                       if ln.strip()),
        charon=_pids("charon"),
        files=frozenset(str(p) for p in (*HOST_IPSEC_FILES, *Path("/etc/netns").glob("*"),
                                         *Path("/run").glob("*.vici"), *Path("/run/twin").glob("*"))
                        if p.exists()))


def assert_nothing_left(before: HostState) -> None:
    """No namespace, link, FRR process or sandbox the twin made survives it (polled, bounded)."""
    deadline = time.monotonic() + REAP_TIMEOUT_S
    while True:
        after = host_state()
        left = HostState(after.netns - before.netns, after.links - before.links, after.frr - before.frr,
                         after.runners - before.runners, after.xfrm - before.xfrm, after.charon - before.charon,
                         after.files - before.files)
        if not (left.netns or left.links or left.frr or left.runners or left.xfrm or left.charon or left.files) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left.netns, f"namespaces left behind: {sorted(left.netns)}"
    assert not left.links, f"links left behind: {sorted(left.links)}"
    assert not left.frr, f"FRR processes left behind: {sorted(left.frr)}"
    assert not left.runners, f"twin sandboxes left behind: {sorted(left.runners)}"
    assert not left.xfrm, f"IPsec state or policies left behind: {sorted(left.xfrm)}"
    assert not left.charon, f"IKE daemons left behind: {sorted(left.charon)}"
    assert not left.files, f"files left behind: {sorted(left.files)}"


@dataclass(frozen=True)
class Run:
    code: int
    report: dict[str, Any]
    stderr: str

    def scenario(self, name: str) -> dict[str, Any]:
        return next(s for s in self.report["scenarios"] if s["name"] == name)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [s for s in self.report["scenarios"] if s["kind"] == kind]


def twin(project: Path, *args: str, stack: str = "dev") -> Run:
    done = subprocess.run([str(BRIDGECTL), "-C", str(project), "twin", stack, "--json", *args], capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode in (0, 1), f"bridgectl twin exited {done.returncode}: {done.stderr[-2000:]}"
    return Run(done.returncode, json.loads(done.stdout), done.stderr)


@pytest.fixture(scope="module")
def dev_run() -> Iterator[tuple[Run, HostState]]:
    before = host_state()
    yield twin(ROOT), before


# --- the dev stack: two routers in one metro, one circuit, every scenario ------------------------------------


def test_dev_twin_converges_with_every_check(dev_run: tuple[Run, HostState]) -> None:
    run, _ = dev_run
    assert run.report["stack"] == "dev"
    assert run.report["converged"] is True, run.report["problems"]
    checks = {c["name"]: c for c in run.report["checks"]}
    assert set(checks) == {"sessions", "ipsec", "md5", "routes", "data-plane"}
    assert all(c["passed"] for c in checks.values()), [c for c in checks.values() if not c["passed"]]
    # behaviour: a wrong key kept a transit VIF and an ExpressRoute link down; the peering shares one key
    assert "stayed down for 2 s with a wrong key" in checks["md5"]["detail"]
    assert "azure: fcr-a/azure-primary, fcr-b/azure-secondary" in checks["md5"]["detail"]


def test_dev_twin_with_its_backup_survives_every_single_failure(dev_run: tuple[Run, HostState]) -> None:
    """dev's one circuit and one metro are single points of failure of the private path; with the VPN backup
    (bridge:vpnBackup) losing either moves traffic to the VPN, so every scenario passes and the run exits 0."""
    run, _ = dev_run
    scenarios = run.report["scenarios"]
    assert {s["kind"] for s in scenarios} == {"link-cut", "loud-cut", "router-down", "circuit-down", "metro-down",
                                              "drain", "circuit-drain", "bfd-off", "prefix-limit", "backup-failover",
                                              "backup-failback", "backup-down"}
    assert len(run.of_kind("link-cut")) == 4 and len(run.of_kind("router-down")) == 2
    assert len(run.of_kind("drain")) == 2 and run.of_kind("double-fault") == []
    for s in scenarios:
        assert {"name", "kind", "passed", "detectionMs", "outageMs", "lostPackets", "sentPackets",
                "recoveredAfter", "singlePoints", "vpnPackets", "vpnPacketsBefore"} <= set(s)
    assert [(s["name"], s["failures"]) for s in scenarios if not s["passed"]] == []
    for name in ("circuit-down Washington DC", "metro-down DC"):
        s = run.scenario(name)
        assert s["singlePoints"] == [] and s["routesLost"] == 0 and s["recovered"] is True, s
        assert s["vpnPackets"] > 0 and s["vpnPacketsBefore"] == 0, s
        assert s["detectionMs"] <= MAX_DETECTION_MS and s["outageMs"] < MAX_BACKUP_OUTAGE_MS, s
    # double failures that leave only the VPN are not run (backup-failover covers them) and say so
    assert run.report["exposures"] and all(e["backupCarries"] for e in run.report["exposures"])
    assert all(p.endswith("(the VPN backup carries the traffic)") for p in run.report["singlePoints"])
    assert run.code == 0


def test_backup_takes_over_gives_back_and_survives_a_tunnel_loss(dev_run: tuple[Run, HostState]) -> None:
    run, _ = dev_run
    over = run.scenario("backup-failover")
    assert over["detectionMs"] <= MAX_DETECTION_MS and over["outageMs"] < MAX_BACKUP_OUTAGE_MS, over
    assert over["vpnPackets"] > 0 and over["vpnPacketsBefore"] == 0 and over["routesLost"] == 0, over
    back = run.scenario("backup-failback")
    assert back["lostPackets"] == 0 and back["sentPackets"] > 0, back
    assert back["vpnPacketsBefore"] > 0 and back["vpnPackets"] == 0, back  # on the VPN, then off it
    down = run.scenario("backup-down vpn1-t1")
    assert down["lostPackets"] == 0 and down["vpnPackets"] == 0 and "Hold Timer Expired" in down["detail"], down
    assert MAX_DETECTION_MS < down["detectionMs"] <= 30_000 + 1500, down


def test_every_tunnel_is_ipsec_and_nothing_crosses_the_internet_in_the_clear(dev_run: tuple[Run, HostState]) -> None:
    run, _ = dev_run
    ipsec = {c["name"]: c for c in run.report["checks"]}["ipsec"]
    assert ipsec["passed"], ipsec
    assert "4 tunnels: IKEv2 SA and ESP CHILD_SA up at both ends" in ipsec["detail"], ipsec
    assert "ESP-in-UDP packets and no VXLAN in the clear" in ipsec["detail"], ipsec
    # Every BGP session over the tunnels came up through them (the sessions check, with the tunnels' four).
    assert {c["name"]: c for c in run.report["checks"]}["sessions"]["passed"]


def test_dead_peer_detection_ends_a_cut_tunnels_ike_sa_when_configured(dev_run: tuple[Run, HostState]) -> None:
    """The tunnel cut on the internet (IKE and ESP lost): the hold timer ends BGP first, then each end's
    charon gives up on its R_U_THERE within the window the plan's 40 s DPD timeout sets."""
    run, _ = dev_run
    down = run.scenario("backup-down vpn1-t1")
    earliest, latest = dpd_detection_s(40)
    assert set(down["dpdMs"]) == {"tgw", "vpngw"}, down
    for node, ms in down["dpdMs"].items():
        assert (earliest - DPD_MARGIN_S) * 1000 <= ms <= (latest + DPD_MARGIN_S) * 1000, (node, down)
        assert ms > down["detectionMs"], down  # BGP's 30 s hold timer is the quicker
    assert down["passed"] and down["recoveredAfter"] is True, down


def test_no_probe_packet_crosses_the_vpn_while_a_private_path_is_up(dev_run: tuple[Run, HostState]) -> None:
    run, _ = dev_run
    checks = {c["name"]: c for c in run.report["checks"]}
    assert "0 crossed the VPN backup" in checks["data-plane"]["detail"]
    for s in run.report["scenarios"]:
        if s["kind"] in ("link-cut", "loud-cut", "router-down", "drain", "circuit-drain", "bfd-off", "prefix-limit"):
            assert s["vpnPackets"] == 0 and s["vpnPacketsBefore"] == 0, s


def test_without_its_backup_dev_fails_exactly_its_single_points_of_failure(project: Path) -> None:
    """The same stack without bridge:vpnBackup: losing the circuit or the metro cuts AWS from Azure, and
    the twin fails those scenarios naming the single point of failure (exit 1)."""
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"].pop("bridge:vpnBackup", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    before = host_state()
    run = twin(project, "-s", "circuit-down", "-s", "metro-down")
    failed = {s["name"]: s for s in run.report["scenarios"] if not s["passed"]}
    assert set(failed) == {"circuit-down Washington DC", "metro-down DC"}, failed
    for s in failed.values():
        assert s["failures"][0].endswith("a single point of failure; the topology cannot survive this fault"), s
        assert "the only circuit, at Washington DC" in s["singlePoints"], s
        # traffic lost for good while the fault lasted, both prefixes gone, then back once repaired
        assert s["recovered"] is False and s["routesLost"] == 2 and s["recoveredAfter"] is True, s
        assert s["outageMs"] > MAX_OUTAGE_MS and s["lostPackets"] > s["sentPackets"] // 2, s
        assert s["vpnPackets"] is None, s
    assert failed["metro-down DC"]["singlePoints"][0] == "metro DC"
    assert run.report["singlePoints"] == ["metro DC", "the only circuit, at Washington DC"]
    assert {"faults": ["router fcr-a", "router fcr-b"], "lacks": "a third router", "backupCarries": False} \
        in run.report["exposures"]
    assert run.code == 1
    assert_nothing_left(before)


def test_every_single_link_or_router_loss_is_survived_within_the_bars(dev_run: tuple[Run, HostState]) -> None:
    run, _ = dev_run
    for s in run.of_kind("link-cut") + run.of_kind("router-down") + run.of_kind("loud-cut"):
        assert s["detectionMs"] is not None and s["detectionMs"] <= MAX_DETECTION_MS, s
        assert s["outageMs"] is not None and s["outageMs"] <= MAX_OUTAGE_MS, s
        assert s["recovered"] is True and s["routesLost"] == 0 and s["recoveredAfter"] is True, s
        # The fault hit traffic: some probe flows crossed the failed link or router.
        assert s["lostPackets"] > 0 and s["flowsHit"] > 0, s
        if s["kind"] == "loud-cut":  # the NOTIFICATION or the carrier loss, whichever FRR records first
            assert "Cease" in s["detail"] or "Interface down" in s["detail"], s
        else:
            assert "Cease/BFD Down" in s["detail"], s
    for s in run.of_kind("loud-cut"):  # carrier loss and a NOTIFICATION: no waiting for BFD
        assert s["detectionMs"] < 200, s


def test_health_names_exactly_what_each_fault_took_down(dev_run: tuple[Run, HostState]) -> None:
    """`bridgectl health`'s evaluation, run on the routers during each fault (twin/health.py)."""
    run, _ = dev_run
    for s in run.report["scenarios"]:
        assert s["healthMatched"] is True, s
    # A link cut names its session, both directions on it, and what its router no longer passes on.
    assert "named exactly 1 session(s) and 3 prefix(es)" in run.scenario("link-cut fcr-a/aws")["healthDetail"]
    assert "named exactly 2 session(s)" in run.scenario("router-down fcr-a")["healthDetail"]
    assert "named exactly 0 session(s)" in run.scenario("drain fcr-a/azure-primary")["healthDetail"]


def test_every_drain_loses_no_packet(dev_run: tuple[Run, HostState]) -> None:
    run, _ = dev_run
    for s in run.of_kind("drain") + run.of_kind("circuit-drain"):
        assert s["lostPackets"] == MAX_DRAIN_LOST_PACKETS and s["sentPackets"] > 0, s
        assert s["passed"], s


@pytest.mark.parametrize("name", ["prefix-limit fcr-a/aws", "prefix-limit fcr-a/azure-primary"])
def test_prefix_limit_takes_the_session_down_as_the_provider_does(dev_run: tuple[Run, HostState], name: str) -> None:
    run, _ = dev_run
    s = run.scenario(name)
    assert s["passed"], s
    assert "Maximum Number of Prefixes Reached" in s["detail"], s
    assert s["routesLost"] == 0 and s["outageMs"] <= MAX_OUTAGE_MS  # fcr-b's links still carry the routes


def test_without_bfd_only_the_hold_timer_finds_a_silent_cut(dev_run: tuple[Run, HostState]) -> None:
    run, _ = dev_run
    s = run.scenario("bfd-off fcr-a/aws")
    assert s["passed"], s
    assert "Hold Timer Expired" in s["detail"], s
    assert s["detectionMs"] > MAX_DETECTION_MS and s["outageMs"] > MAX_OUTAGE_MS


def test_full_dev_run_fits_the_budget(dev_run: tuple[Run, HostState]) -> None:
    run, _ = dev_run
    assert run.report["seconds"] < FULL_RUN_BUDGET_S


def test_dev_run_leaves_nothing_behind(dev_run: tuple[Run, HostState]) -> None:
    _, before = dev_run
    assert_nothing_left(before)


# --- the prod stack: two metros, two circuits, no single point of failure --------------------------------------


@pytest.fixture(scope="module")
def prod_run() -> Iterator[tuple[Run, HostState]]:
    before = host_state()
    yield twin(ROOT, stack="prod"), before


def test_prod_twin_survives_every_single_and_survivable_double_failure(prod_run: tuple[Run, HostState]) -> None:
    run, before = prod_run
    assert run.report["converged"] is True, run.report["problems"]
    scenarios = run.report["scenarios"]
    assert {s["kind"] for s in scenarios} == {"link-cut", "loud-cut", "router-down", "circuit-down", "metro-down",
                                              "double-fault", "drain", "circuit-drain", "bfd-off", "prefix-limit"}
    assert [s["name"] for s in scenarios if not s["passed"]] == [], [
        (s["name"], s["failures"]) for s in scenarios if not s["passed"]]
    assert run.code == 0 and run.report["singlePoints"] == []
    for s in scenarios:
        assert s["singlePoints"] == [] and s["recoveredAfter"] is True and s["routesLost"] == 0, s
        if s["kind"] in ("link-cut", "loud-cut", "router-down", "circuit-down", "metro-down", "double-fault"):
            assert s["detectionMs"] <= MAX_DETECTION_MS and s["outageMs"] <= MAX_OUTAGE_MS, s
            assert s["recovered"] is True and s["healthMatched"] is True, s
        if s["kind"] in ("drain", "circuit-drain"):
            assert s["lostPackets"] == MAX_DRAIN_LOST_PACKETS, s
    assert len(run.of_kind("circuit-down")) == 2 and len(run.of_kind("metro-down")) == 2
    assert len(run.of_kind("double-fault")) == 2
    assert len(run.report["exposures"]) == 9
    assert run.report["seconds"] < PROD_RUN_BUDGET_S
    assert_nothing_left(before)


# --- the VPN backup's preference, said no to by real FRR -------------------------------------------------


def test_a_lab_whose_vpn_would_win_fails_the_routes_check(project: Path) -> None:
    """The same lab with the VPN's preference inverted (its routes above the private path's): FRR selects the
    VPN at both edges, and the lab never matches the design's tables (the `routes` check)."""
    plan = plan_bridge(load_stack(project, "dev").spec)  # type: ignore[arg-type]
    lab = build_lab(plan)
    inverted = dataclasses.replace(lab, nodes=tuple(
        dataclasses.replace(n, neighbors=tuple(dataclasses.replace(nb, local_pref=150) if nb.local_pref else nb
                                               for nb in n.neighbors)) for n in lab.nodes))
    before = host_state()
    sink: queue.Queue[tuple[str, dict[str, Any] | None]] = queue.Queue()
    box = sandbox.Sandbox("main", inverted, [], keep=None, max_seconds=120, converge_timeout_s=8)
    try:
        box.start(sink)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _, event = sink.get(timeout=deadline - time.monotonic())
            if event is None:
                break
    finally:
        box.stop()
    converged = next(e for e in box.events if e["event"] == "converged")
    assert converged["ok"] is False
    problems = converged["problems"]
    tunnel = lab.tunnels[0]
    tgw = next(p for p in problems if p.startswith("tgw: 10.20.0.0/22 has"))
    # the VPN's path selected, the Direct Connect paths not: the opposite of the design
    assert f"from vpngw via {tunnel.azure_address}, AS path [65515];" in tgw.split("; expected")[0], tgw
    assert "from aws-dx-fcr-a, AS path [64513 64999 12076 65515], not selected" in tgw.split("; expected")[0], tgw
    assert any(p.startswith("ergw: 10.10.0.0/16 has") and "from vpngw, AS path [64512];" in p for p in problems)
    assert_nothing_left(before)


# --- a wrong pre-shared key: IKE fails, that tunnel stays down, and the checks say which -------------------


def _run_lab(lab: Any, timeout: float = 120) -> sandbox.Sandbox:
    sink: queue.Queue[tuple[str, dict[str, Any] | None]] = queue.Queue()
    box = sandbox.Sandbox("main", lab, [], keep=None, max_seconds=timeout, converge_timeout_s=12)
    try:
        box.start(sink)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, event = sink.get(timeout=deadline - time.monotonic())
            if event is None:
                break
    finally:
        box.stop()
    return box


def test_a_wrong_pre_shared_key_keeps_its_tunnel_down_and_the_checks_name_it(project: Path) -> None:
    plan = plan_bridge(load_stack(project, "dev").spec)  # type: ignore[arg-type]
    lab = build_lab(plan)
    bad = lab.tunnels[3]
    wrong = dataclasses.replace(bad, azure_psk=bad.aws_psk[::-1] + "x")
    lab = dataclasses.replace(lab, tunnels=(*lab.tunnels[:3], wrong))
    before = host_state()
    box = _run_lab(lab)
    converged = next(e for e in box.events if e["event"] == "converged")
    assert converged["ok"] is False
    checks = {c["name"]: c for c in next(e for e in box.events if e["event"] == "checks")["checks"]}
    sessions, ipsec = checks["sessions"], checks["ipsec"]
    assert not sessions["passed"] and f"over VPN tunnel {bad.id} " in sessions["detail"], sessions
    assert not ipsec["passed"] and f"IPsec SA of VPN tunnel {bad.id} is" in ipsec["detail"], ipsec
    for t in lab.tunnels[:3]:  # the other tunnels' keys match: their SAs and sessions are up
        assert t.id not in sessions["detail"] and t.id not in ipsec["detail"], (sessions, ipsec)
    assert "in the clear" not in ipsec["detail"], ipsec  # a tunnel without its SA carries nothing at all
    assert_nothing_left(before)


# --- a single router: the outage validate warns about ---------------------------------------------------


def test_losing_the_only_router_is_an_outage(project: Path) -> None:
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    exchange = data["config"]["bridge:exchange"]
    exchange["routers"] = [r for r in exchange["routers"] if r["name"] != "fcr-b"]
    # The private path alone: with dev's VPN backup, losing the router moves traffic to the VPN instead.
    data["config"].pop("bridge:vpnBackup", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    before = host_state()
    # The hold-timer scenario does not depend on how many routers there are (the dev run covers it).
    run = twin(project, "-s", "link-cut", "-s", "router-down", "-s", "drain", "-s", "prefix-limit")
    assert "single point of failure" in run.stderr  # validate's warning, repeated by the twin
    assert run.report["converged"] is True, run.report["problems"]
    assert run.code == 1

    down = run.scenario("router-down fcr-a")
    assert not down["passed"]
    assert down["recovered"] is False and down["routesLost"] == 2, down
    assert down["outageMs"] > MAX_OUTAGE_MS and down["lostPackets"] > down["sentPackets"] // 2, down
    assert down["singlePoints"][:2] == ["router fcr-a", "the AWS device of router fcr-a"], down
    assert not run.scenario("link-cut fcr-a/aws")["passed"]  # the only transit VIF
    # Over its prefix limit the only transit VIF drops: traffic is lost for good, and the judge says so.
    limit = run.scenario("prefix-limit fcr-a/aws")
    assert not limit["passed"] and limit["recovered"] is False and limit["routesLost"] > 0, limit
    assert "the AWS device of router fcr-a" in limit["failures"][0], limit
    # Health still names exactly what went: with one router, its AWS session down takes the AWS
    # prefixes off both ExpressRoute sessions.
    assert run.scenario("link-cut fcr-a/aws")["healthMatched"] is True, run.scenario("link-cut fcr-a/aws")
    assert run.scenario("router-down fcr-a")["healthMatched"] is True, down
    # Each ExpressRoute link still has the other, on the same router.
    for name in ("link-cut fcr-a/azure-primary", "link-cut fcr-a/azure-secondary", "drain fcr-a/azure-primary",
                 "drain fcr-a/azure-secondary", "prefix-limit fcr-a/azure-primary"):
        assert run.scenario(name)["passed"], run.scenario(name)
    assert_nothing_left(before)


# --- interrupted or killed mid-scenario: nothing left either -----------------------------------------------


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 130), (signal.SIGKILL, -9)])
def test_interrupted_run_leaves_nothing_behind(sig: signal.Signals, code: int) -> None:
    before = host_state()
    # SIGINT restored to its default: a runner started in the background hands it down ignored.
    proc = subprocess.Popen([str(BRIDGECTL), "-C", str(ROOT), "twin", "dev", "-s", "link-cut fcr-a/aws"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stderr is not None
    seen = []
    try:
        deadline = time.monotonic() + 120
        for line in proc.stderr:  # progress lines; the fault is in place once this one shows
            seen.append(line)
            if "fault injected" in line or time.monotonic() > deadline:
                break
        assert any("fault injected" in ln for ln in seen), "".join(seen)
        assert host_state().frr - before.frr, "no FRR process was running"
        assert host_state().charon - before.charon, "no IKE daemon was running"
        proc.send_signal(sig)
        assert proc.wait(60) == code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert_nothing_left(before)
