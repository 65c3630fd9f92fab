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
# How long a master that is being stopped waits for every Sentinel to know its replicas as replicas (they read a
# replica's INFO every 0.5 s here, SENTINEL_INFO_PERIOD_MS, but every 10 s when that could not be set), then how long it
# may spend handing its role over once writes are paused (hand_over): both within the container's stop timeout and
# destroyGraceSeconds (45 s), with room for the server's own shutdown (shutdown-timeout, 10 s, spent only when a replica
# lags).
readonly SENTINEL_VIEW_SECONDS=11
readonly STOP_HANDOVER_SECONDS=8
# How long, within that, its replicas get to catch up with the master once writes are paused.
readonly CATCH_UP_SECONDS=3

# Each line carries the time to the millisecond (no fork: bash's own clock), so that a handover's steps can be laid
# beside the server's and the Sentinels' own log lines and a client's measured gap.
log() {
    local now=${EPOCHREALTIME:-0.000000}
    printf 'entrypoint[%s] %(%T)T.%s: %s\n' "${NODE_NAME:-?}" "${now%.*}" "${now: -6:3}" "$*" >&2
}

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

# One round of SENTINEL MASTER, one query to each Sentinel, all at once: prints "sentinel ip:port config-epoch flags" for each that
# answers. A Sentinel never asks itself: it may be the one that has just been replaced.
sentinel_views() {
    local sentinel sentinels
    IFS=',' read -r -a sentinels <<<"$SENTINELS"
    # In parallel: each answer is one short line, written at once, so lines never mix.
    for sentinel in "${sentinels[@]}"; do
        [[ "$NODE_KIND" == sentinel && "$sentinel" == "$NODE_IP:$NODE_PORT" ]] && continue
        (sentinel_view "$sentinel" || true) &
    done
    wait
}

# sentinel_session_ask SENTINEL COMMAND: COMMAND (one command line) asked of SENTINEL as the Sentinel user, over the
# handover's session to it when one is open (session_ask), else by one redis-cli call.
sentinel_session_ask() {
    session_login "view-$1" "$SENTINEL_USER" "$SENTINEL_PASSWORD" "$1"
    session_ask "view-$1" "$2"
}

# sentinel_view SENTINEL: its line of sentinel_views. Parsed by the shell itself, as everything a handover does while
# writes are paused: each process started (an awk, a tr) costs 5-10 ms here, and lengthens the pause.
sentinel_view() {
    local lines index ip="" port="" epoch="" flags=""
    mapfile -t lines < <(sentinel_session_ask "$1" "SENTINEL master $MASTER_NAME" 2>/dev/null)
    for ((index = 0; index + 1 < ${#lines[@]}; index += 2)); do
        case "${lines[index]}" in
            ip) ip="${lines[index + 1]}" ;;
            port) port="${lines[index + 1]}" ;;
            config-epoch) epoch="${lines[index + 1]}" ;;
            flags) flags="${lines[index + 1]}" ;;
        esac
    done
    [[ -n "$ip" && "$epoch" =~ ^[0-9]+$ ]] && echo "$1 $ip:$port $epoch $flags"
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

# Prints the flags that the Sentinel furthest along reports for the master, in the answers of sentinel_views read
# from stdin: one failing it over, else one that sees it objectively down, else subjectively ("master,s_down,o_down,...");
# fails when none sees it down (or none answered). Only the Sentinel that gathered the quorum flags o_down.
master_failing() {
    awk '
        {
            rank = 0
            if ($4 ~ /(^|,)s_down(,|$)/) rank = 1
            if ($4 ~ /(^|,)o_down(,|$)/) rank = 2
            if ($4 ~ /(^|,)failover_in_progress(,|$)/) rank = 3
            if (rank > best) { best = rank; found = $4 }
        }
        END { if (best == 0) exit 1; print found }'
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

# node_states NODE...: each NODE ("ip:port") that answers, as "ip:port role offset keys" (offset: a replica's processed
# offset, or a master's own; keys: how many it holds), asked directly, all at once, and bounded to 1 s each, so that a
# node that is not up yet costs at most that; each answer is one short line, written at once, so lines never mix.
# The login is the replication user's (node.env's health user): INFO tells it nothing that PSYNC, which it already
# has, does not. The Sentinels know offsets too, but only as of their last INFO, up to 10 s old; and a replica that
# has just restarted from its AOF reports offset 1 until it syncs, so its keys count too.
node_states() {
    local node
    for node in "$@"; do
        (REDIS_CLI_TIMEOUT=1 redis_cli "$HEALTH_USER" "$HEALTH_PASSWORD" "${node%:*}" "${node##*:}" INFO replication keyspace |
            tr -d '\r' | awk -F: -v node="$node" '
                $1 == "role" { role = $2 }
                $1 == "slave_repl_offset" { replica = $2 }
                $1 == "master_repl_offset" { own = $2 }
                $1 ~ /^db[0-9]+$/ { split($2, fields, /[=,]/); keys += fields[2] }
                END { if (role != "") print node, role, (role == "slave" ? replica : own) + 0, keys + 0 }') 2>/dev/null &
    done
    wait
}

# peer_states SELF: node_states of every other declared Redis node.
peer_states() {
    local node nodes peers=()
    IFS=',' read -r -a nodes <<<"$REDIS_NODES"
    for node in "${nodes[@]}"; do
        [[ "$node" == "$1" ]] || peers+=("$node")
    done
    node_states "${peers[@]}"
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

# sentinels_know_replicas SELF REPLICA...: succeeds when a majority of the Sentinels answer and each that answers lists
# every REPLICA as a replica of SELF, up, whose last INFO said "slave". A Sentinel refreshes a replica's INFO every
# SENTINEL_INFO_PERIOD_MS (Sentinel's own period is 10 s); one whose last INFO of a node dates from before that node
# restarted (it was master then) takes the node's promotion for a stale role, and turns it back into a replica of the
# old master within the same second, which aborts the failover (seen: a master stopped 6 s after the previous one
# restarted as a replica).
sentinels_know_replicas() {
    local self="$1" sentinel sentinels listed answered=0 replica
    shift
    IFS=',' read -r -a sentinels <<<"$SENTINELS"
    for sentinel in "${sentinels[@]}"; do
        listed=$(ask_sentinel "$sentinel" SENTINEL replicas "$MASTER_NAME" | awk -v self="$self" '
            function flush() {
                if (field["flags"] == "slave" && field["role-reported"] == "slave" &&
                    field["master-host"] ":" field["master-port"] == self) print field["name"]
                delete field
            }
            NR % 2 == 1 { key = $0; if (key == "name" && NR > 1) flush(); next }
            { field[key] = $0 }
            END { if (NR > 0) flush() }') || continue
        answered=$((answered + 1))
        for replica in "$@"; do
            grep -qx "$replica" <<<"$listed" || return 1
        done
    done
    ((answered > ${#sentinels[@]} / 2))
}

# await_sentinel_view SELF REPLICA...: waits, up to SENTINEL_VIEW_SECONDS, until sentinels_know_replicas; fails
# when they do not by then. Asking for a failover before that risks one that a Sentinel undoes.
#
# It gives up at once when a majority of the Sentinels stop answering (every container stopped together, a host
# shutting down): no failover could be had, and waiting out SENTINEL_VIEW_SECONDS with queries that time out could
# outlast the stop timeout of a restart (docker restart -t 10, a daemon's shutdown-timeout of 15 s), and a master
# killed then has not written its last second to its append-only file. Each query gets 1 s: a Sentinel that is up
# answers in milliseconds. It gives up at once, too, when the Sentinels fail this node over themselves (a node that
# came back slowly, a loaded host): their view of its replicas can then never come, and waiting it out only delays a
# restarted node's start as a replica of their new master by SENTINEL_VIEW_SECONDS (seen on a loaded host: healed in
# 20-25 s instead of 13-15 s).
await_sentinel_view() {
    local self="$1" until=$((SECONDS + SENTINEL_VIEW_SECONDS)) waiting="" total answered views master flags
    shift
    total=$(count_items "$SENTINELS")
    while ! REDIS_CLI_TIMEOUT=1 sentinels_know_replicas "$self" "$@"; do
        if ((SECONDS >= until)); then
            log "the Sentinels have not all read replica(s) $* as replicas of this node within $SENTINEL_VIEW_SECONDS s"
            return 1
        fi
        views=$(REDIS_CLI_TIMEOUT=1 sentinel_views)
        answered=$(grep -c . <<<"$views" || true)
        if ((answered <= total / 2)); then
            log "only $answered of $total Sentinels answer now: no majority to fail over, so no waiting for them"
            return 1
        fi
        if master=$(master_from_views quiet <<<"$views") && [[ "$master" != "$self" ]]; then
            log "the Sentinels name $master master now: no waiting for their view of this node's replicas"
            return 1
        fi
        if flags=$(master_failing <<<"$views"); then
            log "the Sentinels see this node, their master, as $flags: no waiting for their view of its replicas"
            return 1
        fi
        [[ -n "$waiting" ]] || log "waiting up to $SENTINEL_VIEW_SECONDS s until every Sentinel has read replica(s) $* as replicas of this node (they read a replica's role every ${SENTINEL_INFO_PERIOD_MS} ms)"
        waiting=1
        sleep 0.5
    done
}

# ask_for_failover [reversed]: asks the Sentinels in turn, as the failover user (it may run SENTINEL FAILOVER and
# nothing else), to fail this cluster's master over, until one accepts; fails when none did. "reversed" starts with
# the last declared Sentinel: the one that runs the failover reports the new master in SENTINEL MASTER a second after
# the others, and clients ask the first one they were given first. While every Sentinel answers NOGOODSLAVE it asks
# again, for up to FAILOVER_ASK_SECONDS: a Sentinel takes as candidates only replicas whose INFO it read in the last 1.5 s
# (SENTINEL_INFO_PERIOD_MS times 3) while the master is up, and a host that stalled for a second can leave none for a
# moment; waiting for the next INFO costs far less than the failover after down-after that not handing over means.
readonly FAILOVER_ASK_SECONDS=2
ask_for_failover() {
    local sentinel sentinels reply index order=() until=$((SECONDS + FAILOVER_ASK_SECONDS)) no_candidate
    IFS=',' read -r -a sentinels <<<"$SENTINELS"
    order=("${sentinels[@]}")
    if [[ "${1:-}" == reversed ]]; then
        order=()
        for ((index = ${#sentinels[@]} - 1; index >= 0; index--)); do
            order+=("${sentinels[index]}")
        done
    fi
    while :; do
        no_candidate=yes
        for sentinel in "${order[@]}"; do
            reply=$(redis_cli "$FAILOVER_USER" "$FAILOVER_PASSWORD" "${sentinel%:*}" "${sentinel##*:}" \
                SENTINEL failover "$MASTER_NAME" 2>&1 | head -1) || true
            log "asked Sentinel $sentinel to promote a replica: ${reply:-no answer}"
            [[ "$reply" == OK ]] && return 0
            [[ "$reply" == NOGOODSLAVE* ]] || no_candidate=""
        done
        [[ -n "$no_candidate" ]] && ((SECONDS < until)) || return 1
        sleep 0.1
    done
}

# promote_a_replica SELF SECONDS: asks the Sentinels to promote a replica, and waits up to SECONDS until they name a
# master other than this node; prints it, or fails when that did not happen.
promote_a_replica() {
    local self="$1" deadline=$((SECONDS + $2)) next_ask=0 deferred="" master replicas views flags
    # A Sentinel that read a replica's role before that replica last restarted would undo its promotion.
    mapfile -t replicas < <(peer_states "$self" | awk '$2 == "slave" { print $1 }')
    await_sentinel_view "$self" "${replicas[@]}" || log "going on without it"
    while ((SECONDS < deadline)); do
        views=$(sentinel_views)
        if master=$(master_from_views quiet <<<"$views") && [[ "$master" != "$self" ]]; then
            echo "$master"
            return 0
        fi
        if ((SECONDS >= next_ask)); then
            # By now this node may have been down for longer than down-after (a slow start, the waits above): the
            # Sentinels are failing it over themselves. A forced failover on top of theirs would move the master
            # twice, and could race their election; give theirs one bounded chance first.
            if [[ -z "$deferred" ]] && flags=$(master_failing <<<"$views"); then
                log "the Sentinels see this node, their master, as $flags: waiting for their own failover instead of asking for another"
                deferred=yes
            else
                ask_for_failover || true
            fi
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
    if ! command -v "$ENGINE_CHECK_RDB" >/dev/null; then
        log "$ENGINE_CHECK_RDB is not in the image; not checking which server wrote the dataset"
        return 0
    fi
    probe=$(mktemp)
    for file in "$DATA_DIR/dump.rdb" "$DATA_DIR"/appendonlydir/*.base.rdb; do
        [[ -f "$file" ]] || continue
        header=$(head -c 9 "$file")
        [[ "$header" =~ ^REDIS[0-9]{4}$ ]] || continue
        printf '%s' "$header" >"$probe"
        # The checker fails on a bare header either way (truncated file); only its reason tells the two apart.
        report=$("$ENGINE_CHECK_RDB" "$probe" 2>&1 || true)
        if [[ "$report" == *"Can't handle RDB format version"* ]]; then
            log "refusing to start: $file has RDB format ${header#REDIS}, written by a newer server than this image's $ENGINE $("$ENGINE_SERVER" --version | grep -o 'v=[0-9.]*'); a server cannot read a newer dataset. Run the previous image again, or start from an export (README: Choosing the Redis build)"
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

# What the local server answers to INFO replication, one "field:value" a line.
local_replication() {
    local answer
    answer=$(redis_cli "$HEALTH_USER" "$HEALTH_PASSWORD" 127.0.0.1 "$NODE_PORT" INFO replication 2>/dev/null)
    echo "${answer//$'\r'/}"
}

# local_field NAME: one field of local_replication's answer read from stdin.
local_field() {
    local line
    while IFS= read -r line; do
        [[ "$line" != "$1:"* ]] || echo "${line#*:}"
    done
}

# While writes are paused a handover asks the local server, each replica and a Sentinel one thing each, in turn, over
# redis-cli sessions opened before the pause: starting a redis-cli takes 15-25 ms here and up to 200 ms on a busy host,
# where a query on an open session takes a millisecond or two. That keeps the pause before the request short and
# steady, which plan_request counts on.
#
# session_open NAME USER PASSWORD HOST PORT: starts session NAME (its replies come back through a FIFO); fails when it
# cannot. session_ready checks that it answers; session_ask falls back to one redis_cli call per query without one.
SESSION_DIR=""
declare -A SESSION_IN=() SESSION_OUT=() SESSION_LOGIN=() SESSION_PASSWORD=()
session_open() {
    local name="$1" user="$2" password="$3" host="$4" port="$5" input output CLI_COMMAND
    session_login "$name" "$user" "$password" "$host:$port"
    [[ -n "$SESSION_DIR" ]] || SESSION_DIR=$(mktemp -d) || return 1
    mkfifo "$SESSION_DIR/$name" || return 1
    cli_command "$user" "$host" "$port"
    exec {input}> >(REDISCLI_AUTH="$password" exec "${CLI_COMMAND[@]}" >"$SESSION_DIR/$name" 2>&1)
    exec {output}<"$SESSION_DIR/$name"
    SESSION_IN[$name]=$input
    SESSION_OUT[$name]=$output
}

# session_ready NAME: whether session NAME answers within SESSION_SECONDS; closes it when it does not.
session_ready() {
    [[ -n "${SESSION_IN[$1]:-}" ]] && session_ask "$1" >/dev/null
}

# session_login NAME USER PASSWORD HOST:PORT: how session_ask reaches NAME when no session is open (unless known).
session_login() {
    [[ -n "${SESSION_LOGIN[$1]:-}" ]] && return
    SESSION_LOGIN[$1]="$2 ${4%:*} ${4##*:}"
    SESSION_PASSWORD[$1]="$3"
}

# session_ask NAME COMMAND...: sends each COMMAND (a command line) over session NAME and prints the replies, waiting
# up to SESSION_SECONDS; fails when they do not all come. Without an open session, one redis_cli call sends them.
SESSION_SECONDS=2
session_ask() {
    local name="$1" marker="session-$RANDOM$RANDOM" line user host port
    shift
    if [[ -n "${SESSION_IN[$name]:-}" ]]; then
        if printf '%s\n' "$@" "PING $marker" >&"${SESSION_IN[$name]}" 2>/dev/null; then
            while IFS= read -r -t "$SESSION_SECONDS" line <&"${SESSION_OUT[$name]}"; do
                line="${line%$'\r'}"
                [[ "$line" != "$marker" ]] || return 0
                echo "$line"
            done
        fi
        session_close "$name"
        return 1
    fi
    (($# > 0)) || return 1
    read -r user host port <<<"${SESSION_LOGIN[$name]}"
    printf '%s\n' "$@" | redis_cli "$user" "${SESSION_PASSWORD[$name]}" "$host" "$port" 2>&1 | tr -d '\r'
}

session_close() {
    local name="$1" input="${SESSION_IN[$1]:-}" output="${SESSION_OUT[$1]:-}"
    [[ -z "$input" ]] || exec {input}>&- {output}<&-
    unset "SESSION_IN[$name]" "SESSION_OUT[$name]"
}

session_close_all() {
    local name
    for name in "${!SESSION_IN[@]}"; do
        session_close "$name"
    done
    [[ -z "$SESSION_DIR" ]] || rm -rf "$SESSION_DIR"
}

# pause_writes MILLISECONDS | unpause: CLIENT PAUSE WRITE on the local server, as the failover user. Paused writes
# wait (reads go on); a paused write that is still waiting when the server exits is dropped and never ran. Pausing
# prints INFO replication as of the pause, read on the same connection right after it, and fails unless paused.
pause_writes() {
    local answer
    if [[ "$1" == unpause ]]; then
        redis_cli "$FAILOVER_USER" "$FAILOVER_PASSWORD" 127.0.0.1 "$NODE_PORT" CLIENT UNPAUSE >/dev/null 2>&1 || true
        return
    fi
    answer=$(session_ask local "CLIENT PAUSE $1 WRITE" "INFO replication")
    [[ "${answer%%$'\n'*}" == OK ]] && echo "${answer#*$'\n'}"
}

# The replicas this master lists as online in its INFO replication (read from stdin), one "ip:port" a line.
online_replicas() {
    local line
    while IFS= read -r line; do
        [[ "$line" =~ ^slave[0-9]+:ip=([^,]*),port=([0-9]+),state=online, ]] && echo "${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
    done
    return 0
}

# replicas_behind OFFSET NODE...: prints each NODE (a replica) whose own replication offset is below OFFSET, that is
# no replica or that does not answer, asked directly (over its session when open) rather than read from its last
# once-a-second ACK.
replicas_behind() {
    local offset="$1" node answer
    shift
    for node in "$@"; do
        session_login "replica-$node" "$HEALTH_USER" "$HEALTH_PASSWORD" "$node"
        answer=$(REDIS_CLI_TIMEOUT=1 session_ask "replica-$node" "INFO replication")
        [[ "$answer" =~ role:slave[[:space:]] && "$answer" =~ slave_repl_offset:([0-9]+) ]] &&
            ((BASH_REMATCH[1] >= offset)) || echo "$node"
    done
}

# The Sentinel that runs a failover names the new master only once an INFO of the replica it promoted shows the new
# role, and during a failover it reads a replica's INFO one second after the last one (a constant in sentinel.c),
# against every SENTINEL_INFO_PERIOD_MS before: asked at a random moment, that INFO comes 0.45-1.05 s after the
# request (the last one was read 0-0.55 s before it), and writes stay paused that long. It promotes the candidate
# whose INFO showed the highest offset, under writes the one it read last; so the best moment to ask is just before
# it would read a candidate again anyway, when the one it read last was read longest ago. Each Sentinel reads the
# replicas at phases of its own (a replica read in the same round as another stays in step with it).
#
# plan_request: asks every Sentinel, all at once, how long ago it read each candidate's INFO (a replica it sees up,
# linked and with a priority), and prints "SENTINEL WAIT_MS AGE_MS SENTINEL AGES..." for the best of them: ask it in
# WAIT_MS, and its last INFO of the candidates will then be at least AGE_MS old (AGES: how old they were when asked).
# Fails when no Sentinel answers with a candidate (the request then goes to the last declared one, at once).
# REQUEST_LEAD_MS is what pausing, the replicas' check and the request take; REQUEST_MARGIN_MS keeps the request before
# the read it must precede (a Sentinel reads when the last INFO is older than the period, at its next 50-100 ms tick).
readonly REQUEST_LEAD_MS=70
readonly REQUEST_MARGIN_MS=80
plan_request() {
    local sentinel sentinels
    IFS=',' read -r -a sentinels <<<"$SENTINELS"
    {
        for sentinel in "${sentinels[@]}"; do
            (REDIS_CLI_TIMEOUT=1 sentinel_session_ask "$sentinel" "SENTINEL replicas $MASTER_NAME" | awk -v sentinel="$sentinel" '
                function flush() {
                    if (field["flags"] == "slave" && field["master-link-status"] == "ok" && field["slave-priority"] != 0)
                        ages = ages " " (field["info-refresh"] + 0)
                    delete field
                }
                NR % 2 == 1 { key = $0; if (key == "name" && NR > 1) flush(); next }
                { field[key] = $0 }
                END { if (NR > 0) flush(); if (ages != "") print sentinel ages }' || true) &
        done
        wait
    } | awk -v period="$SENTINEL_INFO_PERIOD_MS" -v lead="$REQUEST_LEAD_MS" -v margin="$REQUEST_MARGIN_MS" '
        # For each candidate k, the request arrives margin ms before its next read, within [lead, lead + period):
        # then every candidate i was read age(i) ms before, and the least of those ages is what the request gains.
        # A Sentinel whose INFO is older than two periods does not read at this period (tune_sentinel failed).
        {
            for (i = 2; i <= NF; i++) if ($i > 2 * period) next
            for (i = 2; i <= NF; i++) next_read[i] = ($i < period ? period - $i : 0)
            for (k = 2; k <= NF; k++) {
                arrive = next_read[k] - margin
                while (arrive < lead) arrive += period
                least = -1
                for (i = 2; i <= NF; i++) {
                    age = (arrive < next_read[i] ? $i + arrive : arrive - next_read[i])
                    if (least < 0 || age < least) least = age
                }
                if (least > best) { best = least; plan = $1 " " (arrive - lead) " " least " " $0 }
            }
        }
        END { if (plan == "") exit 1; print plan }'
}

# open_handover_sessions REPLICA...: the sessions a handover uses (session_open): to the local server (as the failover
# user), to each replica (as the health user), to every Sentinel as the Sentinel user (sentinel_views, plan_request)
# and as the failover user. One that does not open falls back to a redis-cli call per query.
open_handover_sessions() {
    local node sentinel sentinels name SESSION_SECONDS=0.5
    session_open local "$FAILOVER_USER" "$FAILOVER_PASSWORD" 127.0.0.1 "$NODE_PORT"
    for node in "$@"; do
        session_open "replica-$node" "$HEALTH_USER" "$HEALTH_PASSWORD" "${node%:*}" "${node##*:}"
    done
    IFS=',' read -r -a sentinels <<<"$SENTINELS"
    for sentinel in "${sentinels[@]}"; do
        session_open "view-$sentinel" "$SENTINEL_USER" "$SENTINEL_PASSWORD" "${sentinel%:*}" "${sentinel##*:}"
        session_open "failover-$sentinel" "$FAILOVER_USER" "$FAILOVER_PASSWORD" "${sentinel%:*}" "${sentinel##*:}"
    done
    # All started at once, so they are checked in about the time of the slowest.
    for name in local "${@/#/replica-}" "${sentinels[@]/#/view-}" "${sentinels[@]/#/failover-}"; do
        session_ready "$name" || log "no session to $name: its queries start a redis-cli each"
    done
}

# named_by_majority SELF NEED: the node other than SELF that at least NEED of the answers of sentinel_views (read
# from stdin) name master; fails when none is.
named_by_majority() {
    local self="$1" need="$2" sentinel master rest
    local -A count=()
    while read -r sentinel master rest; do
        [[ -n "$master" && "$master" != "$self" ]] || continue
        count[$master]=$((${count[$master]:-0} + 1))
        if ((count[$master] >= need)); then
            echo "$master"
            return 0
        fi
    done
    return 1
}

# On a planned stop (docker stop, or pulumi up / destroy removing the container) a master hands its role to a
# replica before it exits, instead of leaving the Sentinels to notice it gone (down-after, then an election):
#   1. only when it is master, has an online replica, and a majority of the Sentinels answer, name it master and
#      know its replicas as replicas (sentinels_know_replicas; waiting up to SENTINEL_VIEW_SECONDS for that);
#   2. open the sessions it queries while writes are paused (open_handover_sessions), and choose the Sentinel to ask
#      and when (plan_request), waiting until then;
#   3. pause writes, so that nothing is written that a replica might not have;
#   4. wait (CATCH_UP_SECONDS) until every online replica holds everything it has, asking each for its own offset;
#   5. ask that Sentinel, as the failover user, to fail it over (SENTINEL FAILOVER picks the replica), then the others
#      when it refuses (not when it does not answer: it may have begun);
#   6. wait until a majority of the Sentinels name the new master (sentinel_views), then let the server shut down.
# Writes stay paused until the server exits: a write that waited is dropped with its connection, never run here,
# and the client retries it on the new master. Bounded by STOP_HANDOVER_SECONDS; when a step fails it unpauses and
# the server shuts down as it would have anyway (Redis itself then waits up to shutdown-timeout for lagging replicas).
hand_over() {
    local self="$NODE_IP:$NODE_PORT" deadline replication views plan="" first="" wait_ms age_ms ages planned_at reply
    local answered total offset behind master="" caught_up_by replicas
    replication=$(local_replication)
    if [[ "$(local_field role <<<"$replication")" != master ]]; then
        log "stopping as a replica: nothing to hand over"
        return
    fi
    mapfile -t replicas < <(online_replicas <<<"$replication")
    if ((${#replicas[@]} == 0)); then
        log "stopping as master with no online replica: nothing to hand over to"
        return
    fi
    total=$(count_items "$SENTINELS")
    views=$(sentinel_views)
    answered=$(grep -c . <<<"$views" || true)
    if ((answered <= total / 2)); then
        log "stopping as master without a handover: only $answered of $total Sentinels answer, no majority to fail over"
        return
    fi
    if [[ "$(master_from_views quiet <<<"$views" || true)" != "$self" ]]; then
        log "stopping without a handover: the Sentinels do not name this node master"
        return
    fi
    if ! await_sentinel_view "$self" "${replicas[@]}"; then
        log "stopping as master without a handover"
        return
    fi
    open_handover_sessions "${replicas[@]}"
    planned_at=${EPOCHREALTIME/./}
    if plan=$(plan_request); then
        read -r first wait_ms age_ms _ ages <<<"$plan"
        # The plan counts from the Sentinels' answers, a few milliseconds after it began.
        wait_ms=$((wait_ms - (${EPOCHREALTIME/./} - planned_at) / 1000 + 5))
        ((wait_ms <= 0)) || sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
        log "asking Sentinel $first in $((wait_ms > 0 ? wait_ms : 0)) ms, when its last INFO of every candidate is at least $age_ms ms old (now ${ages// / and } ms)"
    fi
    # From here on clients cannot write: every step is one round of queries over the open sessions, without a pause of
    # its own.
    if ! replication=$(pause_writes $((STOP_HANDOVER_SECONDS * 1000 + 5000))); then
        log "stopping as master without a handover: could not pause writes"
        return
    fi
    deadline=$((SECONDS + STOP_HANDOVER_SECONDS))
    offset=$(local_field master_repl_offset <<<"$replication")
    mapfile -t replicas < <(online_replicas <<<"$replication")
    if ((${#replicas[@]} == 0)); then
        pause_writes unpause
        log "stopping as master without a handover: no replica is online any more; writes unpaused"
        return
    fi
    caught_up_by=$((SECONDS + CATCH_UP_SECONDS))
    while behind=$(replicas_behind "$offset" "${replicas[@]}") && [[ -n "$behind" ]] && ((SECONDS < caught_up_by)); do
        sleep 0.02
    done
    if [[ -n "$behind" ]]; then
        # The Sentinels might promote that one (their view of offsets is up to 10 s old), and the others would then
        # drop what it lacks. Redis's own shutdown waits for lagging replicas instead (shutdown-timeout).
        pause_writes unpause
        log "replica(s) $(tr '\n' ' ' <<<"$behind")did not reach offset $offset within $CATCH_UP_SECONDS s; writes unpaused, shutting down as master without a handover"
        return
    fi
    log "stopping as master: writes paused at replication offset $offset, which every online replica has"
    : "${first:=$(tr ',' '\n' <<<"$SENTINELS" | tail -1)}"
    session_login "failover-$first" "$FAILOVER_USER" "$FAILOVER_PASSWORD" "$first"
    reply=$(session_ask "failover-$first" "SENTINEL failover $MASTER_NAME")
    log "asked Sentinel $first to promote a replica: ${reply:-no answer}"
    [[ "$reply" != OK ]] || log "Sentinel $first had read the replicas' INFO $(sentinel_session_ask "$first" "SENTINEL replicas $MASTER_NAME" |
        awk 'NR % 2 == 1 { key = $0; next } key == "name" { name = $0 } key == "info-refresh" { printf "%s%s %s ms", sep, name, $0; sep = ", " }') ago"
    # Without an answer it may have begun the failover: asking another could start a second one.
    if [[ -n "$reply" && "$reply" != OK ]] && ! ask_for_failover reversed; then
        pause_writes unpause
        log "no Sentinel accepted the failover; writes unpaused, shutting down as master"
        return
    fi
    # A majority naming one other declared node settles it. The others take the new master from the Sentinel that
    # ran the failover as soon as it has seen the replica promoted; that one follows a second later, once it has
    # reconfigured the other replicas. A client that asks it first is sent here, where its writes wait, until this
    # server exits: so it goes as soon as the majority is there.
    while ((SECONDS < deadline)); do
        master=$(sentinel_views | named_by_majority "$self" $((total / 2 + 1))) && declared_node "$master" && break
        master=""
        sleep 0.02
    done
    if [[ -z "$master" ]]; then
        pause_writes unpause
        log "the Sentinels did not name a new master within $STOP_HANDOVER_SECONDS s; writes unpaused, shutting down as master"
        return
    fi
    log "handed over to $master; shutting down"
}

# A Sentinel pings each node every SENTINEL_PING_PERIOD_MS instead of every second (Sentinel's own period, in
# sentinel.c: min(down-after-milliseconds, 1000)). A frozen master is marked down down-after-milliseconds after the
# first PING it did not answer, and that PING leaves up to one period after the freeze: 0.4 s instead of 1 s. Not
# lower: Sentinel promotes only a replica that answered within 5 periods and whose INFO (read once a second during a
# failover) is at most 5 periods old.
readonly SENTINEL_PING_PERIOD_MS=400
# A Sentinel reads each node's INFO every SENTINEL_INFO_PERIOD_MS instead of every 10 s. During a failover it reads a
# replica's INFO once a second (a constant in sentinelSendPeriodicCommands), and it names the new master only when an
# INFO shows the promoted replica's new role. With the 10 s period the last INFO is more than a second old when a
# failover starts, so one goes out at once, before the promotion, and the one that sees it a second later: the new
# master is named about 1 s after the promotion request. With 500 ms the next INFO leaves 0.5-1 s after the request
# (0.75 s on average), still after the promotion (sent 0.1-0.35 s after the request or the objective down): a
# handover or failover is 0.25 s shorter on average and never longer. Not higher than about 600: the first INFO of
# the failover would then sometimes leave before the promotion and cost a second. A Sentinel also learns a replica's
# new role, or a master's replicas, within 0.5 s instead of 10 s (sentinels_know_replicas waits less). It promotes
# only a replica whose INFO is at most 3 periods old (1.5 s) when the master is not down; a handover that finds none
# asks again for up to FAILOVER_ASK_SECONDS (ask_for_failover), then falls back to a plain shutdown.
readonly SENTINEL_INFO_PERIOD_MS=500
# A Sentinel sends its hello (its current configuration) to every node and Sentinel every SENTINEL_PUBLISH_PERIOD_MS
# instead of every 2 s. The Sentinel that ran a failover announces the new master by sending one at once, after it
# sees the replica promoted (it sets the last hello's time back by a period); but a hello already on its way then
# sets that time when its reply comes, and the announcement waits for the next period. The others then name the new
# master only at the end of the failover, about a second later, or with the next hello: seen as a 2.0 s handover in
# CI (the others switched 1.2 s after +promoted-slave). With 500 ms that costs at most half a second. Hellos are a
# PUBLISH each, ten a second per Sentinel. A Sentinel also turns a replica that reports itself master back into a
# replica only after 4 periods without a new configuration (2 s instead of 8 s; the announcement comes within one),
# and reconnects a Pub/Sub link silent for 3 periods (1.5 s; a paused master's, during a handover).
readonly SENTINEL_PUBLISH_PERIOD_MS=500

# tune_sentinel CONF: once the local Sentinel answers (up to 10 s), sets its ping and INFO periods, as the user the
# Sentinels use among themselves (its password is in CONF, the Sentinel's own file). Runtime-only (SENTINEL DEBUG,
# Redis 7.0 and later, Valkey), so they are set at every start; bench/results/waterfall.md measures what they save.
tune_sentinel() {
    local conf="$1" user password attempt
    user=$(awk '$1 == "sentinel" && $2 == "sentinel-user" { print $3 }' "$conf")
    password=$(awk '$1 == "sentinel" && $2 == "sentinel-pass" { print $3 }' "$conf")
    for ((attempt = 0; attempt < 50; attempt++)); do
        [[ -z "$STOPPING" ]] || return 0
        if [[ "$(REDIS_CLI_TIMEOUT=1 redis_cli "$user" "$password" "$NODE_IP" "$NODE_PORT" SENTINEL DEBUG \
            ping-period "$SENTINEL_PING_PERIOD_MS" info-period "$SENTINEL_INFO_PERIOD_MS" \
            publish-period "$SENTINEL_PUBLISH_PERIOD_MS" 2>/dev/null)" == OK ]]; then
            log "pinging every node every $SENTINEL_PING_PERIOD_MS ms, reading its INFO every $SENTINEL_INFO_PERIOD_MS ms, saying hello every $SENTINEL_PUBLISH_PERIOD_MS ms (SENTINEL DEBUG)"
            return
        fi
        sleep 0.2
    done
    log "could not set the ping, INFO and hello periods: this Sentinel pings every second, reads INFO every 10 s and says hello every 2 s, so it notices a frozen master up to 0.6 s later and names a new master up to 0.5 s later (1.5 s when an announcement is lost)"
}

# The server runs as a child, so that the entrypoint, still PID 1, receives docker's SIGTERM: a Redis master hands
# its role over first (hand_over), then the signal is passed on; a Sentinel gets it at once. The entrypoint exits with
# the server's status.
SERVER_PID=""
STOPPING=""
on_stop() {
    trap "" TERM INT
    STOPPING=1
    # In a subshell without errexit: whatever fails in the handover, the server still gets its SIGTERM.
    [[ -z "$SERVER_PID" || "$NODE_KIND" != redis ]] || (
        set +e
        trap '' PIPE
        hand_over
        session_close_all
    ) || true
    [[ -z "$SERVER_PID" ]] || kill -TERM "$SERVER_PID" 2>/dev/null || true
}

run_server() {
    local conf="$1" status
    trap on_stop TERM INT
    setpriv --reuid=redis --regid=redis --init-groups "$ENGINE_SERVER" "$@" &
    SERVER_PID=$!
    # A stop that came between the two lines above found no server to pass the signal to.
    [[ -z "$STOPPING" ]] || kill -TERM "$SERVER_PID"
    [[ "$NODE_KIND" != sentinel ]] || tune_sentinel "$conf"
    # wait returns early when a trapped signal arrives (the trap runs right after); wait again until the server is gone.
    while :; do
        status=0
        wait "$SERVER_PID" || status=$?
        kill -0 "$SERVER_PID" 2>/dev/null || break
    done
    exit "$status"
}

main() {
    local kind="${1:-redis}"
    # PID 1 ignores a signal it has no handler for: without this, a stop before the server runs would wait for SIGKILL.
    trap 'log "stopped before the server started"; exit 143' TERM INT
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
    if [[ "${TLS:-}" == yes ]]; then
        # The server's own copies of its TLS material, 0600 like the other runtime files (the upload is 0644).
        cp "$UPLOAD_DIR/tls/ca.crt" "$RUNTIME_DIR/tls-ca.crt"
        cp "$UPLOAD_DIR/tls/node.crt" "$RUNTIME_DIR/tls-node.crt"
        cp "$UPLOAD_DIR/tls/node.key" "$RUNTIME_DIR/tls-node.key"
    fi
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
    local conf="$RUNTIME_DIR/$kind.conf"
    if [[ "$kind" == sentinel ]]; then
        log "running $ENGINE_SERVER $conf --sentinel"
        run_server "$conf" --sentinel
    fi
    log "running $ENGINE_SERVER $conf (a stop hands the master role over first)"
    run_server "$conf"
}

main "$@"
