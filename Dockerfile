# The Loa services' image (scheduler, metrics, web): one image; the command picks the service
# (scheduler by default; `python -m services.metrics` or `python -m services.web` for the others).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY services ./services
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --no-create-home --home-dir /app loa
ENV LOA_LOG_FORMAT=json \
    LOA_HTTP_HOST=0.0.0.0
USER loa
EXPOSE 8080 8081 8082
# Liveness of whichever service this container runs (each answers /healthz on its own port).
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=6 CMD ["python", "-c", "import os, sys, urllib.request as u\nfor port in (os.environ.get('LOA_SCHEDULER_PORT', '8081'), os.environ.get('LOA_METRICS_PORT', '8082'), os.environ.get('LOA_WEB_PORT', '8080')):\n    try:\n        u.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2); sys.exit(0)\n    except OSError:\n        pass\nsys.exit(1)"]
CMD ["python", "-m", "services.scheduler"]
