# The Northstar app image: uvicorn serving create_app(); configuration from NORTHSTAR_* variables.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN pip install --no-cache-dir -e . && useradd --system northstar && chown northstar /app
USER northstar
EXPOSE 8000
CMD ["sh", "-c", "northstar migrate && northstar serve --host 0.0.0.0 --port 8000"]
