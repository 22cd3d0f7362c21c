"""The program as the Pulumi engine runs it: config from the engine's environment (structured values
as JSON, secret keys listed apart), a bad config stopping with one line per problem and no
resource, the offline plan's guard against duplicate URNs, and the runtime settings it runs under."""

from __future__ import annotations

import contextlib
import gc
import json
import shutil
import weakref
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from bridgectl.offline import MockContext, Registration, duplicate_urns, offline_runtime, run_program, stack_config
from stacks import program
from stacks.fields import SecretRef
from stacks.problems import ConfigError
from stacks.spec import BridgeSpec

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _engine_env(monkeypatch: pytest.MonkeyPatch, config: dict[str, Any]) -> None:
    """What the language host hands a program: PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS."""
    pulumi.runtime.set_all_config({}, [])
    flat, secret_keys = stack_config(config)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(flat))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret_keys))


def test_runtime_config_decodes_structure_and_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    config = yaml.safe_load((FIXTURES / "Pulumi.cwan.yaml").read_text())["config"]
    _engine_env(monkeypatch, config)
    cfg = program.runtime_config()
    assert cfg["bridge:aws"]["coreNetwork"]["asnRanges"] == ["64600-64699"]
    # The engine decrypted the keys; the program turns them back into opaque markers at once.
    assert cfg["bridge:bgpAuthKeys"] == {"fcr-east-1-aws": {"secure": "[decrypted at deploy time]"},
                                         "azure": {"secure": "[decrypted at deploy time]"}}
    from stacks.spec import parse_config

    spec, _ = parse_config("cwan", cfg)
    assert isinstance(spec, BridgeSpec)
    assert spec.bgp_auth_keys == {"fcr-east-1-aws": SecretRef("bridge:bgpAuthKeys.fcr-east-1-aws"),
                                  "azure": SecretRef("bridge:bgpAuthKeys.azure")}


def test_bad_config_stops_before_any_resource(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    config["bridge:aws"]["directConnectGatewayAsn"] = 64512
    config["bridge:exchange"]["bandwidthMbps"] = 999
    with pytest.raises(ConfigError) as info:
        run_program(tmp_path, "dev", config, MockContext(stack="dev"))
    lines = [p.line() for p in info.value.problems]
    assert len(lines) == 2, lines
    assert any("bridge:aws.directConnectGatewayAsn: 64512 equals transitGatewayAsn" in line for line in lines)
    assert any("bridge:exchange.bandwidthMbps: 999" in line for line in lines)


def test_program_reports_config_errors_through_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "error", lambda msg, *a, **k: logged.append(msg))
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    config["bridge:azure"]["hubCidr"] = "10.10.0.0/16"  # overlaps the VPC
    _engine_env(monkeypatch, config)
    with pytest.raises(pulumi.RunError) as info:
        program.main()
    assert "nothing was changed" in str(info.value)
    assert len(logged) == 1 and logged[0].startswith("error: Pulumi.dev.yaml: bridge:azure.hubCidr: ")
    assert "overlaps bridge:aws.vpcs[0].cidr (10.10.0.0/16)" in logged[0]


def test_duplicate_urns_are_reported() -> None:
    def reg(urn: str) -> Registration:
        return Registration(urn, "t", "n", "", True, False, "", {}, [], {})

    problems = duplicate_urns([reg("urn:a"), reg("urn:b"), reg("urn:a")])
    assert [p.path for p in problems] == ["urn:a"]
    assert "duplicate URN" in problems[0].line()


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


@pytest.mark.parametrize("fails", [False, True], ids=["normal", "raising"])
def test_offline_runtime_collects_its_own_garbage_and_restores_the_collector(fails: bool) -> None:
    gc.collect()
    older = _Node()
    older_ref = weakref.ref(older)
    del older  # garbage from before the run: frozen with the rest, not the run's to collect
    refs = []
    was_enabled = gc.isenabled()
    with pytest.raises(RuntimeError) if fails else contextlib.nullcontext(), offline_runtime():
        assert not gc.isenabled()
        refs = [weakref.ref(_Node()) for _ in range(1000)]
        assert all(r() is not None for r in refs)  # nothing collects while the program runs
        if fails:
            raise RuntimeError("the program failed")
    assert all(r() is None for r in refs)  # collected on the way out, failing or not
    assert older_ref() is not None
    assert gc.isenabled() == was_enabled and gc.get_freeze_count() == 0
    gc.collect()
    assert older_ref() is None
