"""The `vitec-nb` command: fetch to files, cache info/clear, stand-in, readable errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import requests

from vitec_nb.cli import main
from vitec_nb.standin import StandIn


@pytest.fixture
def live_env(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    """Credentials for the shared stand-in in the environment, as an analyst would set them."""
    monkeypatch.setenv("VITEC_BASE_URL", standin.url)
    monkeypatch.setenv("VITEC_USERNAME", standin.username)
    monkeypatch.setenv("VITEC_PASSWORD", standin.password)
    return standin


def truth_ids(s: StandIn, office: str, lead_score: int) -> set[str]:
    t = s.truth
    t = t[(t["customer_id"].astype(str) == office) & (t["lead_score"] == lead_score)]
    return set(t["id"].astype(str))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_fetch_writes_the_matching_contacts_and_prints_a_summary(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    office = live_env.customer_ids[0]
    out = tmp_path / f"contacts{suffix}"
    assert main(["fetch", office, "--lead-score", "5", "--out", str(out)]) == 0
    if suffix == ".csv":
        written = pd.read_csv(out, dtype=str, comment="#")  # "# " header lines
    elif suffix == ".parquet":
        written = pd.read_parquet(out)
    else:
        written = pd.read_excel(out, dtype=str)
    want = truth_ids(live_env, office, 5)
    assert set(written["id"].astype(str)) == want
    summary = capsys.readouterr().out
    assert f"Wrote {len(want)} contacts" in summary
    assert str(out) in summary


def test_fetch_with_bad_input_prints_one_line_and_sends_nothing(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live_env.clear_requests()
    code = main(["fetch", live_env.customer_ids[0], "--lead-score", "9", "--out", "x.csv"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "lead_score" in err and "Traceback" not in err
    assert live_env.requests == []


def test_fetch_to_an_unknown_file_type_is_refused(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["fetch", live_env.customer_ids[0], "--out", str(tmp_path / "x.json")])
    assert code == 1
    assert ".csv" in capsys.readouterr().err


def test_fetch_with_a_wrong_password_prints_the_servers_answer(
    live_env: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("VITEC_PASSWORD", "wrong-one")
    code = main(["fetch", live_env.customer_ids[0], "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert code == 1
    assert "401" in err and "wrong-one" not in err and "Traceback" not in err


def test_cache_info_and_clear(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = str(tmp_path / "c.sqlite")
    office = live_env.customer_ids[0]
    assert main(["fetch", office, "--lead-score", "4", "--out", str(tmp_path / "a.csv"),
                 "--cache", cache]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["cache", "info", "--cache", cache]) == 0
    assert "1 answers (1 fresh)" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache", cache]) == 0
    assert "removed 1 answers, 0 left" in capsys.readouterr().out
    live_env.clear_requests()
    assert main(["fetch", office, "--lead-score", "4", "--out", str(tmp_path / "b.csv"),
                 "--cache", cache, "--offline"]) == 1  # fmt: skip
    assert "not in the cache" in capsys.readouterr().err
    assert live_env.requests == []


def test_fetch_without_credentials_uses_demo_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo.csv"
    assert main(["fetch", "M30011", "--lead-score", "5", "--out", str(out)]) == 0
    assert "DEMO DATA" in capsys.readouterr().out


def test_standin_command_serves_until_stopped(tmp_path: Path) -> None:
    code = "from vitec_nb.cli import main; raise SystemExit(main())"
    cmd = [sys.executable, "-c", code, "standin", "--port", "0", "--contacts", "300"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        answer = requests.get(f"{url}/CRM/Contact/M30011", auth=("x", "y"), timeout=10)
        assert answer.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_doctor_prints_the_call_count_the_table_and_what_the_toolkit_will_do(
    live_env: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    live_env.clear_requests()
    assert main(["doctor", "--office", "M30011", "m30012"]) == 0
    out = capsys.readouterr().out
    sent = len(live_env.requests)
    assert out.startswith("Checking 2 office(s) at http://127.0.0.1:")
    assert f"Made {sent} calls" in out and sent < 30
    table = out.splitlines()
    assert any(line.split()[:2] == ["M30012", "ok"] for line in table)
    assert "What the toolkit will do:" in out and "0 stars derived" in out
    assert "dialect='documented'" in out
    assert live_env.password not in out and "DEMO" not in out


def test_doctor_json_is_one_document_on_stdout(
    live_env: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert main(["doctor", "--office", "M30013", "--json"]) == 0
    captured = capsys.readouterr()
    found = json.loads(captured.out)
    assert [o["office"] for o in found["offices"]] == ["M30013"]
    assert found["profile"]["all_users"] is True and found["ok"] is True
    assert "at most" in captured.err  # the call count before, kept off stdout


def test_doctor_without_offices_or_with_a_wrong_password_exits_1(
    live_env: StandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live_env.clear_requests()
    assert main(["doctor"]) == 1  # a password for every office, but none named
    assert "--office" in capsys.readouterr().err
    assert live_env.requests == []
    monkeypatch.setenv("VITEC_PASSWORD", "wrong-one")
    assert main(["doctor", "--office", "M30011"]) == 1
    out = capsys.readouterr().out
    assert "REFUSED" in out and "wrong-one" not in out


def test_doctor_in_demo_mode_says_it_ran_against_the_standin(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["doctor", "--office", "M30011"]) == 0
    out = capsys.readouterr().out
    assert "built-in stand-in" in out and "DEMO" in out
    assert "Not remembered" in out


# --- agents by name, the agents list, breakdown to a file ------------------------------------


def agents_of(s: StandIn, office: str) -> pd.DataFrame:
    return s.agents[s.agents["customer_id"] == office]


def busy_agent_with_a_unique_name(s: StandIn, office: str) -> tuple[str, str]:
    """(user id, name) of the office's busiest agent whose name no other user has."""
    unique = agents_of(s, office).drop_duplicates("name", keep=False)
    t = s.truth[s.truth["customer_id"] == office]
    counts = t["agent_id"].value_counts()
    uid = max(unique["user_id"].astype(str), key=lambda u: counts.get(u, 0))
    return uid, str(unique.set_index(unique["user_id"].astype(str)).at[uid, "name"])


def test_agents_lists_every_user_with_name_id_title_archived_and_public(
    live_env: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    office = live_env.customer_ids[1]
    assert main(["agents", office.lower()]) == 0
    out = capsys.readouterr().out.splitlines()
    users = agents_of(live_env, office)
    assert out[0] == f"{office}: {len(users)} agents, every user (GetAllUsers)"
    assert out[1].split() == ["name", "id", "title", "archived", "public"]
    assert len(out) == 2 + len(users)
    for user in users.itertuples():
        line = next(line for line in out[2:] if str(user.user_id) in line)
        assert line.startswith(str(user.name)) and str(user.title) in line
        assert ("archived" in line) == bool(user.archived)
        assert line.endswith("not public") == (not user.public)


def test_fetch_by_agent_name_gives_that_agents_contacts(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    office = live_env.customer_ids[0]
    uid, name = busy_agent_with_a_unique_name(live_env, office)
    out = tmp_path / "agent.csv"
    assert main(["fetch", office, "--agent", name.upper(), "--out", str(out)]) == 0
    written = set(pd.read_csv(out, dtype=str, comment="#")["id"])
    t = live_env.truth
    want = set(t[(t["customer_id"] == office) & (t["agent_id"] == uid)]["id"].astype(str))
    assert written == want and len(want) > 10
    assert f"Wrote {len(want)} contacts" in capsys.readouterr().out


def test_an_unknown_agent_name_is_an_error_with_close_matches_never_a_silent_0(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    office = live_env.customer_ids[0]
    _, name = busy_agent_with_a_unique_name(live_env, office)
    typo = name[:-1]  # the last letter lost
    live_env.clear_requests()
    out = tmp_path / "none.csv"
    assert main(["fetch", office, "--agent", typo, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vitec-nb: error: agent: no agent called {typo!r} in {office}")
    assert f"close matches: {name}" in err and err.count("\n") == 1
    assert not out.exists()
    asked = [r.path for r in live_env.requests]
    assert asked and not any(p.rstrip("/").endswith(f"Contact/{office}") for p in asked)


def test_a_name_given_as_agent_id_is_an_error_naming_the_id_never_a_silent_0(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    office = live_env.customer_ids[0]
    uid, name = busy_agent_with_a_unique_name(live_env, office)
    live_env.clear_requests()
    out = tmp_path / "none.csv"
    assert main(["fetch", office, "--agent-id", name, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vitec-nb: error: agent-id: {name!r} is an agent's name")
    assert uid in err and "--agent" in err
    assert not out.exists()
    asked = [r.path for r in live_env.requests]
    assert not any(p.rstrip("/").endswith(f"Contact/{office}") for p in asked)


def test_a_listed_agent_id_fetches_that_agents_contacts(live_env: StandIn, tmp_path: Path) -> None:
    office = live_env.customer_ids[0]
    uid, _ = busy_agent_with_a_unique_name(live_env, office)
    out = tmp_path / "agent.csv"
    assert main(["fetch", office, "--agent-id", uid, "--out", str(out)]) == 0
    t = live_env.truth
    want = set(t[(t["customer_id"] == office) & (t["agent_id"] == uid)]["id"].astype(str))
    assert set(pd.read_csv(out, dtype=str, comment="#")["id"]) == want


def test_a_shared_agent_name_lists_the_namesakes(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = agents_of(live_env, live_env.customer_ids[0])
    twice = users[users.duplicated("name", keep=False)]
    if twice.empty:
        pytest.fail("the shared stand-in's first office has no namesakes any more")
    name = str(twice["name"].iloc[0])
    argv = ["fetch", live_env.customer_ids[0], "--agent", name, "--out", str(tmp_path / "x.csv")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"are called {name!r}: {name} (HAN" in err and "--agent-id" in err


def test_agent_and_agent_id_together_are_refused_before_any_request(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live_env.clear_requests()
    argv = ["fetch", "M30011", "--agent", "Sara Lundgren", "--agent-id", "HAN1", "--out",
            str(tmp_path / "x.csv")]  # fmt: skip
    assert main(argv) == 1
    assert "--agent, --agent-id: give one" in capsys.readouterr().err
    assert live_env.requests == []


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_breakdown_writes_the_counts_with_agent_names(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    office = live_env.customer_ids[0]
    out = tmp_path / f"counts{suffix}"
    argv = ["breakdown", office, "--by", "agent", "--period", "Y", "--start", "2024-01-01",
            "--end", "2024-12-31", "--out", str(out), "--csv-style", "excel-sv"]  # fmt: skip
    assert main(argv) == 0
    if suffix == ".csv":
        written = pd.read_csv(out, sep=";", encoding="utf-8-sig", comment="#", dtype={"agent": str})
    else:
        written = pd.read_excel(out, sheet_name="contacts", dtype={"agent": str})
    assert list(written.columns) == ["period", "agent", "agent_name", "contacts"]
    t = live_env.truth
    year = t[(t["customer_id"] == office) & (t["created_at"].dt.year == 2024)]
    assert written["contacts"].sum() == len(year)
    names = agents_of(live_env, office).set_index("user_id")["name"]
    per_agent = year["agent_id"].value_counts()
    for row in written[written["agent"].str.startswith("HAN")].itertuples():
        assert row.contacts == per_agent.get(row.agent, 0)
        assert str(row.agent_name).startswith(str(names[row.agent]))
    printed = capsys.readouterr().out
    assert f"{len(year)} contacts created" in printed
    assert f"Wrote {len(written)} rows (contacts per period × agent) to {out}" in printed


def test_breakdown_with_bad_options_sends_nothing(
    live_env: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live_env.clear_requests()
    argv = ["breakdown", "M30011", "--period", "fortnight", "--out", str(tmp_path / "x.csv")]
    assert main(argv) == 1
    assert "period" in capsys.readouterr().err
    assert main(["breakdown", "M30011", "--out", str(tmp_path / "x.parquet")]) == 1
    assert "allowed: .csv, .xlsx" in capsys.readouterr().err
    assert [r for r in live_env.requests if "Contact" in r.path] == []
