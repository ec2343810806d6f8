FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml requirements.lock ./
COPY collab ./collab
RUN pip install -c requirements.lock .
COPY . .
RUN DATABASE_URL=sqlite:////tmp/build.sqlite3 REDIS_URL=redis://localhost:6379/0 SECRET_KEY=build-only-not-used-at-runtime \
    python manage.py collectstatic --noinput -v0
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "collab.asgi:application"]
