"""The audit's verdict: a vulnerability with a fix fails it, one without a fix is only listed."""

from tools.audit import findings


def test_fixable_vulnerabilities_fail_and_unfixed_ones_are_listed() -> None:
    report = {
        "dependencies": [
            {"name": "safe", "version": "1.0", "vulns": []},
            {
                "name": "old",
                "version": "1.0",
                "vulns": [
                    {"id": "PYSEC-1", "fix_versions": ["1.1", "2.0"]},
                    {"id": "GHSA-x", "fix_versions": []},
                ],
            },
            {"name": "editable-project", "skip_reason": "not on the index"},
        ]
    }
    fixable, unfixed, skipped = findings(report)
    assert fixable == ["old==1.0  PYSEC-1  fixed in 1.1, 2.0"]
    assert unfixed == ["old==1.0  GHSA-x  no fixed version yet"]
    assert skipped == ["editable-project: not on the index"]
