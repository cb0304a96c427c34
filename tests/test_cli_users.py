"""`gem-envoy user ...` on a real database file, and the network options of `run` and `demo`."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from gem_envoy.cli import build_parser
from gem_envoy.cli.parsing import UsageError
from gem_envoy.cli.serve_options import serve_options
from gem_envoy.host.service import ServeOptions
from tests.simulator import gem_envoy


def user(db: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"GEM_ENVOY_PASSWORD": password} if password is not None else None
    return gem_envoy("user", args[0], "--db", str(db), *args[1:], env=env)


def ok(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one line, no traceback


def test_users_are_added_changed_and_deleted(tmp_path: Path) -> None:
    db = tmp_path / "gem.db"
    ok(user(db, "add", "root", "--role", "admin", password="root-password-1"))
    ok(user(db, "add", "alice", password="alice-password-1"))
    assert ok(user(db, "list")) == [
        {"user": "alice", "role": "user"},
        {"user": "root", "role": "admin"},
    ]
    refused(user(db, "delete", "root"), "'root' is the last admin and cannot be deleted")
    refused(user(db, "set-role", "root", "user"), "'root' is the last admin and cannot be demoted")
    assert ok(user(db, "set-role", "alice", "admin")) == {
        "user": "alice", "role": "admin", "sessions_ended": 0,
    }  # fmt: skip
    passwd = user(db, "passwd", "alice", password="alice-password-2")
    assert ok(passwd) == {"user": "alice", "sessions_ended": 0}
    assert "alice-password-2" not in passwd.stdout + passwd.stderr
    assert ok(user(db, "logout", "alice")) == {"user": "alice", "sessions_ended": 0}
    assert ok(user(db, "delete", "root")) == {"deleted": "root", "sessions_ended": 0}
    assert ok(user(db, "list")) == [{"user": "alice", "role": "admin"}]
    refused(user(db, "delete", "root"), "there is no user named 'root'")
    refused(user(db, "logout", "root"), "there is no user named 'root'")


def test_a_short_password_is_refused_with_the_reason(tmp_path: Path) -> None:
    db = tmp_path / "gem.db"
    result = user(db, "add", "alice", password="eleven-char")
    refused(result, "password must be at least 12 characters long")
    assert "eleven-char" not in result.stderr
    ok(user(db, "add", "alice", password="twelve-chars"))
    refused(user(db, "passwd", "alice", password="short"), "at least 12 characters")


def test_a_short_admin_password_from_the_environment_says_where_it_came_from(
    tmp_path: Path,
) -> None:
    result = gem_envoy(
        "demo", "--db", str(tmp_path / "demo.db"), "--listen", "127.0.0.1:0",
        env={"GEM_ENVOY_ADMIN_PASSWORD": "short"},
    )  # fmt: skip
    refused(result, "$GEM_ENVOY_ADMIN_PASSWORD: password must be at least 12 characters long")


def parse(*args: str) -> argparse.Namespace:
    return build_parser().parse_args(list(args))


@pytest.mark.parametrize("verb", ["run", "demo"])
def test_run_and_demo_take_the_network_options(verb: str) -> None:
    assert serve_options(parse(verb)) == ServeOptions()
    args = parse(
        verb, "--allowed-host", "Gem.Lan", "--allowed-host", "192.168.1.20:8080",
        "--forwarded-allow-ips", "127.0.0.1, 10.0.0.0/24",
    )  # fmt: skip
    assert serve_options(args) == ServeOptions(
        allowed_hosts=("gem.lan", "192.168.1.20"), forwarded_allow_ips="127.0.0.1,10.0.0.0/24"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--allowed-host", "http://gem.lan/"], "--allowed-host wants a host name"),
        (["--forwarded-allow-ips", "proxy.lan"], "--forwarded-allow-ips wants addresses"),
        (["--forwarded-allow-ips", " , "], "needs at least one address"),
    ],
)
def test_bad_network_options_are_usage_errors(args: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        serve_options(parse("run", *args))
