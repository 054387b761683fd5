"""docker-compose.yml describes the production stack. No Docker engine runs here, so these
tests read the file as YAML and check what compose would be told to run."""

from pathlib import Path

import pytest
import yaml

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
APP_SERVICES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def services():
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]


def command_of(service) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_it_defines_the_five_services(services):
    """PostgreSQL, Redis, the web app, a Celery worker and a Celery beat are all there."""
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)


def test_it_runs_exactly_one_beat(services):
    """One service runs `celery beat`, as a single replica: two would queue every job twice."""
    beats = [name for name, svc in services.items() if " beat" in command_of(svc)]

    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert "celery -A supplycoord beat" in command_of(services["beat"])


def test_it_keeps_the_beat_schedule_file_in_a_volume(services):
    """Beat's last-run times survive a restart: its --schedule file lives on a volume."""
    command = command_of(services["beat"])
    schedule_file = command.split("--schedule", 1)[1].split()[0]
    mounts = [v.split(":")[1] for v in services["beat"]["volumes"]]

    assert any(schedule_file.startswith(mount + "/") for mount in mounts)


def test_it_runs_a_celery_worker(services):
    """The worker service runs `celery -A supplycoord worker`."""
    assert "celery -A supplycoord worker" in command_of(services["worker"])


@pytest.mark.parametrize("name", ["postgres", "redis", "web"])
def test_it_health_checks_the_stateful_services_and_web(services, name):
    """postgres, redis and web each declare a health check with a test command."""
    assert services[name]["healthcheck"]["test"]


def test_it_checks_postgres_with_pg_isready_and_redis_with_ping(services):
    """The health checks ask the servers themselves, not just whether a port is open."""
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli" in str(services["redis"]["healthcheck"]["test"])
    assert "ping" in str(services["redis"]["healthcheck"]["test"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_gives_the_app_services_database_and_redis_urls(services, name):
    """web, worker and beat get DATABASE_URL and REDIS_URL, defaulting to the compose services."""
    environment = services[name]["environment"]

    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert "redis://redis:6379/" in environment["REDIS_URL"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_runs_the_app_services_with_debug_off_and_a_required_secret(services, name):
    """DEBUG is False, and SECRET_KEY must come from .env: compose refuses an empty one."""
    environment = services[name]["environment"]

    assert environment["DEBUG"] == "False"
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert "ALLOWED_HOSTS" in environment


def test_it_migrates_once_before_any_web_replica_starts(services):
    """A one-shot `migrate` service; web waits for it to complete, so several web replicas
    never migrate at once."""
    assert "manage.py migrate --noinput" in command_of(services["migrate"])
    assert services["migrate"]["restart"] == "no"
    assert command_of(services["web"]) == "gunicorn supplycoord.wsgi"
    assert services["web"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }


def test_it_starts_web_once_postgres_and_redis_are_healthy(services):
    depends = services["web"]["depends_on"]
    assert depends["postgres"] == {"condition": "service_healthy"}
    assert depends["redis"] == {"condition": "service_healthy"}
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"] == {"condition": "service_healthy"}


def test_web_and_worker_scale_by_replicas_and_beat_does_not(services):
    """Issue 13: more web and Celery workers add throughput; beat stays one."""
    assert services["web"]["deploy"]["replicas"] == "${WEB_REPLICAS:-1}"
    assert services["worker"]["deploy"]["replicas"] == "${WORKER_REPLICAS:-1}"
    assert services["web"]["ports"] == ["${WEB_PORTS:-8000}:8000"]
    assert services["beat"]["deploy"]["replicas"] == 1


def test_it_keeps_database_and_broker_data_in_volumes(services):
    """PostgreSQL's data directory and Redis's /data are named volumes, not the container layer."""
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]
