#!/usr/bin/env bash
# Docker health check: the node answers PING on loopback (Redis answers LOADING while it reads its AOF).
set -euo pipefail
# shellcheck source=node-lib.sh
. /usr/local/lib/redis-node/node-lib.sh
load_node_env
reply=$(redis_cli "$HEALTH_USER" "$HEALTH_PASSWORD" 127.0.0.1 "$NODE_PORT" PING)
[[ "$reply" == "PONG" ]]
