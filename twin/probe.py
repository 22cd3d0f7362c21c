"""The twin's data-plane probe: UDP flows from the VPC host to the VNet host and back.

``echo`` runs on the VNet host and sends every datagram back where it came from. ``send`` runs on the
VPC host: it sends ``--flows`` flows of ``--pps`` packets a second each (each flow from its own source
port, so the routers' layer-4 ECMP hashing spreads them over every path), records every reply,
and on SIGTERM (or after ``--max-seconds``) stops, waits for packets still in flight and prints a
JSON summary. It prints ``ready`` as soon as the first reply arrives, so the runner knows the path
works before it breaks anything.

Every packet carries its flow, sequence number and send time; the summary measures on send times,
so queueing on the way back never counts as outage. The analysis is :func:`analyse`, a pure function.

Stdlib only: this module runs as ``python -m twin.probe`` inside the hosts' namespaces.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import select
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

PORT = 7  # the echo service's port
PACKET = struct.Struct("!HIQ")  # flow, sequence number, send time (monotonic ns)
# Replies still in flight when the sender stops are waited for this long before they count as lost.
LINGER_S = 0.3
# A flow has recovered when its replies run to its last packets (the very last ones may be lost
# to the stop itself).
TAIL_SLACK = 2


@dataclass(frozen=True)
class FlowResult:
    sent: int
    received: int
    longest_gap_ms: float  # the longest stretch without a reply, less one packet interval
    recovered: bool  # replies came back after that gap (it did not last to the end)


@dataclass(frozen=True)
class Summary:
    flows: int
    pps: int
    sent: int
    received: int
    outage_ms: float  # the longest gap of any flow
    recovered: bool  # every flow had replies after its longest gap
    flows_hit: int  # flows that lost at least one packet
    per_flow: tuple[FlowResult, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Summary:
        data: dict[str, Any] = json.loads(text)
        data["per_flow"] = tuple(FlowResult(**f) for f in data["per_flow"])
        return cls(**data)


def analyse(send_times: list[list[int]], received: list[set[int]], pps: int) -> Summary:
    """Measure a probe run.

    ``send_times[f][s]`` is when packet ``s`` of flow ``f`` left (ns), ``received[f]`` the sequence
    numbers whose reply came back. A flow's gaps lie between the send times of consecutive answered
    packets, counting from one interval before the first packet and to one interval after the last,
    so an unanswered start or end is a gap too; a gap of one interval is no outage. A flow whose
    last packets went unanswered had not recovered when the probe stopped.
    """
    interval_ns = 1_000_000_000 / pps
    flows = []
    for times, got in zip(send_times, received, strict=True):
        if not times:
            flows.append(FlowResult(0, 0, 0.0, True))
            continue
        answered = sorted(s for s in got if s < len(times))
        marks = [times[0] - interval_ns, *(times[s] for s in answered), times[-1] + interval_ns]
        longest = max(b - a for a, b in itertools.pairwise(marks)) - interval_ns
        recovered = bool(answered) and answered[-1] >= len(times) - 1 - TAIL_SLACK
        flows.append(FlowResult(len(times), len(answered), round(max(0.0, longest) / 1e6, 1), recovered))
    return Summary(
        flows=len(flows), pps=pps, sent=sum(f.sent for f in flows), received=sum(f.received for f in flows),
        outage_ms=max((f.longest_gap_ms for f in flows), default=0.0),
        recovered=all(f.recovered for f in flows),
        flows_hit=sum(1 for f in flows if f.received < f.sent), per_flow=tuple(flows))


def _echo(port: int, max_seconds: float) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(0.5)
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        try:
            data, peer = sock.recvfrom(2048)
        except TimeoutError:
            continue
        sock.sendto(data, peer)
    return 0


class _Stop(Exception):
    pass


def _send(target: str, port: int, flows: int, pps: int, max_seconds: float) -> int:
    socks = []
    for _ in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind(("0.0.0.0", 0))  # its own source port: its own ECMP hash
        s.connect((target, port))
        s.setblocking(False)
        socks.append(s)
    send_times: list[list[int]] = [[] for _ in range(flows)]
    received: list[set[int]] = [set() for _ in range(flows)]
    # A plain flag, not a threading.Event: Event.set() takes the event's lock, and a signal handler runs in
    # the main thread between two bytecodes, possibly while that thread holds the same lock inside
    # Event.wait(); the handler then waits for itself forever (the probe "did not stop").
    stopping = [False]
    stop_receiving = threading.Event()
    ready = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def receive() -> None:
        while not stop_receiving.is_set():
            readable, _, _ = select.select(socks, [], [], 0.05)
            for s in readable:
                while True:
                    try:
                        data = s.recv(2048)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                    if len(data) < PACKET.size:
                        continue
                    flow, seq, _ = PACKET.unpack_from(data)
                    if flow < flows:
                        received[flow].add(seq)
                        if not ready.is_set():
                            ready.set()
                            print("ready", flush=True)

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    interval = 1.0 / pps
    start = time.monotonic()
    deadline = start + max_seconds
    tick = 0
    while not stopping[0]:
        now = time.monotonic()
        if now >= deadline:
            break
        due = start + tick * interval
        if due > now:
            time.sleep(due - now)  # at most one interval; a signal ends it early (its handler sets the flag)
            continue
        for flow, s in enumerate(socks):
            stamp = time.monotonic_ns()
            with contextlib.suppress(OSError):  # no route for a moment: the packet is simply lost
                s.send(PACKET.pack(flow, tick, stamp))
            send_times[flow].append(stamp)
        tick += 1
    time.sleep(LINGER_S)
    stop_receiving.set()
    receiver.join(1.0)
    print(analyse(send_times, received, pps).to_json(), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin.probe", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    echo = sub.add_parser("echo", help="send every datagram back")
    echo.add_argument("--port", type=int, default=PORT)
    echo.add_argument("--max-seconds", type=float, required=True)
    send = sub.add_parser("send", help="send flows, print a JSON summary")
    send.add_argument("--target", required=True)
    send.add_argument("--port", type=int, default=PORT)
    send.add_argument("--flows", type=int, default=16)
    send.add_argument("--pps", type=int, default=100, help="packets a second per flow")
    send.add_argument("--max-seconds", type=float, required=True)
    args = parser.parse_args(argv)
    if args.mode == "echo":
        return _echo(args.port, args.max_seconds)
    return _send(args.target, args.port, args.flows, args.pps, args.max_seconds)


if __name__ == "__main__":
    sys.exit(main())
