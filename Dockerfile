# The `wf` image the Helm chart runs (charts/workflow-observability/).
# Builder: a full Debian image with a C compiler, so that `pip install .`
# builds the package's optional compiled extension; runtime: slim, the
# built virtualenv only, a user without a shell or a home of its own.
FROM python:3.11-bookworm AS builder
WORKDIR /src
# The whole source tree but what .dockerignore leaves out, so that a build
# file or extension source added to the package is built without editing this.
COPY . .
RUN python -m venv /opt/wf \
    && /opt/wf/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 wf \
    && useradd --system --uid 10001 --gid wf --no-create-home --shell /usr/sbin/nologin wf
COPY --from=builder /opt/wf /opt/wf
ENV PATH=/opt/wf/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_STATE_HOME=/var/lib/workflow
# The chart mounts writable volumes here; the root filesystem stays read-only.
RUN mkdir -p /var/lib/workflow && chown wf:wf /var/lib/workflow
USER 10001:10001
EXPOSE 24224/tcp 24224/udp 8088 8000
ENTRYPOINT ["wf"]
CMD ["serve"]
