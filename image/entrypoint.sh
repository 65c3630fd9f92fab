#!/usr/bin/env bash
# Starts a Redis node ("redis") or a Sentinel ("sentinel") of the cluster:
#   1. copy the uploaded, read-only config to the volume, where the server may rewrite it;
#   2. ask the Sentinels which node is master now, so that a restarted or replaced node never
#      comes back as a second master (it falls back to the role it last had, then to the rendered one);
#   3. exec the server as the unprivileged `redis` user.
set -euo pipefail
# shellcheck source=node-lib.sh
. /usr/local/lib/redis-node/node-lib.sh

readonly UPLOAD_DIR=/etc/redis
readonly DATA_DIR=/data
readonly RUNTIME_DIR=/data/conf

log() { echo "entrypoint[${NODE_NAME:-?}]: $*" >&2; }

# Prints the master address ("ip:port") that most answering Sentinels report; fails when none answers.
# A Sentinel never asks itself: it may be the one that has just been replaced.
master_from_sentinels() {
    local sentinel sentinels answers=() answer
    IFS=',' read -r -a sentinels <<<"$SENTINELS"
    for sentinel in "${sentinels[@]}"; do
        [[ "$NODE_KIND" == sentinel && "$sentinel" == "$NODE_IP:$NODE_PORT" ]] && continue
        answer=$(redis_cli "$SENTINEL_USER" "$SENTINEL_PASSWORD" "${sentinel%:*}" "${sentinel##*:}" \
            SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | paste -sd: -) || continue
        if [[ "$answer" =~ ^[0-9.]+:[0-9]+$ ]]; then
            log "Sentinel $sentinel reports master $answer"
            answers+=("$answer")
        fi
    done
    ((${#answers[@]} > 0)) || return 1
    printf '%s\n' "${answers[@]}" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }'
}

# The master named by a config file: `replicaof` for Redis (none means this node), `sentinel monitor` for Sentinel.
master_in_file() {
    local file="$1"
    [[ -f "$file" ]] || return 1
    if [[ "$NODE_KIND" == redis ]]; then
        awk -v self="$NODE_IP:$NODE_PORT" '
            $1 == "replicaof" { master = $2 ":" $3 }
            END { print (master == "" ? self : master) }' "$file"
    else
        awk -v name="$MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == name { print $4 ":" $5 }' "$file" | grep .
    fi
}

# Decides which node is master: the Sentinels' view, else this node's last saved view, else the rendered config.
current_master() {
    local runtime="$1" uploaded="$2" master
    if master=$(master_from_sentinels); then
        log "using the Sentinels' master $master"
    elif master=$(master_in_file "$runtime"); then
        log "no Sentinel answered; keeping the master this node saved last: $master"
    else
        master=$(master_in_file "$uploaded")
        log "no Sentinel answered and no saved state; using the rendered initial master $master"
    fi
    echo "$master"
}

prepare_redis() {
    local runtime="$RUNTIME_DIR/redis.conf" master
    master=$(current_master "$runtime" "$UPLOAD_DIR/redis.conf")
    grep -v '^replicaof ' "$UPLOAD_DIR/redis.conf" >"$runtime.new"
    if [[ "$master" == "$NODE_IP:$NODE_PORT" ]]; then
        log "starting as master"
    else
        log "starting as replica of $master"
        echo "replicaof ${master%:*} ${master##*:}" >>"$runtime.new"
    fi
    mv "$runtime.new" "$runtime"
    cp "$UPLOAD_DIR/users.acl" "$RUNTIME_DIR/users.acl"
}

# Prints the state a Sentinel saved in its last config that must survive a restart: its epochs (so that it never
# votes twice in one epoch) and the replicas and Sentinels it knew. Without the replicas, a Sentinel restarted
# together with the master knows none until its next INFO to the master, and cannot fail over a master that dies
# before that. Lines for another master name are dropped (Sentinel refuses them), so is the master as a replica,
# and the config epoch unless the master is still the one it belongs to; a replaced master becomes a known replica.
saved_sentinel_state() {
    local runtime="$1" master="$2" saved_master
    [[ -f "$runtime" ]] || return 0
    saved_master=$(master_in_file "$runtime" || true)
    awk -v name="$MASTER_NAME" -v master="$master" -v saved="$saved_master" -v same_master="$([[ "$saved_master" == "$master" ]] && echo 1)" '
        $1 != "sentinel" { next }
        $2 == "current-epoch" { print; next }
        $3 != name { next }
        $2 == "leader-epoch" || $2 == "known-sentinel" { print; next }
        $2 == "config-epoch" && same_master { print; next }
        $2 == "known-replica" && $4 ":" $5 != master { print }
        END { if (!same_master && saved != "") { split(saved, at, ":"); print "sentinel known-replica", name, at[1], at[2] } }' "$runtime"
}

prepare_sentinel() {
    local runtime="$RUNTIME_DIR/sentinel.conf" master state
    master=$(current_master "$runtime" "$UPLOAD_DIR/sentinel.conf")
    log "monitoring $MASTER_NAME at $master"
    state=$(saved_sentinel_state "$runtime" "$master")
    awk -v name="$MASTER_NAME" -v ip="${master%:*}" -v port="${master##*:}" '
        $1 == "sentinel" && $2 == "monitor" && $3 == name { $4 = ip; $5 = port }
        { print }' "$UPLOAD_DIR/sentinel.conf" >"$runtime.new"
    if [[ -n "$state" ]]; then
        log "keeping the state saved last time: $(grep -c '^sentinel known-replica' <<<"$state") known replicas, $(grep -c '^sentinel known-sentinel' <<<"$state") known Sentinels, epochs"
        printf '%s\n' "$state" >>"$runtime.new"
    else
        log "no saved state to keep"
    fi
    mv "$runtime.new" "$runtime"
}

main() {
    local kind="${1:-redis}"
    load_node_env
    if [[ "$kind" != "$NODE_KIND" ]]; then
        log "command '$kind' does not match NODE_KIND=$NODE_KIND in $NODE_ENV_FILE"
        exit 64
    fi
    mkdir -p "$RUNTIME_DIR"
    case "$kind" in
        redis) prepare_redis ;;
        sentinel) prepare_sentinel ;;
    esac
    # The server rewrites these files (CONFIG REWRITE, Sentinel state) and writes its AOF here.
    # Recursive: a volume written by an image whose `redis` user had another uid must stay usable.
    chown -R redis:redis "$DATA_DIR"
    # The runtime files hold plain-text passwords (masterauth, auth-pass); CONFIG REWRITE recreates them 0644.
    chmod 0700 "$RUNTIME_DIR"
    chmod 0600 "$RUNTIME_DIR"/*
    local conf="$RUNTIME_DIR/$kind.conf" mode=()
    [[ "$kind" == sentinel ]] && mode=(--sentinel)
    log "exec redis-server $conf ${mode[*]}"
    exec setpriv --reuid=redis --regid=redis --init-groups redis-server "$conf" "${mode[@]}"
}

main "$@"
