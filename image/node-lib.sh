# Shared by the entrypoint and the health check. Sourced, not executed.

readonly NODE_ENV_FILE=/etc/redis/node.env
# Written by install-redis.sh: which engine the image holds, and its binaries. Nothing else names them.
readonly ENGINE_ENV_FILE=/usr/local/lib/redis-node/engine.env

# Reads KEY=value lines of FILE into shell variables without evaluating them: passwords stay literal.
load_env_file() {
    local file="$1" key value
    while IFS='=' read -r key value; do
        [[ -z "$key" || "$key" == \#* ]] && continue
        if [[ ! "$key" =~ ^[A-Z_]+$ ]]; then
            echo "node-lib: ignoring malformed line in $file" >&2
            continue
        fi
        printf -v "$key" '%s' "$value"
    done <"$file"
}

load_node_env() {
    load_env_file "$NODE_ENV_FILE"
}

# The engine's binaries: ENGINE (redis or valkey), ENGINE_SERVER, ENGINE_CLI, ENGINE_CHECK_RDB.
ENGINE=redis ENGINE_SERVER=redis-server ENGINE_CLI=redis-cli ENGINE_CHECK_RDB=redis-check-rdb
if [[ -f "$ENGINE_ENV_FILE" ]]; then
    load_env_file "$ENGINE_ENV_FILE"
fi

# cli_command USER HOST PORT: sets CLI_COMMAND to the redis-cli command line that logs in as USER at HOST:PORT. The
# password goes through the environment (REDISCLI_AUTH), never the command line that `ps` shows. With TLS=yes
# (tlsEnabled) it speaks TLS, presenting the node's own certificate.
cli_command() {
    CLI_COMMAND=("$ENGINE_CLI" --no-auth-warning --raw)
    if [[ "${TLS:-}" == yes ]]; then
        CLI_COMMAND+=(--tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE")
    fi
    CLI_COMMAND+=(-h "$2" -p "$3" --user "$1")
}

# redis_cli USER PASSWORD HOST PORT COMMAND...: one bounded call (cli_command).
redis_cli() {
    local user="$1" password="$2" host="$3" port="$4" CLI_COMMAND
    shift 4
    cli_command "$user" "$host" "$port"
    REDISCLI_AUTH="$password" timeout "${REDIS_CLI_TIMEOUT:-2}" "${CLI_COMMAND[@]}" "$@"
}
