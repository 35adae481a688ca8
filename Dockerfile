# One image for every Gridcase process (web, WebSocket, scheduler); the command picks the role.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 GRIDCASE_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir . && useradd --system --home /app gridcase && mkdir -p /data && chown gridcase /data
COPY . .
RUN DEBUG=1 python manage.py collectstatic --noinput
USER gridcase
EXPOSE 8000
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000"]
