#!/usr/bin/env bash
# Installs Redis into the image from the chosen source and creates the unprivileged user that runs it.
set -euo pipefail

readonly source="$1"
readonly stack_version="$2"
export DEBIAN_FRONTEND=noninteractive

install_from_debian() {
    if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
        echo "install-redis: redis-server is already in the base image, nothing to install"
    else
        apt-get update
        apt-get install -y --no-install-recommends redis-server redis-sentinel redis-tools
        rm -rf /var/lib/apt/lists/*
    fi
    # The packages' own config files would only confuse: the rendered ones are uploaded to /etc/redis.
    rm -f /etc/redis/redis.conf /etc/redis/sentinel.conf
}

install_from_redis_stack() {
    apt-get update
    apt-get install -y --no-install-recommends ca-certificates curl gpg
    # shellcheck disable=SC1091
    . /etc/os-release
    curl -fsSL https://packages.redis.io/gpg | gpg --dearmor -o /usr/share/keyrings/redis-archive-keyring.gpg
    echo "deb [signed-by=/usr/share/keyrings/redis-archive-keyring.gpg] https://packages.redis.io/deb ${VERSION_CODENAME} main" \
        >/etc/apt/sources.list.d/redis.list
    apt-get update
    apt-get install -y --no-install-recommends "redis-stack-server=${stack_version}"
    apt-get purge -y --auto-remove curl gpg
    rm -rf /var/lib/apt/lists/*
}

create_user() {
    if ! id redis >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin redis
    fi
    mkdir -p /data /etc/redis
    chown redis:redis /data
}

case "$source" in
    debian) install_from_debian ;;
    redis-stack) install_from_redis_stack ;;
    *)
        echo "install-redis: unknown REDIS_SOURCE '$source' (expected redis-stack or debian)" >&2
        exit 1
        ;;
esac
create_user
