#!/bin/sh
# The image's entrypoint: one image, one role per container.
#
#   api                 the REST API (`gateway serve`); never migrates (run `migrate` first)
#   worker              an arq sync worker (`gateway worker`; needs GATEWAY_REDIS_URL)
#   migrate             apply the database migrations (`gateway db upgrade`) and exit
#   check               the operators' one-screen health summary (`gateway check`)
#   emulate PROVIDER    a provider emulator on 0.0.0.0 (demo and compose only)
#   healthcheck         exit 0 when this container's role is healthy (used by HEALTHCHECK)
#   anything else       run as given (`gateway api-keys list`, `sh`, ...)
#
# Every role runs with `exec`, so the process gets SIGTERM directly and shuts down
# gracefully. GATEWAY_* variables configure everything (see README, "Configuration").
set -eu

PYTHON="${GATEWAY_PYTHON:-python}"
ROLE_FILE="${GATEWAY_ROLE_FILE:-${TMPDIR:-/tmp}/gateway-role}"

remember_role() {
    # HEALTHCHECK runs outside this process: leave the role where it can read it
    printf '%s\n' "$1" > "$ROLE_FILE" 2>/dev/null || true
}

probe() {
    # probe URL: exit 0 when URL answers 2xx within 4 seconds
    "$PYTHON" -c 'import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=4) as response:
        sys.exit(0 if 200 <= response.status < 300 else 1)
except Exception as exc:
    print(f"unhealthy: {type(exc).__name__}", file=sys.stderr)
    sys.exit(1)' "$1"
}

healthcheck() {
    role="$(cat "$ROLE_FILE" 2>/dev/null || echo api)"
    case "$role" in
        api)
            probe "http://127.0.0.1:${GATEWAY_PORT:-8000}/health/ready" ;;
        worker)
            if [ "${GATEWAY_WORKER_METRICS_PORT:-0}" != "0" ]; then
                probe "http://127.0.0.1:${GATEWAY_WORKER_METRICS_PORT}/metrics"
            else
                kill -0 1
            fi ;;
        emulate-*)
            probe "http://127.0.0.1:${GATEWAY_EMULATOR_PORT:-8101}/_emulator/stats" ;;
        *)
            exit 0 ;;
    esac
}

command="${1:-api}"
[ "$#" -gt 0 ] && shift

case "$command" in
    api)
        remember_role api
        exec "$PYTHON" -m gateway.cli serve "$@" ;;
    worker)
        remember_role worker
        exec "$PYTHON" -m gateway.cli worker "$@" ;;
    migrate)
        remember_role migrate
        exec "$PYTHON" -m gateway.cli db upgrade "$@" ;;
    check)
        exec "$PYTHON" -m gateway.cli check "$@" ;;
    emulate)
        provider="${1:?usage: emulate volue|zaehlerfreunde}"
        shift
        remember_role "emulate-$provider"
        exec "$PYTHON" -m gateway.cli emulate "$provider" --host "${GATEWAY_EMULATOR_HOST:-0.0.0.0}" \
            --port "${GATEWAY_EMULATOR_PORT:-8101}" "$@" ;;
    healthcheck)
        healthcheck ;;
    gateway)
        exec "$PYTHON" -m gateway.cli "$@" ;;
    *)
        exec "$command" "$@" ;;
esac
