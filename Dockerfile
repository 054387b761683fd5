# SupplyCoord: one image for web (gunicorn), worker and beat (celery); docker-compose.yml runs it.
FROM python:3.11-slim

# gunicorn reads GUNICORN_CMD_ARGS itself and gunicorn.conf.py from /app (sync workers, two per
# core, WEB_CONCURRENCY to override); `docker run -e` or compose can override either without
# repeating the command.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=supplycoord.settings \
    GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000 --access-logfile - --timeout 120 --no-control-socket"

WORKDIR /app

# Requirements first, so a code change does not reinstall them. Every runtime dependency ships
# as a wheel (psycopg2-binary bundles libpq), so the image needs no compiler.
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN groupadd --system app && useradd --system --gid app --home-dir /app --no-create-home app

COPY . .

# Catalogues are compiled with polib (no GNU gettext in the image) and static files collected
# at build time, so a running container writes only to its volumes (media, beat schedule).
RUN python manage.py compile_translations \
    && python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/media /var/lib/supplycoord/beat \
    && chown -R app:app /app/media /var/lib/supplycoord

USER app
EXPOSE 8000
CMD ["gunicorn", "supplycoord.wsgi"]
