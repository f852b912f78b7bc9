# kubedb-dbaas: one process (API, operation workers, leader-elected reconciler, status sync).
# Build: docker build -t kubedb-dbaas .     Run: see docker-compose.yml and k8s/app/.

# --- build: the pinned dependency tree into a virtualenv -------------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first (a layer that changes only with the lock), then the project itself.
COPY requirements/constraints.txt requirements/constraints.txt
COPY pyproject.toml README.md ./
COPY app app
COPY simulator simulator
RUN pip install -c requirements/constraints.txt .

# --- runtime: the virtualenv and nothing else, as a non-root user ----------------------
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOG_FORMAT=json \
    DATA_DIR=/app/var \
    HOST=0.0.0.0 \
    PORT=8000
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin dbaas \
    && mkdir -p /app/var && chown -R dbaas:dbaas /app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER dbaas
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status == 200 else 1)"]
# --no-proxy-headers: the app reads X-Forwarded-* itself, from FORWARDED_ALLOW_IPS only.
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "1", \
     "--no-proxy-headers"]
