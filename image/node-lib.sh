# Shared by the entrypoint and the health check. Sourced, not executed.

readonly NODE_ENV_FILE=/etc/redis/node.env

# Reads KEY=value lines into shell variables without evaluating them: passwords stay literal.
load_node_env() {
    local key value
    while IFS='=' read -r key value; do
        [[ -z "$key" || "$key" == \#* ]] && continue
        if [[ ! "$key" =~ ^[A-Z_]+$ ]]; then
            echo "node-lib: ignoring malformed line in $NODE_ENV_FILE" >&2
            continue
        fi
        printf -v "$key" '%s' "$value"
    done <"$NODE_ENV_FILE"
}

# redis_cli USER PASSWORD HOST PORT COMMAND...: one bounded call; the password goes through the
# environment, never the command line that `ps` shows.
# With TLS=yes (tlsEnabled) it speaks TLS, presenting the node's own certificate.
redis_cli() {
    local user="$1" password="$2" host="$3" port="$4" tls=()
    shift 4
    if [[ "${TLS:-}" == yes ]]; then
        tls=(--tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE")
    fi
    REDISCLI_AUTH="$password" timeout "${REDIS_CLI_TIMEOUT:-2}" \
        redis-cli --no-auth-warning --raw "${tls[@]}" -h "$host" -p "$port" --user "$user" "$@"
}
