#!/usr/bin/env bash
# Web server, Celery worker and Celery beat in the foreground; Ctrl-C stops all three.
set -uo pipefail
HOST=${1:-127.0.0.1}; PORT=${2:-8000}
BIN=.venv/bin
mkdir -p var
pids=()
cleanup() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; echo "Stopped."; }
trap cleanup INT TERM EXIT
$BIN/gunicorn loanops.wsgi:application --bind "$HOST:$PORT" --workers 3 --access-logfile - &
pids+=($!)
$BIN/celery -A loanops worker -Q default,nightly,pdf --concurrency 2 --max-tasks-per-child 200 --loglevel INFO &
pids+=($!)
$BIN/celery -A loanops beat --loglevel INFO --schedule var/celerybeat-schedule &
pids+=($!)
sleep 2
$BIN/python manage.py demo_logins --url "http://$HOST:$PORT/"
wait -n "${pids[@]}"
