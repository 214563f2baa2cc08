"""maelstrom-pytest's outcome plugin, loaded into the pytest that runs one
test inside its container:

    python -m pytest -p maelstrom_pytest_report ... NODE_ID

(with this file's directory on PYTHONPATH). When pytest is done it writes
one line to standard error, after everything else:

    @@maelstrom-pytest-outcome@@ {"outcome": "...", "reason": "...", ...}

where outcome is one of passed, failed, error, skipped, xfailed, xpassed,
xpassed-strict, or none (no test ran: the node id matched nothing). The
line goes to a duplicate of the original standard error taken at import,
so pytest's output capturing cannot swallow it. maelstrom-pytest reads it,
removes it from the output it shows, and reports the outcome.
"""
import json
import os

MARK = "@@maelstrom-pytest-outcome@@"

_FD = os.dup(2)
_reports = []

# Worst first: the outcome of several tests (or phases) is the worst one.
_RANK = ["error", "failed", "xpassed-strict", "xpassed", "skipped", "xfailed", "passed"]


def pytest_runtest_logreport(report):
    _reports.append(report)


def _skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr or "")
    if reason.startswith("Skipped: "):
        reason = reason[len("Skipped: "):]
    return reason


def _phase_outcome(report):
    """(outcome, reason) of one phase's report, or None when it passed."""
    when = report.when
    wasxfail = getattr(report, "wasxfail", None)
    if report.failed:
        text = str(report.longrepr or "")
        if when == "call" and text.startswith("[XPASS(strict)]"):
            return "xpassed-strict", text[len("[XPASS(strict)]"):].strip()
        return ("failed" if when == "call" else "error"), ""
    if report.skipped:
        if wasxfail is not None:
            return "xfailed", str(wasxfail)
        return "skipped", _skip_reason(report)
    if when == "call" and wasxfail is not None:
        return "xpassed", str(wasxfail)
    return None


def _test_outcome(reports):
    """One test's outcome from its phases (setup, call, teardown): the first
    phase that did not simply pass decides, except that an error in
    teardown turns a test that did not fail into an error."""
    outcome, reason, when = "passed", "", "call"
    for report in reports:
        got = _phase_outcome(report)
        if got is None:
            continue
        if outcome == "passed" or (got[0] == "error" and outcome not in ("failed", "error")):
            outcome, reason, when = got[0], got[1], report.when
    return outcome, reason, when


def _outcome():
    tests = {}
    for report in _reports:
        tests.setdefault(report.nodeid, []).append(report)
    if not tests:
        return {"outcome": "none", "reason": "", "when": "", "tests": 0}
    worst = None
    for node_id, reports in tests.items():
        outcome, reason, when = _test_outcome(reports)
        if worst is None or _RANK.index(outcome) < _RANK.index(worst["outcome"]):
            worst = {"outcome": outcome, "reason": reason, "when": when, "node_id": node_id}
    worst["tests"] = len(tests)
    return worst


def pytest_unconfigure(config):
    line = "\n%s %s\n" % (MARK, json.dumps(_outcome(), sort_keys=True))
    data = line.encode("utf-8", "backslashreplace")
    while data:
        try:
            n = os.write(_FD, data)
        except InterruptedError:
            continue
        except OSError:
            return
        data = data[n:]
