"""The settings' env helpers refuse values they do not understand, naming the variable, so a
typo stops the start instead of silently turning a security setting off."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from supplycoord.settings import envbool, envint, envlist

ROOT = Path(__file__).resolve().parents[2]
VAR = "SUPPLYCOORD_TEST_VALUE"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        (" Yes ", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("OFF", False),
    ],
)
def test_envbool_reads_the_usual_words(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)

    assert envbool(VAR, "False") is expected
    assert envbool(VAR, "True") is expected


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_envbool_uses_the_default_when_unset_or_empty(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, raw)

    assert envbool(VAR, "True") is True
    assert envbool(VAR, "False") is False


@pytest.mark.parametrize("raw", ["ture", "enabled", "2", "y", "真"])
def test_envbool_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)

    with pytest.raises(ImproperlyConfigured, match=VAR):
        envbool(VAR, "False")


@pytest.mark.parametrize(("raw", "expected"), [("60", 60), (" 0 ", 0), ("-1", -1), ("", 7)])
def test_envint_reads_whole_numbers_and_defaults_when_empty(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)

    assert envint(VAR, "7") == expected


@pytest.mark.parametrize("raw", ["1y", "1.5", "ten", "1_000", "+-3", "٣"])
def test_envint_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)

    with pytest.raises(ImproperlyConfigured, match=VAR):
        envint(VAR, "7")


def test_envlist_splits_on_commas_and_defaults_when_empty(monkeypatch):
    monkeypatch.setenv(VAR, " a.example , b.example,, ")
    assert envlist(VAR, "x") == ["a.example", "b.example"]

    monkeypatch.setenv(VAR, "")
    assert envlist(VAR, "x,y") == ["x", "y"]


def test_envlist_refuses_entries_with_spaces_naming_the_variable(monkeypatch):
    """ "a.example b.example" is a forgotten comma, not one host name."""
    monkeypatch.setenv(VAR, "a.example b.example")

    with pytest.raises(ImproperlyConfigured, match=VAR):
        envlist(VAR, "")


def start_settings(code="settings.DEBUG", **env: str) -> subprocess.CompletedProcess:
    """Evaluate the settings in a fresh interpreter with only the given environment."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "supplycoord.settings",
        # Any PostgreSQL URL: settings are only evaluated, nothing connects.
        "DATABASE_URL": "postgres://supplycoord@127.0.0.1:5432/supplycoord",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print({code})"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_COOKIE_SECURE", "ture"),
        ("SECURE_HSTS_SECONDS", "1y"),
        ("ALLOWED_HOSTS", "a.example b.example"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(name, value):
    proc = start_settings(**{name: value})

    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert name in proc.stderr


def test_a_trusted_proxy_count_without_a_header_stops_the_start():
    proc = start_settings(TRUSTED_PROXY_COUNT="1")

    assert proc.returncode != 0
    assert "TRUSTED_PROXY_HEADER" in proc.stderr


def test_a_trusted_proxy_header_alone_means_one_proxy():
    proc = start_settings("settings.TRUSTED_PROXY_COUNT", TRUSTED_PROXY_HEADER="X-Forwarded-For")

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"
