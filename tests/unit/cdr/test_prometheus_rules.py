"""config/prometheus: promtool validates the config and rules, and proves each alert fires when it should."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.unit.cdr.tools import require_tool

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS = REPO / "config" / "prometheus"
W1 = {"instance": "w1:9108", "job": "dialer"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("promtool"), *args], capture_output=True, text=True, timeout=120,
                          check=False)


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{inner}}}", "values": values}


def test_promtool_check_config_and_rules() -> None:
    config = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    rules = promtool("check", "rules", str(PROMETHEUS / "rules.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS" in rules.stdout


def test_alerts_fire_exactly_when_they_should(tmp_path: Path) -> None:
    ami = {**W1, "server": "127.0.0.1:5038"}
    tests: list[dict[str, Any]] = [
        {   # AMI down for more than a minute fires; a connected server does not.
            "interval": "15s",
            "input_series": [
                series("dialer_ami_connected", ami, "1 1 0x10"),
                series("dialer_ami_connected", {**W1, "server": "pbx2:5038"}, "1x12"),
            ],
            "alert_rule_test": [
                {"eval_time": "45s", "alertname": "DialerAmiDown", "exp_alerts": []},
                {"eval_time": "2m", "alertname": "DialerAmiDown", "exp_alerts": [{
                    "exp_labels": {**ami, "severity": "critical"},
                    "exp_annotations": {"summary": "Worker w1:9108 has no AMI session to 127.0.0.1:5038"},
                }]},
            ],
        },
        {   # 12 CPS on a 10-CPS trunk for 2 minutes fires; 10 CPS on another 10-CPS trunk does not.
            "interval": "15s",
            "input_series": [
                series("dialer_originations_total", {**W1, "campaign": "c", "trunk": "fast"}, "0+180x20"),
                series("dialer_originations_total", {**W1, "campaign": "c", "trunk": "ok"}, "0+150x20"),
                series("dialer_trunk_cps_limit", {**W1, "trunk": "fast"}, "10x20"),
                series("dialer_trunk_cps_limit", {**W1, "trunk": "ok"}, "10x20"),
            ],
            "alert_rule_test": [
                {"eval_time": "4m", "alertname": "DialerCpsOverLimit", "exp_alerts": [{
                    # one-to-one matching `on (trunk)` keeps only the trunk label
                    "exp_labels": {"trunk": "fast", "severity": "warning"},
                    "exp_annotations": {"summary": "Trunk fast places 12 calls/s, above its CPS limit"},
                }]},
            ],
            "promql_expr_test": [
                {"expr": "dialer:cps:rate1m", "eval_time": "4m", "exp_samples": [
                    {"labels": 'dialer:cps:rate1m{scope="trunk", trunk="fast"}', "value": 12},
                    {"labels": 'dialer:cps:rate1m{scope="trunk", trunk="ok"}', "value": 10},
                    {"labels": 'dialer:cps:rate1m{scope="total"}', "value": 22},
                ]},
            ],
        },
        {   # Ready contacts and no call for 5 minutes fires, also for a campaign that never originated.
            "interval": "1m",
            "input_series": [
                series("dialer_contacts_ready", {**W1, "campaign": "stuck"}, "50x10"),
                series("dialer_originations_total", {**W1, "campaign": "stuck", "trunk": "t"}, "7x10"),
                series("dialer_contacts_ready", {**W1, "campaign": "never"}, "5x10"),
                series("dialer_contacts_ready", {**W1, "campaign": "busy"}, "50x10"),
                series("dialer_originations_total", {**W1, "campaign": "busy", "trunk": "t"}, "0+60x10"),
                series("dialer_contacts_ready", {**W1, "campaign": "empty"}, "0x10"),
            ],
            "alert_rule_test": [
                {"eval_time": "8m", "alertname": "DialerNoOriginations", "exp_alerts": [
                    {"exp_labels": {"campaign": campaign, "severity": "critical"},
                     "exp_annotations": {"summary": f"Campaign {campaign} has {ready} ready contacts but placed no "
                                                    "call in 5 minutes"}}
                    for campaign, ready in (("never", 5), ("stuck", 50))
                ]},
            ],
        },
        {   # A mismatch found by reconcile fires at once; the worker down and CDR backlog alerts.
            "interval": "1m",
            "input_series": [
                series("dialer_cdr_mismatch_total", W1, "0 0 0 3 3 3"),
                series("up", W1, "1 0 0 0"),
                series("dialer_cdr_queue_rows", {**W1, "table": "cdr"}, "20000x10"),
                series("dialer_cdr_queue_rows", {**W1, "table": "asterisk_cdr"}, "5x10"),
                series("dialer_clock_offset_seconds", W1, "0.01 -31 -31 -31 0.02"),
                # w2 and w3 are 1.5 s off from the 3rd minute: beyond w2's limit (1 s), not w3's (2 s).
                series("dialer_clock_offset_seconds", {**W1, "instance": "w2:9108"}, "0.1 0.1 0.1 1.5x7"),
                series("dialer_clock_offset_seconds", {**W1, "instance": "w3:9108"}, "0.1 0.1 0.1 1.5x7"),
                series("dialer_clock_skew_limit_seconds", W1, "2x10"),
                series("dialer_clock_skew_limit_seconds", {**W1, "instance": "w2:9108"}, "1x10"),
                series("dialer_clock_skew_limit_seconds", {**W1, "instance": "w3:9108"}, "2x10"),
                series("dialer_asterisk_clock_offset_seconds", {**W1, "server": "pbx1:5038"}, "0 45x10"),
                series("dialer_asterisk_clock_offset_seconds", {**W1, "server": "pbx2:5038"}, "-0.2x10"),
                series("dialer_asterisk_clock_offset_seconds", {**W1, "instance": "w2:9108", "server": "pbx3:5038"},
                       "0 0 0 -1.5x7"),
            ],
            "alert_rule_test": [
                {"eval_time": "2m", "alertname": "DialerCdrMismatch", "exp_alerts": []},
                {"eval_time": "4m", "alertname": "DialerCdrMismatch", "exp_alerts": [{
                    "exp_labels": {"severity": "warning"},
                    "exp_annotations": {"summary": "3 CDR mismatches with Asterisk in 15 minutes: "
                                                   "run dialer cdr reconcile"},
                }]},
                {"eval_time": "3m", "alertname": "DialerWorkerDown", "exp_alerts": [{
                    "exp_labels": {**W1, "severity": "critical"},
                    "exp_annotations": {"summary": "Dialer worker w1:9108 does not answer /metrics"},
                }]},
                {"eval_time": "1m", "alertname": "DialerClockSkew", "exp_alerts": []},
                {"eval_time": "2m", "alertname": "DialerClockSkew", "exp_alerts": [{
                    "exp_labels": {**W1, "severity": "critical"},
                    "exp_annotations": {"summary": "Worker w1:9108 is 31 s off PostgreSQL's clock and places no call: "
                                                   "check NTP"},
                }]},
                {"eval_time": "4m", "alertname": "DialerClockSkew", "exp_alerts": [{
                    "exp_labels": {**W1, "instance": "w2:9108", "severity": "critical"},
                    "exp_annotations": {"summary": "Worker w2:9108 is 1.5 s off PostgreSQL's clock and places no call: "
                                                   "check NTP"},
                }]},
                {"eval_time": "1m", "alertname": "DialerAsteriskClockSkew", "exp_alerts": []},
                {"eval_time": "3m", "alertname": "DialerAsteriskClockSkew", "exp_alerts": [{
                    "exp_labels": {**W1, "server": "pbx1:5038", "severity": "warning"},
                    "exp_annotations": {"summary": "Asterisk pbx1:5038 is 45 s off the dialer's clock: its CDR times "
                                                   "are wrong, check NTP"},
                }]},
                {"eval_time": "5m", "alertname": "DialerAsteriskClockSkew", "exp_alerts": [{
                    "exp_labels": {**W1, "server": "pbx1:5038", "severity": "warning"},
                    "exp_annotations": {"summary": "Asterisk pbx1:5038 is 45 s off the dialer's clock: its CDR times "
                                                   "are wrong, check NTP"},
                }, {
                    "exp_labels": {**W1, "instance": "w2:9108", "server": "pbx3:5038", "severity": "warning"},
                    "exp_annotations": {"summary": "Asterisk pbx3:5038 is 1.5 s off the dialer's clock: its CDR times "
                                                   "are wrong, check NTP"},
                }]},
                {"eval_time": "6m", "alertname": "DialerCdrBacklog", "exp_alerts": [{
                    "exp_labels": {"instance": "w1:9108", "table": "cdr", "severity": "warning"},
                    "exp_annotations": {"summary": "20000 cdr rows queued in w1:9108"},
                }]},
            ],
        },
        {   # AHT = billed seconds per answered call; answer rate 0 (not absent) before the first answer.
            "interval": "15s",
            "input_series": [
                series("dialer_call_billsec_seconds_sum", {**W1, "campaign": "c"}, "0+90x20"),
                series("dialer_call_billsec_seconds_count", {**W1, "campaign": "c"}, "0+3x20"),
                series("dialer_calls_total", {**W1, "campaign": "c", "trunk": "t", "outcome": "answered"},
                       "0+3x20"),
                series("dialer_calls_total", {**W1, "campaign": "c", "trunk": "t", "outcome": "busy"}, "0+1x20"),
                series("dialer_calls_total", {**W1, "campaign": "quiet", "trunk": "t", "outcome": "busy"},
                       "0+1x20"),
            ],
            "promql_expr_test": [
                {"expr": "dialer:aht_seconds:rate5m", "eval_time": "5m", "exp_samples": [
                    {"labels": 'dialer:aht_seconds:rate5m{campaign="c", scope="campaign"}', "value": 30},
                    {"labels": 'dialer:aht_seconds:rate5m{scope="total"}', "value": 30},
                ]},
                {"expr": "dialer:answer_rate:rate5m", "eval_time": "5m", "exp_samples": [
                    {"labels": 'dialer:answer_rate:rate5m{campaign="c"}', "value": 0.75},
                    {"labels": 'dialer:answer_rate:rate5m{campaign="quiet"}', "value": 0},
                ]},
            ],
        },
    ]
    spec = {"rule_files": [str(PROMETHEUS / "rules.yml")], "evaluation_interval": "15s", "tests": tests}
    path = tmp_path / "rules_test.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested() -> None:
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    source = Path(__file__).read_text()
    assert alerts == {"DialerAmiDown", "DialerWorkerDown", "DialerCpsOverLimit", "DialerCdrMismatch",
                      "DialerNoOriginations", "DialerCdrBacklog", "DialerClockSkew",
                      "DialerAsteriskClockSkew"}
    for name in alerts:
        assert f'"alertname": "{name}"' in source, f"alert {name} has no promtool test"
