"""The benchmark's arithmetic and report (no timing here: benchmarks report, tests do not time)."""

from __future__ import annotations

import json

import pytest

from bench.__main__ import RESULTS, fit, main, targets


def test_fit_of_a_line_is_linear() -> None:
    xs = [1.0, 2.0, 5.0, 10.0, 20.0, 40.0]
    f = fit(xs, [0.3 + 0.02 * x for x in xs])
    assert f["secondsPerUnit"] == pytest.approx(0.02)
    assert f["interceptSeconds"] == pytest.approx(0.3)
    assert f["r2"] == pytest.approx(1.0)
    assert abs(f["quadraticShare"]) < 1e-9


def test_fit_of_quadratic_growth_is_not_linear() -> None:
    xs = [1.0, 2.0, 5.0, 10.0, 20.0, 40.0]
    f = fit(xs, [0.3 + 0.001 * x * x for x in xs])
    assert f["quadraticShare"] > 0.5


def test_committed_results_have_every_figure_the_issue_asks_for() -> None:
    results = json.loads(RESULTS.read_text())
    rows = results["plan"]["rows"]
    assert {(r["routers"], r["vpcs"]) for r in rows if not r["endpoints"]} >= {(1, 1), (1, 20), (2, 1), (2, 20)}
    assert {r["endpoints"] for r in rows} >= {1, 10, 100}
    assert all(r["peakMiB"] > 0 and r["overheadRatio"] > 0 and r["pythonCalls"] > 0 for r in rows)
    assert set(results["plan"]["fits"]) == set(results["plan"]["callFits"]) == {"bridgeByVpcs", "customerByEndpoints"}
    assert results["startup"]["programImportSeconds"] > 0
    twin = results["twin"]
    assert twin["runs"] >= 5
    assert {"link-cut", "router-down", "drain"} <= {s["kind"] for s in twin["scenarios"].values()}
    # The targets recorded are the ones recomputed from the figures.
    assert targets(results) == results["targets"]


def test_report_prints_the_committed_results(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--report"]) == 0
    out = capsys.readouterr().out
    assert "Machine:" in out and "customer, 100 endpoints" in out and "Targets" in out


def test_committed_backup_comparison_is_measured_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m bench --backup-comparison`: the pre-established VPN, the same without BFD on the private
    path, and IPsec alone, each with the twin's own figures (issue 17, item 4)."""
    comparison = json.loads(RESULTS.read_text())["backupComparison"]
    assert comparison["runs"] >= 2 and comparison["machine"]["cores"] >= 1
    pre = comparison["preEstablished"]["scenarios"]
    assert set(pre) == {"backup-failover", "backup-failback"}
    assert set(comparison["noBfd"]["scenarios"]) == {"backup-failover"}
    assert set(comparison["ipsecOnly"]["scenarios"]) == {"backup-down"}
    for entry in (pre["backup-failover"], comparison["noBfd"]["scenarios"]["backup-failover"],
                  comparison["ipsecOnly"]["scenarios"]["backup-down"]):
        assert len(entry["outageMs"]["values"]) == entry["runs"] >= 2
    # the article's claim, as measured: BFD plus a VPN already up fails over in about a second, the others
    # wait for a hold timer
    assert pre["backup-failover"]["outageMs"]["max"] < comparison["noBfd"]["scenarios"]["backup-failover"][
        "outageMs"]["min"]
    assert pre["backup-failover"]["outageMs"]["max"] < comparison["ipsecOnly"]["scenarios"]["backup-down"][
        "outageMs"]["min"]
    assert main(["--report"]) == 0
    assert "VPN backup, dev stack" in capsys.readouterr().out
