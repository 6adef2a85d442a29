# Production image: the API or a worker, against a Redis 8 given by REDIS_URL.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY agent_memory ./agent_memory
RUN pip install ".[offline]" && useradd --create-home --uid 10001 agentmemory
USER agentmemory

ENV HOST=0.0.0.0 PORT=8000 AUTH_MODE=token
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/v1/health', timeout=2)"
CMD ["agent-memory", "api", "--no-worker"]
