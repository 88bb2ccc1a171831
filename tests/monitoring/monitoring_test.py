#!/usr/bin/python3
"""deploy/prometheus and deploy/grafana against a running node: Prometheus' own promtool checks
the alert rules (`check rules`), runs their unit tests (`test rules`) and lints the node's
/metrics (`check metrics`); the Grafana dashboard is valid JSON whose every query names only
metrics the node exports (scraped from a real `hybrid tunnel serve`), and every metric the node
exports is on the dashboard."""
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request

BIN = os.environ["HYBRID_BINARY"]
RULES = "deploy/prometheus/hybrid-tunnel-alerts.yml"
RULE_TESTS = "deploy/prometheus/hybrid-tunnel-alerts.test.yml"
DASHBOARD = "deploy/grafana/hybrid-tunnel-dashboard.json"
# Series Prometheus makes itself, not the node.
SYNTHETIC = {"up"}
PROMQL_WORDS = {"sum", "by", "rate", "irate", "increase", "max", "min", "avg", "without", "on", "ignoring",
                "and", "or", "unless", "group_left", "group_right", "label_values", "query", "first", "value",
                "humanize", "humanizePercentage", "with", "end", "bool", "offset"}


def scrape():
    node = subprocess.Popen([BIN, "tunnel", "serve", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        ready = json.loads(node.stdout.readline())
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % ready["port"], timeout=10) as r:
            return r.read().decode()
    finally:
        node.terminate()
        node.wait(timeout=10)


def metric_names(expr):
    # Identifiers not followed by '(' and not inside {…} label matchers or "…" strings.
    expr = re.sub(r'"[^"]*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"by \([^)]*\)", "", expr)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        rest = expr[m.end():].lstrip()
        word = m.group(0)
        if rest.startswith("(") or word in PROMQL_WORDS or re.fullmatch(r"[0-9e]+", word):
            continue
        names.add(word)
    return names


def main():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (Debian package prometheus; scripts/install-deps installs it)"
    for args in (["check", "rules", RULES], ["test", "rules", RULE_TESTS]):
        r = subprocess.run([promtool] + args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (args, r.stdout, r.stderr)

    text = scrape()
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, ("promtool check metrics", r.stdout, r.stderr)
    exported = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    assert "hybrid_tunnel_connections" in exported and "hybrid_tunnel_max_connections" in exported, exported

    # The rules: every metric an expression names is exported (or made by Prometheus).
    rules_text = open(RULES).read()
    exprs = re.findall(r"^\s*expr: (.+)$", rules_text, re.M)
    assert len(exprs) >= 6, exprs
    used_by_rules = set()
    for e in exprs:
        used_by_rules |= metric_names(e)
    assert used_by_rules - SYNTHETIC <= exported, used_by_rules - SYNTHETIC - exported
    for want in ("up", "hybrid_tunnel_rejects_total", "hybrid_tunnel_pending_tunnels"):
        assert want in used_by_rules, want
    assert re.search(r"by \(instance, reason\)", rules_text), "rejects are alerted by reason"

    # The dashboard.
    dash = json.load(open(DASHBOARD))
    assert dash["uid"] and dash["panels"], "not a Grafana dashboard"
    used = set()
    for p in dash["panels"]:
        assert p["targets"], p["title"]
        for t in p["targets"]:
            used |= metric_names(t["expr"].replace("$__rate_interval", "5m"))
    assert used - SYNTHETIC <= exported, used - SYNTHETIC - exported
    assert exported <= used, ("exported but not on the dashboard", exported - used)
    print("monitoring_test: %d rules, %d panels, %d metrics checked against a running node" %
          (len(exprs), len(dash["panels"]), len(exported)))


if __name__ == "__main__":
    main()
