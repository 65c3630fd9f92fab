#!/usr/bin/env bash
# Docker health check: the node answers PING on loopback (Redis answers LOADING while it reads its AOF), and a
# replica has its link to the master up: it has synced. `pulumi up` (wait) replaces the next node only then.
set -euo pipefail
# shellcheck source=node-lib.sh
. /usr/local/lib/redis-node/node-lib.sh
load_node_env
reply=$(redis_cli "$HEALTH_USER" "$HEALTH_PASSWORD" 127.0.0.1 "$NODE_PORT" PING)
[[ "$reply" == "PONG" ]]
[[ "$NODE_KIND" == redis ]] || exit 0
replication=$(redis_cli "$HEALTH_USER" "$HEALTH_PASSWORD" 127.0.0.1 "$NODE_PORT" INFO replication | tr -d '\r')
grep -qx 'role:master' <<<"$replication" || grep -qx 'master_link_status:up' <<<"$replication"
