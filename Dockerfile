# The Northstar app image: uvicorn serving create_app(); configuration from NORTHSTAR_* variables.
FROM python:3.11-slim
# Chromium draws the report's charts (kaleido, with plotly's own plotly.js: nothing from a CDN);
# Pango, HarfBuzz and a font let WeasyPrint write the PDF.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
ENV BROWSER_PATH=/usr/bin/chromium
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
