"""Stack files mean one thing in every tool: scalars that YAML 1.1 and YAML 1.2 read differently are
refused with the key, the value as written and the fix; every other scalar is accepted, and shown
back as written."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bridgectl.cli import main
from stacks.loader import load_stack, yaml12_value
from stacks.problems import ConfigError


def _set_line(project: Path, stack: str, old: str, new: str) -> None:
    path = project / f"Pulumi.{stack}.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _errors(project: Path, stack: str) -> list[str]:
    try:
        load_stack(project, stack)
    except ConfigError as exc:
        return [p.line(exc.source) for p in exc.problems]
    return []


@pytest.mark.parametrize("word", ["yes", "Yes", "YES", "no", "No", "on", "On", "ON", "off", "OFF", "y", "Y", "n",
                                  "N", "yEs", "oN"])
def test_yes_no_on_off_are_refused_in_any_case(project: Path, word: str) -> None:
    _set_line(project, "dev", "enabled: true", f"enabled: {word}")
    errors = _errors(project, "dev")
    assert len(errors) == 1
    line = errors[0]
    assert line.startswith(f"error: Pulumi.dev.yaml: bridge:exchange.bfd.enabled: {word} ")
    truth = "true" if word.lower() in ("y", "yes", "on") else "false"
    assert line.endswith(f'(fix: write {truth} for a boolean, or "{word}" in quotes for the text)')
    assert "YAML 1.2" in line or "some YAML 1.1 readers" in line


def test_true_and_false_are_accepted(project: Path) -> None:
    for word in ("true", "True", "TRUE"):
        _set_line(project, "dev", "enabled: true", f"enabled: {word}")
        assert _errors(project, "dev") == []
        _set_line(project, "dev", f"enabled: {word}", "enabled: true")


def test_account_id_with_a_leading_zero_is_refused_as_written(project: Path) -> None:
    _set_line(project, "dev", 'accountId: "111122223333"', "accountId: 011122223333")
    errors = _errors(project, "dev")
    assert errors == [
        "error: Pulumi.dev.yaml: bridge:aws.accountId: 011122223333 means the number 1229530843 to YAML 1.1 readers "
        "and the number 11122223333 to YAML 1.2 readers (a leading zero is octal in YAML 1.1, and in the Pulumi "
        'CLI\'s reader) (line 9) (fix: quote it ("011122223333"): an id such as an account number keeps its '
        "leading zero only as text)"]
    # quoted, it is what it says
    _set_line(project, "dev", "accountId: 011122223333", 'accountId: "011122223333"')
    assert _errors(project, "dev") == []


@pytest.mark.parametrize(("text", "yaml11", "yaml12"), [
    ("1:30", "the number 90", 'the text "1:30"'),          # sexagesimal
    ("2024-01-31", "the date 2024-01-31", 'the text "2024-01-31"'),
    ("1_000", "the number 1000", 'the text "1_000"'),
    ("1e3", 'the text "1e3"', "the number 1000.0"),
    ("0o17", 'the text "0o17"', "the number 15"),
    ("0999", 'the text "0999"', "the number 999"),
    ("0b101", "the number 5", 'the text "0b101"'),
])
def test_other_forms_read_differently_are_refused(project: Path, text: str, yaml11: str, yaml12: str) -> None:
    _set_line(project, "dev.acme", "id: acme", f"id: {text}")
    errors = _errors(project, "dev.acme")
    assert len(errors) == 1
    assert errors[0].startswith(f"error: Pulumi.dev.acme.yaml: bridge:customer.id: {text} means {yaml11} to YAML "
                                f"1.1 readers and {yaml12} to YAML 1.2 readers")
    assert f'quote it ("{text}")' in errors[0]


def test_a_key_read_differently_is_refused(project: Path) -> None:
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"]["bridge:tags"] = {"owner": "netops"}
    path.write_text(yaml.safe_dump(data, sort_keys=False).replace("owner: netops", "on: netops"))
    errors = _errors(project, "dev")
    assert len(errors) == 1
    assert errors[0].startswith("error: Pulumi.dev.yaml: bridge:tags.on: on means the boolean true")


def test_quoted_forms_are_text_and_pass(project: Path) -> None:
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"]["bridge:tags"] = {"owner": "netops"}
    path.write_text(yaml.safe_dump(data, sort_keys=False).replace("owner: netops", "owner: 'yes'\n    since: \"1:30\""))
    assert _errors(project, "dev") == []


def test_numbers_are_shown_as_written(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A number written in hex (the same in YAML 1.1 and 1.2) is accepted, and a message shows it as written."""
    _set_line(project, "dev", "directConnectGatewayAsn: 64513", "directConnectGatewayAsn: 0xFC00")  # 64512
    assert main(["-C", str(project), "validate", "dev"]) == 2
    err = capsys.readouterr().err
    assert "bridge:aws.directConnectGatewayAsn: 0xFC00 " in err
    assert "64512 equals" not in err


def test_validate_json_reports_the_value_as_written(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    _set_line(project, "dev", "enabled: true", "enabled: on")
    assert main(["-C", str(project), "validate", "--json", "dev"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out[0]["valid"] is False
    assert out[0]["errors"][0]["path"] == "bridge:exchange.bfd.enabled"
    assert out[0]["errors"][0]["value"] == "on"
    assert out[0]["errors"][0]["fix"] == 'write true for a boolean, or "on" in quotes for the text'


# --- the YAML 1.2 core schema, as the check reads it -----------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("", None), ("~", None), ("null", None), ("Null", None), ("NULL", None),
    ("true", True), ("False", False), ("yes", "yes"), ("on", "on"),
    ("0", 0), ("011", 11), ("-12", -12), ("+12", 12), ("0o17", 15), ("0x1F", 31), ("1_000", "1_000"),
    ("1.5", 1.5), ("1e3", 1000.0), (".5", 0.5), ("1.", 1.0), ("-.inf", -math.inf), (".Inf", math.inf),
    ("1:30", "1:30"), ("2024-01-31", "2024-01-31"), ("0b101", "0b101"), ("acme", "acme"),
])
def test_yaml12_core_schema(text: str, value: object) -> None:
    got = yaml12_value(text)
    assert type(got) is type(value)
    assert got == value
    assert math.isnan(yaml12_value(".nan"))


@given(st.text(alphabet="0123456789+-._:eExXoObBabcdfinyesNOTRUL ", min_size=1, max_size=8))
def test_an_accepted_plain_scalar_means_the_same_in_both(text: str) -> None:
    """Whatever the loader accepts unquoted, PyYAML (YAML 1.1) and the YAML 1.2 core schema read alike."""
    from stacks.loader import Ambiguous, _FastUniqueKeyLoader

    try:
        value = yaml.load(f"k: {text}\n", Loader=_FastUniqueKeyLoader)["k"]
    except (yaml.YAMLError, TypeError):
        return
    if isinstance(value, Ambiguous | dict | list):
        return
    core = yaml12_value(text.strip())
    assert isinstance(value, bool) == isinstance(core, bool)
    assert isinstance(value, str) == isinstance(core, str)
    if isinstance(value, float) and math.isnan(value):
        assert isinstance(core, float) and math.isnan(core)
    else:
        assert value == core


# --- what bridgectl writes, it reads back as written ---------------------------------------------------


@pytest.mark.parametrize(("text", "quoted"), [
    ("no", True), ("On", True), ("y", True), ("0123", True), ("1_000", True), ("1e3", True), ("12", True),
    ("true", True), ("2024-01-31", True), ("acme", False), ("dev-1", False), ("sf2", False),
])
def test_text_needs_quotes(text: str, quoted: bool) -> None:
    from stacks.loader import text_needs_quotes

    assert text_needs_quotes(text) is quoted


def test_customer_commands_quote_what_would_be_read_otherwise(project: Path, capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    """A customer id `no` and an endpoint name `on` are valid names; the files bridgectl writes quote
    them, so they validate and mean the same in every reader."""
    service = "sf-pvlinksvc-eastus2.0f0e0d0c-0b0a-0908-0706-050403020100.eastus2.azure.privatelinkservice"
    args = ["--platform", "snowflake", "--cloud", "azure", "--service", service, "--yes", "--no-plan"]
    assert main(["-C", str(project), "customer", "add", "dev", "no", *args,
                 "--hostname", "no-ab12345.east-us-2.privatelink.snowflakecomputing.com"]) == 0
    assert '    id: "no"\n' in (project / "Pulumi.dev.no.yaml").read_text()
    assert main(["-C", str(project), "customer", "endpoint", "add", "dev", "acme", *args, "--name", "on",
                 "--hostname", "on-ab12345.east-us-2.privatelink.snowflakecomputing.com"]) == 0
    assert '- name: "on"\n' in (project / "Pulumi.dev.acme.yaml").read_text()
    capsys.readouterr()
    assert main(["-C", str(project), "validate", "dev.no", "dev.acme"]) == 0
