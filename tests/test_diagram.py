"""bridgectl diagram: the topology rendered by Graphviz, checked in the output itself.

SVG is parsed and must name every router, every link's /30 and both ASNs of each session, and show
the ExpressRoute primary apart from the secondary; PNG must be a real, non-trivial image.
"""

from __future__ import annotations

import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bridgectl import diagram
from bridgectl.cli import main
from stacks.loader import load_stack
from stacks.plan import BridgePlan, plan_bridge
from stacks.spec import BridgeSpec

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed (make system-deps)")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("project")
    for name in ["Pulumi.yaml", "__main__.py", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))]:
        shutil.copy(ROOT / name, tmp / name)
    for p in FIXTURES.glob("Pulumi.*.yaml"):
        shutil.copy(p, tmp / p.name)
    return tmp


def _plan(project: Path, stack: str) -> BridgePlan:
    spec = load_stack(project, stack).spec
    assert isinstance(spec, BridgeSpec)
    return plan_bridge(spec)


def _svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return "\n".join(t for t in root.itertext() if t.strip())


@pytest.fixture(scope="module")
def rendered(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed (make system-deps)")
    out = tmp_path_factory.mktemp("diagrams")
    files = {}
    for stack, ext in (("dev", "svg"), ("dev", "png"), ("dev.acme", "svg"), ("dev.acme", "png"), ("cwan", "svg"),
                       ("solo", "svg")):
        path = out / f"{stack}.{ext}"
        assert main(["-C", str(project), "diagram", stack, "-o", str(path)]) == 0
        files[f"{stack}.{ext}"] = path
    return files


@needs_dot
@pytest.mark.parametrize("stack", ["dev", "cwan", "solo"])
def test_bridge_svg_shows_every_link(project: Path, rendered: dict[str, Path], stack: str) -> None:
    text = _svg_text(rendered[f"{stack}.svg"])
    plan = _plan(project, stack)
    for router in plan.routers:
        assert f"Fabric Cloud Router {router.name}" in text
    for s in plan.sessions:
        assert str(s.link) in text
        assert f"{s.fcr.asn} <-> {s.cloud.asn}" in text or f"{s.cloud.asn} <-> {s.fcr.asn}" in text
    assert f"ASN {plan.dxgw_asn}" in text
    assert f"BFD {plan.bfd.interval_ms} ms x {plan.bfd.multiplier}" in text
    assert "ExpressRoute PRIMARY" in text and "ExpressRoute secondary" in text
    assert f"VLAN {plan.azure.vlan}" in text
    if plan.tgw_asn is not None:
        assert "Transit gateway" in text and f"ASN {plan.tgw_asn}" in text
    else:
        assert "Cloud WAN core network" in text


@needs_dot
def test_primary_is_drawn_apart_from_secondary(rendered: dict[str, Path]) -> None:
    svg = rendered["dev.svg"].read_text()
    # The primary link is thick and solid, the secondary dashed.
    assert 'stroke-width="3.5"' in svg
    assert "stroke-dasharray" in svg


@needs_dot
def test_customer_svg_shows_endpoints_and_names(rendered: dict[str, Path]) -> None:
    text = _svg_text(rendered["dev.acme.svg"])
    for needle in ("private endpoint snowflake", "private endpoint lakehouse", "interface endpoint warehouse",
                   "acme-xy12345.east-us-2.privatelink.snowflakecomputing.com", "hub endpoint subnet",
                   "10.20.1.0/24", "bridge dev"):
        assert needle in text, needle


@needs_dot
@pytest.mark.parametrize("name", ["dev.png", "dev.acme.png"])
def test_png_is_a_real_image(rendered: dict[str, Path], name: str) -> None:
    data = rendered[name].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 600 and height > 400
    assert len(data) > 30_000


def test_dot_source_without_graphviz(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagram.shutil, "which", lambda _: None)
    out = tmp_path / "dev.dot"
    assert main(["-C", str(project), "diagram", "dev", "-o", str(out)]) == 0
    source = out.read_text()
    assert source.startswith('digraph "bridge-dev"') and "fcr_a -> msee_primary" in source
    # Rendering needs dot: a missing prerequisite (exit 3), not a traceback.
    assert main(["-C", str(project), "diagram", "dev", "-o", str(tmp_path / "dev.svg")]) == 3


def test_bad_output_name_and_bad_stack(project: Path, tmp_path: Path) -> None:
    assert main(["-C", str(project), "diagram", "dev", "-o", str(tmp_path / "dev.jpg")]) == 2
    assert main(["-C", str(project), "diagram", "nosuch", "-o", str(tmp_path / "x.svg")]) == 2


def test_dot_quoting() -> None:
    assert diagram._q('a "b"\nc\\d') == '"a \\"b\\"\\nc\\\\d"'
