# lmsplans: the server in a container. Build and run (docs/running.md, "Docker"):
#   docker build -t lmsplans .
#   docker run -p 8000:8000 -v lmsplans-data:/var/lib/lmsplans lmsplans
# With PostgreSQL and Redis beside it: `docker compose up` (compose.yaml).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
# The versions the test suite ran with (constraints.txt), in a virtual environment to copy.
RUN python -m venv /opt/lmsplans \
    && /opt/lmsplans/bin/pip install --no-cache-dir -c constraints.txt ".[server]"

FROM python:3.11-slim
COPY --from=build /opt/lmsplans /opt/lmsplans
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/lmsplans --create-home lmsplans
ENV PATH=/opt/lmsplans/bin:$PATH \
    LMSPLANS_DATA_DIR=/var/lib/lmsplans \
    LMSPLANS_HOST=0.0.0.0 \
    LMSPLANS_PORT=8000
USER 10001:10001
WORKDIR /var/lib/lmsplans
VOLUME ["/var/lib/lmsplans"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
# SIGTERM stops it gracefully (exit 0); a setting that cannot be parsed exits 78, a database
# that cannot be reached 69.
CMD ["lmsplans", "serve"]
