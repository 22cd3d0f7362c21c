"""The command line's contract (docs/cli.md), driven as a user meets it.

Exit codes: 0 ok, 1 a check found problems, 2 bad input (a path that cannot be written too), 3 a
missing prerequisite, 130 Ctrl-C; one line per error and never a traceback; files written whole or
not at all; ``--json`` everywhere a command reports; progress and colour only on a terminal;
``--version``; shell completion with stack names.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bridgectl import console
from bridgectl.cli import main

ROOT = Path(__file__).resolve().parent.parent
BRIDGECTL = Path(sys.executable).with_name("bridgectl")
SNOWFLAKE = ["--platform", "snowflake", "--cloud", "azure", "--service",
             "sf-pvlinksvc-eastus2.0f0e0d0c-0b0a-0908-0706-050403020100.eastus2.azure.privatelinkservice",
             "--hostname", "globex-ab12345.east-us-2.privatelink.snowflakecomputing.com"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BRIDGE_PROJECT_DIR", "NO_COLOR", "FORCE_COLOR")}
    env.update(extra)
    return env


def _one_error_line(err: str) -> str:
    """The one error line of ``err`` (the stack's own warnings and notes may come before it)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith(("warning: ", "note: "))]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


# --- --version and --help -------------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert re.fullmatch(r"bridgectl \d+\.\d+\.\d+ \(pulumi 3\.\d+\.\d+, pulumi-aws [\d.]+, pulumi-azure-native [\d.]+, "
                        r"pulumi-equinix [\d.]+; Python 3\.\d+\.\d+\)\n", out), out


def test_help_does_not_import_the_heavy_libraries() -> None:
    code = ("import sys\nfrom bridgectl.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pulumi', 'rich', 'shtab', 'pulumi_aws') if m in sys.modules]\n"
            "print(heavy, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert proc.stderr.strip() == "[]"


# --- a path that cannot be written is bad input: exit 2, one line, nothing left behind -----------------


@pytest.mark.parametrize("argv", [
    ["diagram", "dev", "-o", "/nonexistent-dir/x.svg"],
    ["diagram", "dev", "-o", "/nonexistent-dir/x.dot"],
    ["schema", "-o", "/nonexistent-dir/stack.schema.json"],
    ["check", "dev", "--policy-config-out", "/nonexistent-dir/policy.json"],
    ["diff", "dev", "-o", "/nonexistent-dir/diff.md"],
    ["schema", "-o", "/proc/version"],
], ids=["diagram-svg", "diagram-dot", "schema", "check", "diff", "schema-proc"])
def test_unwritable_output_is_bad_input(project: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, "-C", str(project), *argv)
    assert code == 2
    line = _one_error_line(err)
    assert "cannot be written" in line and "(fix: " in line
    assert out == ""


def test_twin_configs_into_a_file_is_bad_input(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "taken").write_text("a file")
    code, _, err = run(capsys, "-C", str(project), "twin", "dev", "--configs", str(project / "taken"))
    assert code == 2
    assert _one_error_line(err) == f"error: --configs {project / 'taken'}: is a file, not a directory (fix: name a " \
                                   "directory)"


def test_twin_configs_appear_whole(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = project / "configs" / "dev"
    assert run(capsys, "-C", str(project), "twin", "dev", "--configs", str(out_dir))[0] == 0
    assert (out_dir / "lab.json").is_file()
    assert not [p for p in (project / "configs").iterdir() if p.name.startswith(".")]  # no build directory left


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a read-only filesystem answers to every attempt to create a file."""
    import tempfile

    def refuse(*_: Any, **__: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")

    def fail(*_: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(console.OutputError, match=r"out\.json: cannot be written \(No space left on device\)"):
        console.atomic_write(target, "new", option="-o")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # the temporary file is gone


def test_atomic_write_interrupted_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        console.atomic_write(tmp_path / "new.svg", "<svg/>")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "script"
    target.write_text("old")
    target.chmod(0o640)
    console.atomic_write(target, "new")
    assert (target.read_text(), target.stat().st_mode & 0o777) == ("new", 0o640)


def test_schema_on_a_read_only_filesystem(project: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _read_only(monkeypatch)
    code, _, err = run(capsys, "-C", str(project), "schema", "-o", str(project / "s.json"))
    assert code == 2
    assert "cannot be written (Read-only file system)" in _one_error_line(err)
    assert not (project / "s.json").exists()


@pytest.mark.parametrize("argv", [
    ["customer", "add", "dev", "globex", *SNOWFLAKE, "--yes", "--no-plan"],
    ["customer", "endpoint", "add", "dev", "acme", *SNOWFLAKE, "--name", "sf2", "--yes", "--no-plan"],
], ids=["customer-add", "endpoint-add"])
def test_customer_changes_on_a_read_only_checkout(project: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    before = {p.name: p.read_text() for p in project.glob("Pulumi.*.yaml")}
    _read_only(monkeypatch)
    code, _, err = run(capsys, "-C", str(project), *argv)
    assert code == 2
    line = _one_error_line(err)
    assert "cannot be written (Read-only file system); nothing was written" in line
    assert {p.name: p.read_text() for p in project.glob("Pulumi.*.yaml")} == before


def test_an_unexpected_error_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from bridgectl.commands import schema

    def broken(_: Any) -> int:
        raise ValueError("boom")

    monkeypatch.setattr(schema, "run", broken)
    monkeypatch.delenv("BRIDGECTL_DEBUG", raising=False)
    code, _, err = run(capsys, "schema")
    assert code == console.EXIT_INTERNAL
    assert _one_error_line(err).startswith("error: internal error in bridgectl schema: ValueError: boom")


# --- Ctrl-C: 130, one line, the tree as it was -------------------------------------------------------------


def _interrupt_after(argv: list[str], cwd: Path, when: float | Any) -> subprocess.CompletedProcess[str]:
    """Run bridgectl, send SIGINT when ``when`` seconds have passed (or ``when()`` is true), and wait."""
    proc = subprocess.Popen([str(BRIDGECTL), *argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(), preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    if callable(when):
        while not when() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
    else:
        time.sleep(when)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("when", [0.15, 0.6, 1.0, 1.4])
def test_ctrl_c_during_plan(project: Path, when: float) -> None:
    """Import, program start, registrations, outputs: wherever it lands, exit 130 with one line."""
    done = _interrupt_after(["plan", "dev"], project, when)
    if done.returncode == 0:
        pytest.fail(f"the plan finished within {when} s; interrupt earlier")
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "Task exception" not in done.stderr
    assert [x for x in done.stderr.splitlines() if not x.startswith("warning: ")] == ["interrupted"]


def test_ctrl_c_during_customer_add_plan_removes_the_new_file(project: Path) -> None:
    path = project / "Pulumi.dev.globex.yaml"
    done = _interrupt_after(["customer", "add", "dev", "globex", *SNOWFLAKE, "--yes"], project, path.exists)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == "interrupted: Pulumi.dev.globex.yaml was removed again; nothing changed"
    assert not path.exists()


def test_ctrl_c_during_endpoint_add_plan_restores_the_file(project: Path) -> None:
    path = project / "Pulumi.dev.acme.yaml"
    before = path.read_text()
    done = _interrupt_after(["customer", "endpoint", "add", "dev", "acme", *SNOWFLAKE, "--name", "sf2", "--yes"],
                            project, lambda: path.read_text() != before)
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines()[-1] == "interrupted: Pulumi.dev.acme.yaml was put back as it was; nothing changed"
    assert path.read_text() == before


# --- --json: one document on stdout, errors too ----------------------------------------------------------


def test_json_everywhere_a_command_reports() -> None:
    from bridgectl.cli import build_parser

    parser = build_parser()
    for argv in (["validate", "dev"], ["plan", "dev"], ["diff"], ["check", "dev"], ["twin", "dev"],
                 ["customer", "list", "dev"], ["customer", "handoff", "dev", "acme"]):
        assert parser.parse_args([*argv, "--json"]).json is True, argv


def test_plan_json_and_errors_as_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-C", str(project), "plan", "dev.acme", "--json")
    assert (code, err) == (0, "")
    assert set(json.loads(out)) == {"stack", "kind", "resources", "outputs", "messages", "notes"}
    (project / "Pulumi.dev.acme.yaml").write_text("config:\n  bridge:customer: {id: acme}\n")
    code, out, err = run(capsys, "-C", str(project), "plan", "dev.acme", "--json")
    assert code == 2
    doc = json.loads(out)
    assert doc["exitCode"] == 2
    assert {"severity", "file", "path", "value", "reason", "fix"} <= set(doc["errors"][0])
    assert err.startswith("error: ")


def test_handoff_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-C", str(project), "customer", "handoff", "dev", "acme", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["customer"] == "acme" and doc["needsOutputs"] is True
    assert [e["name"] for e in doc["endpoints"]] == ["snowflake", "lakehouse", "warehouse"]
    assert {"who", "when", "text", "command"} == set(doc["endpoints"][0]["steps"][0])


def test_check_json_and_policy_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-C", str(project), "check", "dev", "--json", "--policy-config-out",
                       str(project / "policy.json"))
    assert code == 0
    assert json.loads(out)[0]["stack"] == "dev"
    assert "prefixes" in json.dumps(json.loads((project / "policy.json").read_text()))


# --- plan: concise ----------------------------------------------------------------------------------------


def test_plan_is_concise(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-C", str(project), "plan", "dev")
    assert code == 0
    assert all(line.startswith("warning: ") for line in err.splitlines())  # no progress: not a terminal
    lines = out.splitlines()
    assert re.fullmatch(r"Plan of bridge stack dev: \d+ resources \(\d+ cloud resources, \d+ protected\), 4 BGP "
                        r"sessions \(offline, under Pulumi mocks: no cloud was contacted\)", lines[0])
    assert "Outputs:" not in lines
    notes = [line for line in lines if line.startswith("note: ")]
    assert len(notes) == len(set(notes)) and any("stand-in" in n for n in notes)
    tree = lines.index("Resources (+ create)")
    assert lines[tree + 1].split() == ["op", "type", "name", "options"]
    # the budgets' sources are public addresses, numbered under their table
    sources = [line.strip() for line in lines if re.match(r"\s+\[\d\] ", line)]
    assert sources and all(re.match(r"\[\d\] https://", s) for s in sources)
    assert not re.search(r"\b(aws|azure|equinix)\.md\b", out)
    code, out, _ = run(capsys, "-C", str(project), "plan", "dev", "--outputs")
    assert "Outputs:" in out.splitlines()


def test_plan_without_a_program_prints_only_the_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "__main__.py").unlink()
    code, out, err = run(capsys, "-C", str(project), "plan", "dev")
    assert (code, out) == (2, "")
    assert "__main__.py" in _one_error_line(err)


# --- progress and colour only on a terminal ------------------------------------------------------------------


def _on_a_terminal(argv: list[str], cwd: Path, **env: str) -> str:
    """Run bridgectl with stderr on a pseudo-terminal (stdout to a pipe); return what the terminal showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(BRIDGECTL), *argv], cwd=cwd, stdout=subprocess.DEVNULL, stderr=slave,
                            env=_env(TERM="xterm", COLUMNS="120", **env))
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=120)
    os.close(master)
    return shown.decode(errors="replace")


def test_plan_shows_progress_on_a_terminal(project: Path) -> None:
    shown = _on_a_terminal(["plan", "dev"], project)
    assert "planning dev: running the Pulumi program under mocks" in shown
    assert "planning" not in _on_a_terminal(["plan", "-q", "dev"], project)


def test_errors_are_coloured_on_a_terminal_unless_no_color(project: Path) -> None:
    (project / "Pulumi.dev.yaml").write_text("config: [\n")
    coloured = _on_a_terminal(["validate", "dev"], project)
    assert "\x1b[" in coloured and "error" in coloured
    plain = _on_a_terminal(["validate", "dev"], project, NO_COLOR="1")
    assert "\x1b[" not in plain and plain.startswith("error: ")


def test_print_line_never_colours_a_pipe() -> None:
    out = io.StringIO()
    console.print_line("error: x: y", out)
    assert out.getvalue() == "error: x: y\n"


# --- shell completion -------------------------------------------------------------------------------------


def test_bash_completion_knows_commands_and_stack_names(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "completion", "zsh")[1].startswith("#compdef bridgectl")
    code, script, _ = run(capsys, "completion", "bash")
    assert code == 0
    (project / "completion.bash").write_text(script)
    (project / "sub").mkdir()

    def complete(line: str) -> list[str]:
        words = line.split(" ")
        prog = (f'source completion.bash; cd sub; COMP_WORDS=({" ".join(repr(w) for w in words)}); '
                f"COMP_CWORD={len(words) - 1}; COMP_LINE={line!r}; COMP_POINT={len(line)}; "
                f'_shtab_bridgectl bridgectl {words[-1]!r} {words[-2]!r}; printf "%s\\n" "${{COMPREPLY[@]}}"')
        proc = subprocess.run(["bash", "-c", prog], cwd=project, capture_output=True, text=True, check=True)
        return sorted(filter(None, proc.stdout.splitlines()))

    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project.glob("Pulumi.*.yaml"))
    assert "dev" in stacks and "dev.acme" in stacks
    assert complete("bridgectl pl") == ["plan"]
    assert complete("bridgectl plan ") == stacks  # from a subdirectory of the project
    assert complete("bridgectl validate dev dev.") == [s for s in stacks if s.startswith("dev.")]
    assert complete("bridgectl customer list ") == [s for s in stacks if "." not in s]  # BRIDGE: bridges only


def test_make_demo_says_what_its_install_does() -> None:
    """The install behind `make demo` is never silent: each step says what runs, uv shows its progress."""
    proc = subprocess.run(["make", "-n", "-B", "setup"], cwd=ROOT, capture_output=True, text=True, check=True)
    lines = proc.stdout.splitlines()
    announce = next(i for i, line in enumerate(lines) if "setup: installing the Python packages" in line)
    assert any(" sync --frozen" in line for line in lines[announce:])
    assert "--quiet" not in proc.stdout
