#!/usr/bin/env bash
# Starts a Redis node ("redis") or a Sentinel ("sentinel") of the cluster:
#   1. copy the uploaded, read-only config to the volume, where the server may rewrite it;
#   2. ask the Sentinels which node is master now, so that a restarted or replaced node never
#      comes back as a second master (it falls back to the role it last had, then to the rendered one);
#      only nodes the stack declares are believed, and a Sentinel keeps only the declared topology;
#   3. exec the server as the unprivileged `redis` user (a Redis node only if this Redis can read its dataset).
set -euo pipefail
# shellcheck source=node-lib.sh
. /usr/local/lib/redis-node/node-lib.sh

readonly UPLOAD_DIR=/etc/redis
readonly DATA_DIR=/data
readonly RUNTIME_DIR=/data/conf

log() { echo "entrypoint[${NODE_NAME:-?}]: $*" >&2; }

# Whether "ip:port" is one of the stack's declared Redis nodes: nothing else is ever taken for the master, so
# a Sentinel that was misled (a forged hello) cannot send a restarted node's logins to a server of its choosing.
declared_node() {
    [[ ",$REDIS_NODES," == *",$1,"* ]]
}

# Prints the master address ("ip:port") that most answering Sentinels report; fails when none answers.
# A Sentinel never asks itself: it may be the one that has just been replaced.
master_from_sentinels() {
    local sentinel sentinels answers=() answer
    IFS=',' read -r -a sentinels <<<"$SENTINELS"
    for sentinel in "${sentinels[@]}"; do
        [[ "$NODE_KIND" == sentinel && "$sentinel" == "$NODE_IP:$NODE_PORT" ]] && continue
        answer=$(redis_cli "$SENTINEL_USER" "$SENTINEL_PASSWORD" "${sentinel%:*}" "${sentinel##*:}" \
            SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | paste -sd: -) || continue
        if [[ ! "$answer" =~ ^[0-9.]+:[0-9]+$ ]]; then
            continue
        elif declared_node "$answer"; then
            log "Sentinel $sentinel reports master $answer"
            answers+=("$answer")
        else
            log "ignoring Sentinel $sentinel: it reports master $answer, which is not a node of this stack"
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
    elif master=$(master_in_file "$runtime") && declared_node "$master"; then
        log "no Sentinel answered; keeping the master this node saved last: $master"
    else
        master=$(master_in_file "$uploaded")
        log "no Sentinel answered and no saved master of this stack; using the rendered initial master $master"
    fi
    echo "$master"
}

# Refuses a dataset written by a newer Redis (say, redis-stack 7.4's RDB format 12 after switching to Debian's 7.0):
# one clear line and exit 78, instead of the server crash-looping on "Can't handle RDB format version".
# The server's own checker judges the header, so no table of versions is kept here.
check_dataset_format() {
    local file header probe report
    if ! command -v redis-check-rdb >/dev/null; then
        log "redis-check-rdb is not in the image; not checking which Redis wrote the dataset"
        return 0
    fi
    probe=$(mktemp)
    for file in "$DATA_DIR/dump.rdb" "$DATA_DIR"/appendonlydir/*.base.rdb; do
        [[ -f "$file" ]] || continue
        header=$(head -c 9 "$file")
        [[ "$header" =~ ^REDIS[0-9]{4}$ ]] || continue
        printf '%s' "$header" >"$probe"
        # The checker fails on a bare header either way (truncated file); only its reason tells the two apart.
        report=$(redis-check-rdb "$probe" 2>&1 || true)
        if [[ "$report" == *"Can't handle RDB format version"* ]]; then
            log "refusing to start: $file has RDB format ${header#REDIS}, written by a newer Redis than this image's $(redis-server --version | grep -o 'v=[0-9.]*'); Redis cannot downgrade a dataset. Run the previous image again, or start from an export (README: Choosing the Redis build)"
            rm -f "$probe"
            exit 78
        fi
    done
    rm -f "$probe"
}

prepare_redis() {
    local runtime="$RUNTIME_DIR/redis.conf" master
    check_dataset_format
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

# Prints the state a Sentinel saved in its last config that must survive a restart: its epochs, so that it never
# votes twice in one epoch. The config epoch only while the master is still the one it belongs to; lines for another
# master name are dropped (Sentinel refuses them). Known Sentinels and replicas are not taken from the saved state:
# the peers are rendered into sentinel.conf and the replicas come from the declared nodes (known_replicas).
saved_sentinel_state() {
    local runtime="$1" master="$2" saved_master
    [[ -f "$runtime" ]] || return 0
    saved_master=$(master_in_file "$runtime" || true)
    awk -v name="$MASTER_NAME" -v same_master="$([[ "$saved_master" == "$master" ]] && echo 1)" '
        $1 != "sentinel" { next }
        $2 == "current-epoch" { print; next }
        $3 != name { next }
        $2 == "leader-epoch" { print; next }
        $2 == "config-epoch" && same_master { print }' "$runtime"
}

# Every declared Redis node except the master, as a known replica: a Sentinel can promote one from its first
# second, instead of waiting up to 10 s for the master's INFO to name them (and aborting with no good replica if
# the master dies first). Sentinel checks each one's role itself before it counts it.
known_replicas() {
    local master="$1" node nodes
    IFS=',' read -r -a nodes <<<"$REDIS_NODES"
    for node in "${nodes[@]}"; do
        [[ "$node" == "$master" ]] || echo "sentinel known-replica $MASTER_NAME ${node%:*} ${node##*:}"
    done
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
        log "keeping the epochs saved last time"
        printf '%s\n' "$state" >>"$runtime.new"
    else
        log "no saved epochs to keep"
    fi
    known_replicas "$master" >>"$runtime.new"
    log "known replicas: the $(known_replicas "$master" | wc -l) declared nodes other than the master; known Sentinels: the $(grep -c '^sentinel known-sentinel ' "$runtime.new") declared peers"
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
