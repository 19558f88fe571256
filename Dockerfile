# The back-office image: web (granian: HTTP through WSGI, in the shape of config/serve.py), ws (Daphne:
# the WebSockets, `python -m config.daphne -b 0.0.0.0 -p 8001 config.asgi:application`), the Celery worker,
# beat and the outbox relay all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app
RUN useradd --create-home --uid 10001 app

COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY . .
# Static files are collected at build time; the secret here only satisfies the settings' check.
RUN SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-0123456789 \
    python manage.py collectstatic --noinput \
    && mkdir -p var && chown -R app:app var

USER app
EXPOSE 8000 8001
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["python", "-m", "config.serve", "--host", "0.0.0.0", "--port", "8000"]
