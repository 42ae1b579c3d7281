# The dialer image: worker, API and CLI (one distribution, console script `dialer`).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ami ami
COPY compliance compliance
COPY dialer dialer
COPY cdr cdr
COPY config config
RUN pip install . && useradd --system --home /app dialer
USER dialer
ENV DIALER_CONFIG=/app/config/dialer.toml
EXPOSE 8080 9108 4573
ENTRYPOINT ["dialer"]
CMD ["run"]
