# The Loa services' image (scheduler, metrics): one image, the command picks the service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY services ./services
RUN pip install --no-cache-dir .
ENV LOA_LOG_FORMAT=json
