# paperbot: python:3.11-slim, a non-root user, the store on the /data volume.
# No secret is baked in: tokens are passed at `docker run` time as environment variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PAPERBOT_DB=/data/paperbot.db \
    PAPERBOT_CONFIG=/app/config/paperbot.toml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY store ./store
COPY config ./config
RUN pip install . \
 && useradd --system --create-home --uid 10001 paperbot \
 && mkdir -p /data && chown paperbot:paperbot /data

USER paperbot
VOLUME ["/data"]
CMD ["paperbot", "run"]
