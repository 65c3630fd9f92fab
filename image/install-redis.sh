#!/usr/bin/env bash
# Installs Redis into the image from the chosen source and creates the unprivileged user that runs it.
set -euo pipefail

readonly source="$1"
readonly stack_version="$2"
readonly redis_version="${3:-}"
export DEBIAN_FRONTEND=noninteractive

# install_from_debian ENGINE: the distribution's server, Sentinel and tools of ENGINE (redis or valkey), unless the
# base image has them already (the tests' offline base does).
install_from_debian() {
    local engine="$1"
    if command -v "$engine-server" >/dev/null && command -v "$engine-cli" >/dev/null; then
        echo "install-redis: $engine-server is already in the base image, nothing to install"
    else
        apt-get update
        apt-get install -y --no-install-recommends "$engine-server" "$engine-sentinel" "$engine-tools"
        rm -rf /var/lib/apt/lists/*
    fi
    # The packages' own config files would only confuse: the rendered ones are uploaded to /etc/redis.
    rm -f /etc/redis/redis.conf /etc/redis/sentinel.conf /etc/valkey/valkey.conf /etc/valkey/sentinel.conf
}

# add_redis_repository: packages.redis.io for the base image's release (Ubuntu jammy or noble, Debian bookworm or
# trixie), with the tools to fetch its key; remove_fetch_tools takes them out again.
add_redis_repository() {
    apt-get update
    apt-get install -y --no-install-recommends ca-certificates curl gpg
    # shellcheck disable=SC1091
    . /etc/os-release
    curl -fsSL https://packages.redis.io/gpg | gpg --dearmor -o /usr/share/keyrings/redis-archive-keyring.gpg
    echo "deb [signed-by=/usr/share/keyrings/redis-archive-keyring.gpg] https://packages.redis.io/deb ${VERSION_CODENAME} main" \
        >/etc/apt/sources.list.d/redis.list
    apt-get update
}

remove_fetch_tools() {
    apt-get purge -y --auto-remove curl gpg
    rm -rf /var/lib/apt/lists/*
}

install_from_redis_stack() {
    add_redis_repository
    apt-get install -y --no-install-recommends "redis-stack-server=${stack_version}"
    remove_fetch_tools
}

# Redis Open Source: the server, Sentinel and tools of one release, all three pinned (redis/redis-debian's README);
# on amd64 and arm64 the server package carries the modules under /usr/lib/redis/modules.
install_from_redis_packages() {
    if [[ ! "$redis_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
        echo "install-redis: REDIS_VERSION '$redis_version' is not a release such as 8.10.2" >&2
        exit 1
    fi
    add_redis_repository
    local package="6:${redis_version}-1rl1~${VERSION_CODENAME}1"
    apt-get install -y --no-install-recommends "redis-server=$package" "redis-sentinel=$package" "redis-tools=$package"
    remove_fetch_tools
    # The package's config file loads the modules; the rendered one, uploaded to /etc/redis, loads those chosen.
    rm -f /etc/redis/redis.conf /etc/redis/sentinel.conf
}

# write_engine_env ENGINE: which engine the image holds and its binaries, for the entrypoint and the health check
# (image/node-lib.sh): nothing else names them. Valkey's are valkey-server, valkey-cli and valkey-check-rdb.
write_engine_env() {
    local engine="$1" dir=/usr/local/lib/redis-node
    mkdir -p "$dir"
    printf '%s\n' "ENGINE=$engine" "ENGINE_SERVER=$engine-server" "ENGINE_CLI=$engine-cli" \
        "ENGINE_CHECK_RDB=$engine-check-rdb" >"$dir/engine.env"
    chmod 0644 "$dir/engine.env"
    "$engine-server" --version
}

create_user() {
    if ! id redis >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin redis
    fi
    mkdir -p /data /etc/redis
    chown redis:redis /data
}

case "$source" in
    redis) install_from_redis_packages && write_engine_env redis ;;
    debian) install_from_debian redis && write_engine_env redis ;;
    valkey) install_from_debian valkey && write_engine_env valkey ;;
    redis-stack) install_from_redis_stack && PATH="/opt/redis-stack/bin:$PATH" write_engine_env redis ;;
    *)
        echo "install-redis: unknown REDIS_SOURCE '$source' (expected redis, redis-stack, debian or valkey)" >&2
        exit 1
        ;;
esac
create_user
