# paperbot: Python 3.11 on Debian slim, a numeric non-root user, the store on the /data volume.
# No secret is baked in: tokens are passed at `docker run` time as environment variables.
#
# The base is pinned to an exact Python patch release and Debian release, so a rebuild
# gets the same interpreter; bump it on purpose (and re-run the tests) for a security fix.
# Not pinned by digest: none could be resolved where this file was written (no registry
# access). To pin it: `docker pull python:3.11.15-slim-trixie`, then
# `docker inspect --format '{{index .RepoDigests 0}}' python:3.11.15-slim-trixie`
# and append `@sha256:...` to the FROM line.
FROM python:3.11.15-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PAPERBOT_DB=/data/paperbot.db \
    PAPERBOT_CONFIG=/app/config/paperbot.toml

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY adapters ./adapters
COPY store ./store
COPY config ./config
# [all]: the Slack, Discord and LLM clients (extras; an image for one platform may install
# '.[slack]' or '.[discord]' instead).
# A numeric uid/gid (not a name) so Kubernetes' runAsNonRoot can verify it and a host
# directory mounted at /data can be chowned to it: `chown 10001:10001 DIR`.
RUN pip install '.[all]' \
 && groupadd --system --gid 10001 paperbot \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin paperbot \
 && mkdir -p /data && chown 10001:10001 /data

USER 10001:10001
VOLUME ["/data"]
# Slack HTTP mode (no SLACK_APP_TOKEN) listens on PAPERBOT_HTTP_PORT, default 3000.
# Socket Mode, Discord and webhooks only connect out and need no published port.
EXPOSE 3000

# `paperbot status` reads the store without changing it and exits 1 when something needs
# attention (a failing or undeliverable subscription, a failing arXiv fetch), so "unhealthy"
# means "look at `docker inspect` / `paperbot status`", not "the process died" (an exit is
# what the restart policy handles). `|| exit 1` maps its exit 2 (the store cannot be read)
# to 1, because Docker reserves 2. The start period covers the first start's migrations.
HEALTHCHECK --interval=5m --timeout=30s --start-period=2m --retries=3 \
    CMD ["sh", "-c", "paperbot status || exit 1"]

# SIGTERM (docker stop) stops the bot cleanly; a digest being posted gets
# [digest] stop_grace_seconds (8 s) to finish, under docker stop's 10 s.
STOPSIGNAL SIGTERM
CMD ["paperbot", "run"]
