"""Identity: per-user scrypt credentials, admin rights only for a verified identity, the team password as one
shared owner, and failed sign-ins throttled (per name and per client, in SQLite) and logged."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid

import pytest

from dashboard.auth import SESSION_KEY, identity_record
from omib_core import paths
from omib_core.cli import main
from omib_core.errors import ConfigError
from omib_core.identity import SignInThrottle, hash_password, load_users, parse_hash, verify_password
from tests.auth_helpers import PASSWORD, password_hash, sign_in
from tests.dashboard.test_page_train import add_fake_run, app, no_exception

# hashing and the users table


def test_scrypt_hash_round_trips_and_refuses_a_wrong_password():
    encoded = hash_password("correct horse")
    n, r, p, salt, key = parse_hash(encoded)
    assert encoded.startswith("scrypt$16384$8$1$") and (n, r, p) == (2**14, 8, 1) and len(salt) == 16
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horsE", encoded) and not verify_password("", encoded)
    assert hash_password("correct horse") != encoded  # a fresh random salt each time
    for bad in ("correct horse", "scrypt$16384$8$1$!!$??", f"scrypt${2**30}$8$1$AAAAAAAAAAA=$" + "A" * 44):
        with pytest.raises(ConfigError, match="hash-password"):
            verify_password("correct horse", bad)


def test_signing_in_as_another_user_needs_their_password(caplog):
    alice, bob = hash_password("alice's secret"), hash_password("bob's secret")
    with caplog.at_level(logging.ERROR, logger="omib.auth"):
        users = load_users({"alice": alice, "bob": bob, "eve": "plain text password"})
    assert set(users.hashes) == {"alice", "bob"}, "a plain-text entry must be refused"
    assert any("'eve'" in r.getMessage() and "plain-text" in r.getMessage() for r in caplog.records)
    assert users.check("alice", "bob's secret") is None
    assert users.check("bob", "alice's secret") is None
    assert users.check("mallory", "alice's secret") is None
    assert users.check("eve", "plain text password") is None
    assert users.check("alice", "alice's secret") == "alice"
    assert users.check(" ALICE ", "alice's secret") == "alice"  # the canonical name, whatever the case


def test_users_file_is_merged_and_secrets_win(tmp_path):
    f = tmp_path / "users.toml"
    f.write_text(f'[users]\ncarol = "{hash_password("carol pw")}"\nalice = "{hash_password("old")}"\n')
    users = load_users({"alice": hash_password("new")}, f)
    assert users.check("carol", "carol pw") == "carol" and users.check("alice", "new") == "alice"
    assert users.check("alice", "old") is None
    f.write_text("users = 3")
    with pytest.raises(ConfigError, match=r"\[users\] table"):
        load_users(None, f)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_users(None, tmp_path / "missing.toml")


def test_hash_password_command_prints_a_line_that_verifies(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["hash-password", "alice"]) == 0
    line = capsys.readouterr().out.strip()
    name, encoded = line.split(" = ")
    assert name == "alice" and verify_password("a long enough password", json.loads(encoded))
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["hash-password"]) == 2
    assert "choose one of 8" in capsys.readouterr().err


# the throttle


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def fails() -> bool:
    return False


def test_throttle_backs_off_per_name_without_checking_and_logs(tmp_path, caplog):
    clock = Clock()
    t = SignInThrottle(tmp_path / "auth.db", clock=clock)
    checked = []

    def check():
        checked.append(1)
        return False

    with caplog.at_level(logging.WARNING, logger="omib.auth"):
        for i in range(5):  # five clients, one name: the name's counter trips
            assert not t.attempt("alice", f"ip:10.0.0.{i}", check).ok
    assert len(checked) == 5
    failures = [r.getMessage() for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert len(failures) == 5 and "'alice'" in failures[-1] and "ip:10.0.0.4" in failures[-1]
    assert "5 failures for this name" in failures[-1]
    assert all("secret" not in r.getMessage() for r in caplog.records)
    refused = t.attempt("Alice", "ip:10.9.9.9", check)  # another client, the same name in another case
    assert not refused.ok and refused.wait == pytest.approx(1.0) and len(checked) == 5, "checked during back-off"
    assert "Wait 1 second" in refused.message
    clock.now += 1.0
    assert not t.attempt("alice", "ip:10.9.9.9", check).ok and len(checked) == 6
    assert t.attempt("alice", "ip:10.9.9.9", check).wait == pytest.approx(2.0)  # doubling
    for _ in range(20):
        clock.now += 1000
        t.attempt("alice", "ip:10.9.9.9", fails)
    assert t.attempt("alice", "ip:10.9.9.9", fails).wait == pytest.approx(900.0)  # capped at 15 min
    assert "Wait 15 minutes" in t.attempt("alice", "ip:10.9.9.9", fails).message


def test_throttle_backs_off_per_client_across_names(tmp_path):
    clock = Clock()
    t = SignInThrottle(tmp_path / "auth.db", clock=clock)
    for i in range(10):  # one client spraying ten names
        assert not t.attempt(f"user{i}", "ip:203.0.113.7", fails).ok
    refused = t.attempt("somebody-new", "ip:203.0.113.7", lambda: pytest.fail("checked during back-off"))
    assert refused.wait == pytest.approx(1.0)
    assert t.attempt("somebody-new", "ip:198.51.100.1", lambda: "somebody-new").ok  # other clients are not held


def test_success_resets_the_name_and_counters_survive_a_restart(tmp_path):
    clock = Clock()
    t = SignInThrottle(tmp_path / "auth.db", clock=clock)
    for _ in range(4):
        t.attempt("bob", "ip:1", fails)
    assert t.counts("bob", "ip:1") == {"name": 4, "client": 4}
    assert t.attempt("bob", "ip:1", lambda: "bob").result == "bob"
    assert t.counts("bob", "ip:1") == {"name": 0, "client": 4}  # the name's counter is cleared
    for _ in range(5):
        t.attempt("carol", "ip:2", fails)
    again = SignInThrottle(tmp_path / "auth.db", clock=clock)  # a new server process on the same data dir
    assert again.counts("carol", "ip:2") == {"name": 5, "client": 5}
    assert again.attempt("carol", "ip:3", fails).wait == pytest.approx(1.0)
    clock.now += 3601  # an hour without attempts: forgotten
    assert again.counts("carol", "ip:2") == {"name": 0, "client": 0}


def test_parallel_guesses_cannot_slip_past_the_limit(tmp_path):
    t = SignInThrottle(tmp_path / "auth.db")
    checked, lock = [], threading.Lock()

    def slow_check():
        with lock:
            checked.append(1)
        threading.Event().wait(0.05)
        return False

    threads = [threading.Thread(target=t.attempt, args=("dave", f"ip:{i}", slow_check)) for i in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(checked) == 5  # each attempt is counted before its password is checked


# the sign-in forms (AppTest)


@pytest.fixture
def fresh_auth_db(monkeypatch):
    """A throttle database of this test's own (AppTest sessions share one client id)."""
    monkeypatch.setattr(paths, "AUTH_DB", f"auth-{uuid.uuid4().hex[:8]}.db")


def submit(at, name: str, password: str):
    at.text_input(key="auth_form_name").set_value(name)
    at.text_input(key="auth_form_password").set_value(password)
    at.button[0].click()
    return at.run()


def sidebar_text(at) -> str:
    return " ".join(str(c.value) for c in at.sidebar.caption)


def test_sign_in_form_with_users_refuses_wrong_passwords_and_signs_in(fresh_auth_db):
    at = app("runs")
    at.secrets["users"] = {"alice": password_hash(), "bob": hash_password("bob's own password")}
    at.secrets["admins"] = ["alice"]
    at.run()
    assert at.text_input(key="auth_form_password") is not None and SESSION_KEY not in at.session_state
    submit(at, "alice", "wrong password")
    no_exception(at)
    assert any("name and password do not match" in e.value for e in at.error)
    assert SESSION_KEY not in at.session_state
    submit(at, "alice", "bob's own password")  # someone else's password
    assert any("do not match" in e.value for e in at.error) and SESSION_KEY not in at.session_state
    submit(at, "alice", PASSWORD)
    no_exception(at)
    assert at.session_state[SESSION_KEY]["name"] == "alice"
    assert "Signed in as **alice** (admin)" in sidebar_text(at)


def test_sign_in_form_backs_off_with_a_sentence(fresh_auth_db, monkeypatch):
    monkeypatch.setattr(SignInThrottle, "delay", lambda self, count, kind: 60.0 * (count >= self.limits[kind]))
    at = app("runs")
    at.secrets["users"] = {"erin": password_hash()}
    at.run()
    for _ in range(5):
        submit(at, "erin", "guess")
    submit(at, "erin", PASSWORD)  # the right password, but refused without being checked
    assert any("Too many failed sign-ins" in e.value and "Wait 1 minute" in e.value for e in at.error)
    assert SESSION_KEY not in at.session_state


def test_a_changed_password_signs_the_session_out():
    at = sign_in(app("runs"), "frank")
    at.run()
    assert "Signed in as **frank**" in sidebar_text(at)
    at.secrets["users"] = {"frank": hash_password("a new password")}
    at.run()
    assert SESSION_KEY not in at.session_state and at.text_input(key="auth_form_password") is not None


def test_a_broken_users_table_never_falls_back_to_the_local_admin(monkeypatch, tmp_path):
    at = app("runs")
    at.secrets["users"] = {"eve": "plain text password"}  # no valid entry: nobody can sign in, nobody is admin
    at.run()
    no_exception(at)
    assert at.text_input(key="auth_form_password") is not None and not at.sidebar.caption
    monkeypatch.setenv("OMIB_USERS_FILE", str(tmp_path / "missing.toml"))
    at = app("runs")
    at.run()
    no_exception(at)
    assert any("Sign-in is not set up correctly" in e.value for e in at.error) and not at.sidebar.caption


def team_app(page: str, label: str, **query):
    at = app(page, **query)
    at.secrets["password"] = "team pw"
    at.secrets["admins"] = ["alice"]
    at.run()
    submit(at, label, "team pw")
    no_exception(at)
    return at


def test_team_password_is_one_shared_owner_and_never_admin(fresh_auth_db):
    alices_run = add_fake_run(owner="alice", name="alice's own run")
    team_run = add_fake_run(owner="team", name="a team run")
    for label in ("alice", "bob"):  # typing the admin's name gives nothing; two names are one owner
        at = team_app("runs", label)
        assert at.session_state[SESSION_KEY]["name"] == "team"
        shown = sidebar_text(at)
        assert f"**{label}** (team password: no per-person protection" in shown and "(admin)" not in shown
        at.selectbox(key="runs_pick").set_value(alices_run).run()
        no_exception(at)
        assert at.button(key="runs_delete").disabled, f"{label} (team password) may delete alice's run"
        at.selectbox(key="runs_pick").set_value(team_run).run()
        assert not at.button(key="runs_delete").disabled  # the team's runs are everyone's in the team


def test_team_password_cannot_delete_a_users_upload_and_deletions_name_the_verified_user(fresh_auth_db):
    from omib_core.config import DataConfig, RunConfig
    from omib_core.data.uploads import store_upload, upload_records
    from omib_core.paths import uploads_dir
    from tests.core.test_uploads import good_files

    alices = store_upload(good_files(), owner="alice", name="alice's data")
    at = team_app("data", "alice")
    assert f"data_upload_delete_{alices}" not in {b.key for b in at.button}
    assert alices in {r["id"] for r in upload_records()}

    bobs = store_upload(good_files(), owner="bob", name="bob's data")
    at = sign_in(app("data"), "bob")
    at.session_state["omib_config"] = RunConfig(data=DataConfig(dataset=f"upload:{bobs}")).to_dict()
    at.run()
    at.button(key=f"data_upload_delete_{bobs}").click().run()
    no_exception(at)
    tomb = json.loads((uploads_dir() / f"{bobs}.deleted.json").read_text())
    assert tomb["deleted_by"] == "bob" and tomb["owner"] == "bob"


def test_identity_record_is_what_the_helper_uses():
    rec = identity_record("users", "gina", password_hash())
    assert rec["via"] == "users" and rec["name"] == "gina" and password_hash() not in json.dumps(rec)


def test_sign_in_form_needs_a_name_and_a_password(fresh_auth_db):
    """An empty (or blank) name or an empty password is a sentence on the form, not a check and not a session."""
    at = app("runs")
    at.secrets["users"] = {"alice": password_hash()}
    at.run()
    for name, given in (("", PASSWORD), ("   ", PASSWORD), ("alice", "")):
        submit(at, name, given)
        no_exception(at)
        assert [e.value for e in at.error] == ["Enter your name and your password."], (name, given)
        assert SESSION_KEY not in at.session_state
    submit(at, "alice", PASSWORD)
    assert at.session_state[SESSION_KEY]["name"] == "alice" and not at.error


def test_team_form_needs_a_name_and_the_right_password(fresh_auth_db):
    at = app("runs")
    at.secrets["password"] = "team pw"
    at.run()
    submit(at, "  ", "team pw")
    assert [e.value for e in at.error] == ["Enter a name: it is shown beside what you do."]
    assert SESSION_KEY not in at.session_state
    submit(at, "bob", "Team pw")
    assert any("That password is not right" in e.value for e in at.error) and SESSION_KEY not in at.session_state
    submit(at, "bob", "team pw")
    assert at.session_state[SESSION_KEY]["name"] == "team" and not at.error


def test_omib_admins_gives_admin_rights_to_a_user_signed_in_with_the_form(fresh_auth_db, monkeypatch):
    """``OMIB_ADMINS`` (comma-separated, case-insensitive) works like ``admins`` in secrets, for verified names only."""
    monkeypatch.setenv("OMIB_ADMINS", " someone@example.org , Carol ")
    for name, admin in (("carol", True), ("dave", False)):
        at = app("runs")
        at.secrets["users"] = {"carol": password_hash(), "dave": password_hash()}
        at.run()
        submit(at, name, PASSWORD)
        no_exception(at)
        assert at.session_state[SESSION_KEY]["name"] == name
        assert ("(admin)" in sidebar_text(at)) is admin, sidebar_text(at)
    monkeypatch.setenv("OMIB_ADMINS", "team")  # the team password is one shared owner: never an admin
    at = team_app("runs", "team")
    assert at.session_state[SESSION_KEY]["name"] == "team" and "(admin)" not in sidebar_text(at)
