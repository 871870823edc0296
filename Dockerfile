# LeadHub's production image: one image for web (gunicorn), worker, beat and migrate
# (docker-compose.yml gives each its command). The default command serves the web.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The processes run as this user. It owns only its home (gunicorn keeps its control socket
# in ~/.gunicorn); the code and static files stay root-owned and read-only to it.
RUN groupadd --system --gid 10001 leadhub \
    && useradd --system --uid 10001 --gid leadhub --create-home --home-dir /home/leadhub \
       --shell /usr/sbin/nologin leadhub

WORKDIR /app

# Runtime dependencies only (requirements-dev.txt is for tests), from wheels (slim has no
# compiler). A layer of its own, rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# Static files are collected at build into /app/staticfiles: outside var/, the embedded
# default's state, which settings create on import and the image does not keep. Settings
# need a SECRET_KEY to load: this dummy exists for this step only, not in the image.
ENV STATIC_ROOT=/app/staticfiles
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && rm -rf var

USER leadhub

EXPOSE 8000

CMD ["gunicorn", "leadhub.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "leadhub.web_worker.ThreadWorker", "--threads", "24", "--access-logfile", "-"]
