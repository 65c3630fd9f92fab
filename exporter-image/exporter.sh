#!/usr/bin/env bash
# The exporter container's entrypoint ("run") and health check ("health"). Its settings come from the uploaded
# exporter.env as environment variables of the exporter process alone, so that the password is in no container
# setting that `docker inspect` shows.
set -euo pipefail

readonly ENV_FILE=/etc/redis-exporter/exporter.env

# Exports each KEY=value line without evaluating it: the password stays literal.
load_env() {
    local key value
    while IFS='=' read -r key value; do
        [[ -z "$key" || "$key" == \#* ]] && continue
        if [[ ! "$key" =~ ^[A-Z_]+$ ]]; then
            echo "redis-exporter-node: ignoring malformed line in $ENV_FILE" >&2
            continue
        fi
        export "$key=$value"
    done <"$ENV_FILE"
}

# Healthy when the exporter answers on its own port; it does not depend on the node being up, so that a node's
# outage shows as redis_up 0 rather than as a missing target.
health() {
    local port="${REDIS_EXPORTER_WEB_LISTEN_ADDRESS##*:}" reply
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    reply=$(timeout 2 cat <&3 | tr -d '\r')
    [[ "$(tail -n 1 <<<"$reply")" == ok ]]
}

load_env
case "${1:-run}" in
    run) exec prometheus-redis-exporter ;;
    health) health ;;
    *)
        echo "redis-exporter-node: unknown command '$1' (expected run or health)" >&2
        exit 2
        ;;
esac
