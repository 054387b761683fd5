"""gunicorn.conf.py, the web server's settings chosen by measurement (README, "Throughput and
scaling"): sync workers, two per core this process may run on, WEB_CONCURRENCY overriding."""

import os
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_two_sync_workers_per_core(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    settings = runpy.run_path(str(CONF))
    assert settings["worker_class"] == "sync"
    assert settings["workers"] == 6  # 2 × 3 cores


def test_web_concurrency_overrides_the_count(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert runpy.run_path(str(CONF))["workers"] == 5
