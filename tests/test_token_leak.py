"""Tokens are never printed: the action, run end to end with a known fake token.

The composite action runs in ``pr`` mode with ``comment: true`` (tests/action_harness.py:
action.yml's own steps, real asv runs of tests/data/tinyproj, the loopback GitHub API of
tests/github_server.py). The token is given as the ``github-token`` input and, as a job
that exports it would, as ``GITHUB_TOKEN`` in the environment. The first attempt to post
the comment gets a 502 whose message quotes the token, the way a proxy echoing headers
would, so the retry path's messages are exercised too.

Then the token must appear in no step's stdout or stderr, not in the job summary, not
in any step's ``GITHUB_OUTPUT`` file or the action's outputs, and in no file the run
wrote anywhere under the runner's temp directory or the workspace (verdict and report
files, asv results, logs, git metadata). The token must still have been used: every
request to the API carried it.
"""

import os
from pathlib import Path

from action_harness import prepare_cached_venv, run_action
from github_server import GitHubServer
from test_action_e2e import diagnose, event, pr_inputs, tiny  # noqa: F401 - tiny: fixture

ROOT = Path(__file__).resolve().parents[1]
FAKE = "ghs_FAKE0123456789abcdefFAKE0123456789abcdef"


def files_holding(root: Path, needle: bytes) -> list[str]:
    """Regular files under ``root`` (symlinks not followed) whose bytes contain ``needle``."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            with open(path, "rb") as fh:
                if needle in fh.read():
                    found.append(str(path.relative_to(root)))
    return found


def test_files_holding_can_fail(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "log.txt").write_bytes(b"Authorization: token " + FAKE.encode())
    (tmp_path / "clean.txt").write_text("nothing here")
    assert files_holding(tmp_path, FAKE.encode()) == ["a/b/log.txt"]


def test_the_fake_token_appears_in_no_log_summary_output_or_file(tiny):  # noqa: F811
    with GitHubServer(token=FAKE) as gh:
        gh.add_pull("octo/tiny", 7, head_sha=tiny["head"])
        gh.fail("POST", "/repos/octo/tiny/issues/7/comments", status=502, times=1,
                message=f"bad gateway; upstream saw Authorization: token {FAKE}")
        env = {**tiny["env"], **gh.env(repo="octo/tiny")}
        assert env["GITHUB_TOKEN"] == FAKE
        temp = tiny["dir"] / "runner-token"
        prepare_cached_venv(ROOT, temp)
        run = run_action(ROOT, tiny["repo"], temp, pr_inputs(tiny, FAKE), env,
                         event(tiny))
        assert [st.returncode for st in run.steps] == [0, 0, 1], diagnose(run)
        assert run.outputs["comment-id"].isdigit(), diagnose(run)
        # the token was used, and the 502 that quoted it was met and retried
        assert gh.requests and all(r.headers.get("authorization", "").endswith(FAKE)
                                   for r in gh.requests)
        assert len(gh.calls("POST", "/repos/octo/tiny/issues/7/comments")) == 2

    for st in run.steps:
        assert FAKE not in st.stdout, st.name
        assert FAKE not in st.stderr, st.name
        assert all(FAKE not in v for v in st.outputs.values()), st.name
    assert FAKE not in run.summary
    assert all(FAKE not in v for v in run.outputs.values())
    # everything written: GITHUB_OUTPUT files, the summary, verdict.json, report.md,
    # pr-number.txt, asv's results and html, logs, the repository's .git
    assert (temp / "benchwatch" / "verdict.json").is_file()
    assert files_holding(temp, FAKE.encode()) == []
    assert files_holding(tiny["repo"], FAKE.encode()) == []
