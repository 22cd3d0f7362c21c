"""`bridgectl validate` and friends as a user runs them: exit codes, the lines printed, never a traceback.

Most tests call :func:`bridgectl.cli.main` in-process (fast, output captured by pytest); a few run the
installed console script as a subprocess, exactly as a shell would.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridgectl.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
BRIDGECTL = Path(sys.executable).with_name("bridgectl")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def edit(project: Path, stack: str, change: Any) -> None:
    """Rewrite a stack file of the project copy after ``change(config)``."""
    path = project / f"Pulumi.{stack}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data["config"])
    path.write_text(yaml.safe_dump(data, sort_keys=False))


# --- valid stacks -----------------------------------------------------------------------------------


def test_validate_dev_and_customer(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-C", str(project), "validate", "dev", "dev.acme")
    assert code == 0
    # dev's one metro and one circuit are single points of failure: two warnings
    assert out.splitlines() == ["Pulumi.dev.yaml: valid bridge stack, 2 warning(s)",
                                "Pulumi.dev.acme.yaml: valid customer stack"]
    assert [line.split(": ")[2] for line in err.splitlines()] == ["bridge:exchange.routers", "bridge:azure.circuit"]


def test_validate_by_path(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-C", str(project), "validate", str(project / "Pulumi.dev.acme.yaml"))
    assert (code, out) == (0, "Pulumi.dev.acme.yaml: valid customer stack\n")


def test_quiet_prints_nothing_when_valid(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # prod has no single point of failure, so no warning either
    assert run(capsys, "-C", str(project), "validate", "-q", "prod", "dev.acme") == (0, "", "")


def test_warnings_are_printed_and_exit_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def one_router(cfg: dict[str, Any]) -> None:
        cfg["bridge:exchange"]["routers"] = cfg["bridge:exchange"]["routers"][:1]
        cfg.pop("bridge:vpnBackup")
    edit(project, "dev", one_router)
    code, out, err = run(capsys, "-C", str(project), "validate", "dev")
    assert code == 0
    assert out == "Pulumi.dev.yaml: valid bridge stack, 4 warning(s)\n"
    assert err.splitlines()[:1] == [
        'warning: Pulumi.dev.yaml: bridge:exchange.routers: ["fcr-a"] has a single router: a single point of '
        "failure; losing it cuts AWS from Azure (fix: add a second router in the same metro)"]
    assert all("a single point of failure" in line for line in err.splitlines())


# --- broken copies: exit 2, one line per problem naming the key ---------------------------------------


def _break_bridge(cfg: dict[str, Any]) -> None:
    cfg["bridge:aws"]["accountId"] = 111122223333
    cfg["bridge:aws"]["vpcs"][0]["cidr"] = "10.10.0.0/33"
    cfg["bridge:exchange"]["routers"][1]["metro"] = "NY"
    cfg["bridge:azure"]["circuit"]["peeringVlan"] = 0
    del cfg["bridge:addressing"]["azureLinkPool"]


def _break_customer(cfg: dict[str, Any]) -> None:
    endpoints = cfg["bridge:customer"]["endpoints"]
    endpoints[0]["platform"] = "snowflak"
    endpoints[1]["hostnames"][0] = "adb-1.7.azuredatabricks.net"
    endpoints[2]["service"] = "vpce-svc-0123456789abcdef0"


@pytest.mark.parametrize(("stack", "breaker", "keys"), [
    pytest.param("dev", _break_bridge, ["bridge:aws.accountId", "bridge:aws.vpcs[0].cidr",
                                        "bridge:azure.circuit.peeringVlan", "bridge:addressing.azureLinkPool",
                                        "bridge:exchange.routers[1].metro"], id="bridge"),
    pytest.param("dev.acme", _break_customer, ["bridge:customer.endpoints[0].platform",
                                               "bridge:customer.endpoints[1].hostnames[0]",
                                               "bridge:customer.endpoints[2].service"], id="customer"),
])
def test_broken_copy_is_rejected_one_line_per_problem(project: Path, capsys: pytest.CaptureFixture[str], stack: str,
                                                      breaker: Any, keys: list[str]) -> None:
    edit(project, stack, breaker)
    code, out, err = run(capsys, "-C", str(project), "validate", stack)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert [line.split(": ")[2] for line in lines] == keys
    assert all(line.startswith(f"error: Pulumi.{stack}.yaml: ") and "(fix: " in line for line in lines)
    assert "Traceback" not in err


def test_one_broken_stack_among_several(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(project, "dev.acme", _break_customer)
    code, out, err = run(capsys, "-C", str(project), "validate", "dev", "dev.acme")
    assert code == 2
    assert out == "Pulumi.dev.yaml: valid bridge stack, 2 warning(s)\n"
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 3


def test_customer_of_a_broken_bridge(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(project, "dev", _break_bridge)
    code, _, err = run(capsys, "-C", str(project), "validate", "dev.acme")
    assert code == 2
    assert err == ('error: Pulumi.dev.acme.yaml: bridge:customer.bridgeStack: "dev" names a bridge stack that is not '
                   "valid (Pulumi.dev.yaml) (fix: run `bridgectl validate dev` and fix it first)\n")


# --- files that are not stack files -----------------------------------------------------------------


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param(None, "error: {dir}/Pulumi.nope.yaml: does not exist (fix: existing stacks: dev, dev.acme, prod)",
                 id="missing-file"),
    pytest.param(b"config:\n  aws:region: [us-east-1\n", "error: Pulumi.nope.yaml line 3, column 1: is not valid "
                 "YAML: expected ',' or ']', but got '<stream end>' (fix: fix the YAML syntax (indentation, colons, "
                 "quotes))", id="garbage-yaml"),
    pytest.param(b"config: \x00\x01", "error: Pulumi.nope.yaml: is not valid YAML: special characters are not allowed "
                 "(character 0x0000 at offset 8) (fix: remove the control character)", id="binary"),
    pytest.param(b"", "error: Pulumi.nope.yaml: is empty (fix: start from Pulumi.dev.yaml or docs/stack-config.md)",
                 id="empty"),
])
def test_unreadable_stack_files(project: Path, capsys: pytest.CaptureFixture[str], content: bytes | None,
                                expected: str) -> None:
    if content is not None:
        (project / "Pulumi.nope.yaml").write_bytes(content)
    code, out, err = run(capsys, "-C", str(project), "validate", "nope")
    assert (code, out) == (2, "")
    assert err.splitlines() == [expected.format(dir=project)]


def test_a_directory_is_not_a_stack_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "Pulumi.dir.yaml").mkdir()
    code, _, err = run(capsys, "-C", str(project), "validate", str(project / "Pulumi.dir.yaml"))
    assert code == 2
    assert err == (f"error: {project}/Pulumi.dir.yaml: is a directory, not a stack file "
                   "(fix: name a stack (dev, dev.acme) or its Pulumi.<stack>.yaml file)\n")


def test_project_dir_must_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "-C", str(tmp_path / "nowhere"), "validate", "dev")
    assert code == 2
    assert err == (f'error: --project-dir: "{tmp_path / "nowhere"}" is not a directory '
                   "(fix: name the directory that holds Pulumi.yaml)\n")


_KEYS = st.lists(st.sampled_from(["bridge:aws", "bridge:customer", "aws:region", "bridge:x", "k"]), max_size=3)
_VALUES = st.sampled_from(["[", "{a: 1}", "\t", "- x", "&a [*a]", "!!binary AA==", "~", "{secure: x}"])
_YAMLISH = st.builds(lambda keys, v: ("config:\n" + "".join(f"  {k}: {v}\n" for k in keys)).encode(), _KEYS, _VALUES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode) | _YAMLISH)
def test_garbage_never_prints_a_traceback(project: Path, content: bytes) -> None:
    (project / "Pulumi.junk.yaml").write_bytes(content)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["-C", str(project), "validate", "junk"])
    assert code == 2
    assert err.getvalue() and "Traceback" not in err.getvalue()
    assert all(line.startswith("error: ") for line in err.getvalue().splitlines())


# --- --help on every command ------------------------------------------------------------------------


def _subcommands() -> list[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return sorted(actions[0].choices)


def test_known_commands_are_registered() -> None:
    assert {"validate", "plan", "schema"} <= set(_subcommands())


@pytest.mark.parametrize("argv", [["--help"], *([name, "--help"] for name in _subcommands())],
                         ids=lambda argv: " ".join(argv))
def test_help_exits_0(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bridgectl")


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate"])
    assert exc.value.code == 2
    assert "the following arguments are required: STACK" in capsys.readouterr().err


# --- plan --addresses-only ----------------------------------------------------------------------------


def test_plan_addresses_only_prints_links_and_sessions(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-C", str(project), "plan", "dev", "--addresses-only")
    assert code == 0 and all("a single point of failure" in line for line in err.splitlines())
    lines = out.splitlines()
    links = lines.index("Links")
    # Every column has a header (the link slot's too).
    assert lines[links + 1].split() == ["router", "link", "subnet", "slot", "FCR", "side", "cloud", "side", "VLAN",
                                        "Equinix", "connection"]
    rows = [line.split() for line in lines[links + 3:links + 7]]
    assert rows == [
        ["fcr-a", "AWS", "transit", "VIF", "169.254.100.220/30", "55", "FCR", "169.254.100.222", "AWS",
         "169.254.100.221", "from", "hosted", "connection", "dev-fcr-a-aws"],
        ["fcr-b", "AWS", "transit", "VIF", "169.254.100.252/30", "63", "FCR", "169.254.100.254", "AWS",
         "169.254.100.253", "from", "hosted", "connection", "dev-fcr-b-aws"],
        ["fcr-a", "ExpressRoute", "primary", "192.168.100.0/30", "-", "FCR", "192.168.100.1", "Microsoft",
         "192.168.100.2", "300", "dev-fcr-a-er-pri"],
        ["fcr-b", "ExpressRoute", "secondary", "192.168.100.4/30", "-", "FCR", "192.168.100.5", "Microsoft",
         "192.168.100.6", "300", "dev-fcr-b-er-sec"],
    ]
    sessions = lines.index("BGP sessions")
    assert [line.split()[:5] for line in lines[sessions + 3:sessions + 7]] == [
        ["fcr-a/aws", "64999", "169.254.100.222", "64513", "169.254.100.221"],
        ["fcr-b/aws", "64999", "169.254.100.254", "64513", "169.254.100.253"],
        ["fcr-a/azure-primary", "64999", "192.168.100.1", "12076", "192.168.100.2"],
        ["fcr-b/azure-secondary", "64999", "192.168.100.5", "12076", "192.168.100.6"],
    ]
    assert "Prefix budgets" in lines


def test_plan_of_a_broken_stack_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(project, "dev", _break_bridge)
    code, out, err = run(capsys, "-C", str(project), "plan", "dev", "--addresses-only")
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 5


# --- the installed console script -------------------------------------------------------------------


def _script(project: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BRIDGE_PROJECT_DIR"}
    return subprocess.run([str(BRIDGECTL), *argv], cwd=project, capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_console_script(project: Path) -> None:
    assert BRIDGECTL.is_file(), f"{BRIDGECTL} is missing: install the project (uv sync)"
    ok = _script(project, "validate", "prod", "dev.acme")
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ok.stdout.splitlines() == ["Pulumi.prod.yaml: valid bridge stack",
                                      "Pulumi.dev.acme.yaml: valid customer stack"]
    edit(project, "dev", _break_bridge)
    (project / "Pulumi.junk.yaml").write_bytes(b"config: [\n\t\xff")
    bad = _script(project, "validate", "dev", "junk", "missing")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "Traceback" not in bad.stderr
    lines = bad.stderr.splitlines()
    assert len(lines) == 5 + 1 + 1
    assert all(line.startswith("error: ") for line in lines)
