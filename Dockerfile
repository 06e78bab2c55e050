# The service image: dependencies in a virtualenv built apart, a slim non-root runtime.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.txt constraints.txt /tmp/
RUN /venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt -c /tmp/constraints.txt

FROM python:${PYTHON_VERSION}-slim-bookworm
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /venv /venv
WORKDIR /srv
COPY --chown=10001:10001 app ./app
# The replay check `tilt up` runs before a live update goes live (docs/changing-workflows.md).
COPY --chown=10001:10001 tools/__init__.py tools/replay.py ./tools/
USER 10001
EXPOSE 8000
# One worker per pod: each process opens its own workflow stream; scale with replicas.
# `tilt up` sets UVICORN_RELOAD=true (uvicorn reads its options from UVICORN_* variables).
CMD ["uvicorn", "--factory", "app.main:create_app", "--host", "0.0.0.0", "--port", "8000", "--workers", "1"]
