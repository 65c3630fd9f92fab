#!/usr/bin/env bash
# Starts a Redis node ("redis") or a Sentinel ("sentinel") of the cluster:
#   1. copy the uploaded, read-only config to the volume, where the server may rewrite it;
#   2. ask the Sentinels which node is master now, so that a restarted or replaced node never
#      comes back as a second master (it falls back to the role it last had, then to the rendered one);
#      only nodes the stack declares are believed, and a Sentinel keeps only the declared topology;
#      a node that would start as master with an empty or possibly older dataset gets a replica promoted first;
#   3. exec the server as the unprivileged `redis` user (a Redis node only if this Redis can read its dataset).
set -euo pipefail
# shellcheck source=node-lib.sh
. /usr/local/lib/redis-node/node-lib.sh

readonly UPLOAD_DIR=/etc/redis
readonly DATA_DIR=/data
readonly RUNTIME_DIR=/data/conf
# How long a node that the Sentinels are failing over waits for them to finish (two failover attempts at the
# default failover-timeout of 15 s, plus margin) before it starts anyway.
readonly FAILOVER_WAIT_SECONDS=60
# How long a restarted container whose volume is empty waits for every other node to answer.
readonly PEER_WAIT_SECONDS=30
# Written at every start of a Redis node, in the container's own file system (not the volume): see find_history.
readonly RAN_BEFORE_MARKER=/var/lib/redis-node/ran-before
# How long a restarted master with data waits for a replica to be promoted before it starts as master after all.
readonly HANDOVER_WAIT_SECONDS=30

log() { echo "entrypoint[${NODE_NAME:-?}]: $*" >&2; }

# Whether "ip:port" is one of the stack's declared Redis nodes: nothing else is ever taken for the master, so
# a Sentinel that was misled (a forged hello) cannot send a restarted node's logins to a server of its choosing.
declared_node() {
    [[ ",$REDIS_NODES," == *",$1,"* ]]
}

# How many entries a comma-separated list (SENTINELS, REDIS_NODES) has.
count_items() {
    tr ',' '\n' <<<"$1" | grep -c .
}

# ask_sentinel SENTINEL COMMAND...: one query to the Sentinel at "ip:port" as the client user.
ask_sentinel() {
    local sentinel="$1"
    shift
    redis_cli "$SENTINEL_USER" "$SENTINEL_PASSWORD" "${sentinel%:*}" "${sentinel##*:}" "$@" 2>/dev/null
}

# One round of SENTINEL MASTER, one query to each Sentinel: prints "sentinel ip:port config-epoch flags" for each that
# answers. A Sentinel never asks itself: it may be the one that has just been replaced.
sentinel_views() {
    local sentinel sentinels
    IFS=',' read -r -a sentinels <<<"$SENTINELS"
    for sentinel in "${sentinels[@]}"; do
        [[ "$NODE_KIND" == sentinel && "$sentinel" == "$NODE_IP:$NODE_PORT" ]] && continue
        ask_sentinel "$sentinel" SENTINEL master "$MASTER_NAME" | awk -v sentinel="$sentinel" '
            NR % 2 == 1 { key = $0; next }
            { field[key] = $0 }
            END { if (field["ip"] != "" && field["config-epoch"] ~ /^[0-9]+$/)
                      print sentinel, field["ip"] ":" field["port"], field["config-epoch"], field["flags"] }' || true
    done
}

# Prints the master ("ip:port") in the answers of sentinel_views read from stdin, and fails when there is none to
# trust. The highest config epoch wins (it is the Sentinels' own rule: the latest failover is the truth), then the
# most common answer. Answers that have recorded no failover (epoch 0) count only from a majority of the Sentinels:
# a lone Sentinel recreated with an empty volume while the others are down knows only the rendered master, which may
# have been failed over long ago. Only declared nodes are believed. "quiet" logs nothing (for polls).
master_from_views() {
    local quiet="${1:-}" total sentinel master epoch flags trusted=()
    total=$(count_items "$SENTINELS")
    while read -r sentinel master epoch flags; do
        if declared_node "$master"; then
            [[ -n "$quiet" ]] || log "Sentinel $sentinel reports master $master (config epoch $epoch, $flags)"
            trusted+=("$epoch $master")
        else
            [[ -n "$quiet" ]] || log "ignoring Sentinel $sentinel: it reports master $master, which is not a node of this stack"
        fi
    done
    ((${#trusted[@]} > 0)) || return 1
    read -r epoch master < <(printf '%s\n' "${trusted[@]}" | sort | uniq -c | sort -k2,2nr -k1,1nr | awk 'NR == 1 { print $2, $3 }')
    if ((epoch == 0 && ${#trusted[@]} <= total / 2)); then
        [[ -n "$quiet" ]] || log "only ${#trusted[@]} of $total Sentinels answered and none has recorded a failover: not enough to trust their master"
        return 1
    fi
    echo "$master"
}

master_from_sentinels() {
    sentinel_views | master_from_views "${1:-}"
}

# Prints the flags of the first Sentinel, in the answers of sentinel_views read from stdin, that sees the master down
# or failing it over ("master,s_down,o_down,..."); fails when none does (or none answered).
master_failing() {
    awk '
        found == "" && $4 ~ /(^|,)(s_down|o_down|failover_in_progress)(,|$)/ { found = $4 }
        END { if (found == "") exit 1; print found }'
}

# The Sentinels keep naming a master that has gone down until their leader has promoted a replica. A node that
# comes back in that window (a restart 5-7 s after it stopped) would start as a second master; so while any Sentinel
# sees this node down or failing over, wait (bounded) until they name another master or clear the flags. Each poll
# is one round of queries, read both ways.
settle_master() {
    local self="$1" flags deadline=$((SECONDS + FAILOVER_WAIT_SECONDS)) master views
    # With no other node there is nobody to fail over to.
    [[ "$REDIS_NODES" == "$self" ]] && {
        echo "$self"
        return
    }
    flags=$(sentinel_views | master_failing) || {
        echo "$self"
        return
    }
    log "the Sentinels see this node, their master, as $flags; waiting up to $FAILOVER_WAIT_SECONDS s for the failover to finish before deciding"
    while ((SECONDS < deadline)); do
        sleep 1
        views=$(sentinel_views)
        if master=$(master_from_views quiet <<<"$views") && [[ "$master" != "$self" ]]; then
            log "the Sentinels failed this node over to $master while it was down"
            echo "$master"
            return
        fi
        if ! master_failing >/dev/null <<<"$views"; then
            log "no Sentinel sees this node down or failing over any more; it is still their master"
            echo "$self"
            return
        fi
    done
    log "the Sentinels neither failed this node over nor cleared it within $FAILOVER_WAIT_SECONDS s; still their master"
    echo "$self"
}

# Whether this node's volume holds no dataset at all. Redis creates its AOF directory as soon as it first runs, so an
# empty volume means either the very first start or a volume that was lost, emptied or replaced.
volume_empty() {
    [[ ! -e "$DATA_DIR/appendonlydir" && ! -e "$DATA_DIR/dump.rdb" ]]
}

# The other declared Redis nodes that answer, as "ip:port role offset keys" (offset: a replica's processed offset, or
# a master's own; keys: how many it holds), asked in parallel and bounded to 1 s each, so that a node that is not up
# yet costs at most that. The login is the replication user's (node.env's health user): INFO tells it nothing that
# PSYNC, which it already has, does not. The Sentinels know offsets too, but only as of their last INFO, up to 10 s
# old; and a replica that has just restarted from its AOF reports offset 1 until it syncs, so its keys count too.
peer_states() {
    local self="$1" node nodes answers
    answers=$(mktemp -d)
    IFS=',' read -r -a nodes <<<"$REDIS_NODES"
    for node in "${nodes[@]}"; do
        [[ "$node" == "$self" ]] && continue
        (REDIS_CLI_TIMEOUT=1 redis_cli "$HEALTH_USER" "$HEALTH_PASSWORD" "${node%:*}" "${node##*:}" INFO replication keyspace |
            tr -d '\r' | awk -F: -v node="$node" '
                $1 == "role" { role = $2 }
                $1 == "slave_repl_offset" { replica = $2 }
                $1 == "master_repl_offset" { own = $2 }
                $1 ~ /^db[0-9]+$/ { split($2, fields, /[=,]/); keys += fields[2] }
                END { if (role != "") print node, role, (role == "slave" ? replica : own) + 0, keys + 0 }' >"$answers/$node") 2>/dev/null &
    done
    wait
    cat "$answers"/* 2>/dev/null || true
    rm -rf "$answers"
}

# Says why the cluster already holds data, and fails when nothing shows it: another node holds keys or replicated
# data (offset above 1: a replica that has never synced reports 0 or 1), or a Sentinel has recorded a failover
# (config epoch above 0). Sets PEERS_ANSWERED to how many other nodes answered.
PEERS_ANSWERED=0
cluster_history() {
    local self="$1" node role offset keys sentinel master epoch flags states
    states=$(peer_states "$self")
    PEERS_ANSWERED=$(grep -c . <<<"$states" || true)
    while read -r node role offset keys; do
        if ((offset > 1 || keys > 0)); then
            echo "node $node ($role) holds $keys keys, replication offset $offset"
            return 0
        fi
    done <<<"$states"
    while read -r sentinel master epoch flags; do
        if ((epoch > 0)); then
            echo "Sentinel $sentinel has recorded a failover (config epoch $epoch)"
            return 0
        fi
    done < <(sentinel_views)
    return 1
}

# find_history SELF: prints why the cluster holds data (status 0). Status 1 when nothing shows any: a first start,
# or a restarted container whose peers all answered without data. Status 2 when a restarted container's peers did
# not all answer within PEER_WAIT_SECONDS. A container that has run before (the marker is in its own file system,
# which a restart keeps and a new container lacks) but finds its volume empty has lost its data; after every
# container restarted at once, its peers take a few seconds to answer, and their silence must not pass for a new
# cluster. A first start never waits: its peers may not even exist yet.
find_history() {
    local self="$1" deadline=$((SECONDS + PEER_WAIT_SECONDS)) peers waiting=""
    peers=$(($(count_items "$REDIS_NODES") - 1))
    while :; do
        cluster_history "$self" && return 0
        [[ -e "$RAN_BEFORE_MARKER" ]] || return 1
        ((PEERS_ANSWERED >= peers)) && return 1
        ((SECONDS < deadline)) || return 2
        if [[ -z "$waiting" ]]; then
            log "this container has run before, but its volume holds no dataset and only $PEERS_ANSWERED of $peers other nodes answered: waiting up to $PEER_WAIT_SECONDS s for them to say whether the cluster holds data"
            waiting=1
        fi
        sleep 1
    done
}

# Prints a replica, other than this node, that answers and has replicated data ("ip:port offset"); fails when none.
replica_with_data() {
    local self="$1" node role offset keys
    while read -r node role offset keys; do
        if [[ "$role" == slave ]] && ((offset > 1)); then
            echo "$node $offset"
            return 0
        fi
    done < <(peer_states "$self")
    return 1
}

# promote_a_replica SELF SECONDS: asks the Sentinels, as the failover user (it may run SENTINEL FAILOVER and nothing
# else), to promote a replica, and waits up to SECONDS until they name a master other than this node; prints it, or fails when that did not happen.
promote_a_replica() {
    local self="$1" deadline=$((SECONDS + $2)) next_ask=0 sentinel sentinels reply master
    IFS=',' read -r -a sentinels <<<"$SENTINELS"
    while ((SECONDS < deadline)); do
        if master=$(master_from_sentinels quiet) && [[ "$master" != "$self" ]]; then
            echo "$master"
            return 0
        fi
        if ((SECONDS >= next_ask)); then
            for sentinel in "${sentinels[@]}"; do
                reply=$(redis_cli "$FAILOVER_USER" "$FAILOVER_PASSWORD" "${sentinel%:*}" "${sentinel##*:}" \
                    SENTINEL failover "$MASTER_NAME" 2>&1 | head -1) || continue
                log "asked Sentinel $sentinel to promote a replica: ${reply:-no answer}"
                [[ "$reply" == OK ]] && break
            done
            # A failover that was accepted gets failover-timeout to finish; ask again only after a while.
            next_ask=$((SECONDS + 10))
        fi
        sleep 1
    done
    return 1
}

# A node that is about to start as master must not make its replicas copy a dataset older than theirs: they would
# drop what they hold beyond it, confirmed writes included. That dataset is
#   - an empty volume (lost, deleted or replaced) while the cluster holds data: the node gets a replica promoted and
#     starts as its replica, or refuses to start (exit 75) when none could be promoted;
#   - its own data while a replica that the Sentinels see up has replicated from it: its copy may be an old one, or
#     lack the last second of AOF (appendfsync everysec) that replicas had already acknowledged; and a master that
#     restarts gets a new replication ID, so every replica would full-sync from it. It gets a replica promoted too,
#     and when none is promoted within the bound it starts as master on its own data, as Redis would.
guard_master() {
    local self="$1" history replica master
    if volume_empty; then
        local found=0
        history=$(find_history "$self") || found=$?
        if ((found == 1)); then
            log "this node's volume holds no dataset, and no other node and no Sentinel shows any data or failover: a new cluster, starting as its first master"
            echo "$self"
            return
        elif ((found == 2)); then
            log "the other nodes did not all answer within $PEER_WAIT_SECONDS s; refusing to start as an empty master that could overwrite them (exit 75: Docker starts it again and this is decided again)"
            exit 75
        fi
        log "this node's volume holds no dataset, but $history: starting as master would make every replica drop its data; asking the Sentinels to promote a replica first"
        if ! master=$(promote_a_replica "$self" "$FAILOVER_WAIT_SECONDS"); then
            log "no replica was promoted within $FAILOVER_WAIT_SECONDS s; refusing to start as an empty master (exit 75: Docker starts it again and this is decided again)"
            exit 75
        fi
        log "the Sentinels promoted $master; starting as its replica, which copies the data back"
    else
        if ! replica=$(replica_with_data "$self"); then
            echo "$self"
            return
        fi
        log "this node went down as master and replica ${replica% *} holds its data up to offset ${replica#* }: its own copy may be older, and the replicas would drop what they have beyond it; asking the Sentinels to promote a replica first"
        if ! master=$(promote_a_replica "$self" "$HANDOVER_WAIT_SECONDS"); then
            log "no replica was promoted within $HANDOVER_WAIT_SECONDS s; starting as master on this node's own data"
            echo "$self"
            return
        fi
        log "the Sentinels promoted $master; starting as its replica"
    fi
    echo "$master"
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
        log "no Sentinel answer to go by; keeping the master this node saved last: $master"
    else
        master=$(master_in_file "$uploaded")
        log "no Sentinel answer to go by and no saved master of this stack; using the rendered initial master $master"
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
    if [[ "$master" == "$NODE_IP:$NODE_PORT" ]]; then
        master=$(settle_master "$master")
    fi
    if [[ "$master" == "$NODE_IP:$NODE_PORT" ]]; then
        # Its exit status (75) is the container's when an empty node could not get a replica promoted.
        master=$(guard_master "$master") || exit $?
    fi
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
    if [[ "$kind" == redis ]]; then
        mkdir -p "${RAN_BEFORE_MARKER%/*}"
        touch "$RAN_BEFORE_MARKER"
    fi
    local conf="$RUNTIME_DIR/$kind.conf" mode=()
    [[ "$kind" == sentinel ]] && mode=(--sentinel)
    log "exec redis-server $conf ${mode[*]}"
    exec setpriv --reuid=redis --regid=redis --init-groups redis-server "$conf" "${mode[@]}"
}

main "$@"
