# syntax=docker/dockerfile:1
# The gateway image: one image for every process (API, relay, workers, migrations); the
# command picks the process. Runs as a non-root numeric user and on a read-only root filesystem
# (writable: GATEWAY_DATA_DIR and /tmp, which the Helm chart mounts as emptyDir volumes).
#
#   docker build -t gateway:0.1.0 .
#   docker run --read-only --tmpfs /tmp -p 8080:8080 gateway:0.1.0

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: install the project and its dependencies into a virtual environment ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Only what the wheel needs (see .dockerignore too). Every dependency ships manylinux wheels
# (lxml, cryptography, asyncpg...), so no compiler is installed. pip compiles the bytecode
# here, so nothing needs writing at run time.
COPY pyproject.toml README.md ./
COPY src ./src
COPY schemas ./schemas
COPY migrations ./migrations
RUN pip install --no-cache-dir . \
    && python -c "import gateway, lxml.etree, asyncpg, cryptography"

# ---- runtime: the venv, a non-root user, nothing else ---------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="gateway" \
      org.opencontainers.image.description="Provincial document-interchange gateway (QCVN 102:2016 edXML)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin gateway \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/gateway
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_DATA_DIR=/var/lib/gateway
WORKDIR /app
# Outside Kubernetes, `docker run --read-only` still gets a writable data directory.
VOLUME ["/var/lib/gateway"]
USER 10001:10001
EXPOSE 8080
# /livez answers as long as the process does (no dependencies). Python's standard library,
# since the slim image has no curl. Meaningful for `gateway serve` only: disable it for
# containers running `gateway relay` or `gateway worker` (Kubernetes ignores it anyway).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/livez', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["gateway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
