#!/usr/bin/env bash
# Deploys (or updates) the `dev` stack on a local file backend in .pulumi-state/, so that no Pulumi account is needed,
# with the Pulumi CLI version the project pins (the `pulumi` npm devDependency downloads it on first use).
# Usage: PULUMI_CONFIG_PASSPHRASE=... npm run deploy                 (refuses to update an unhealthy cluster)
#        PULUMI_CONFIG_PASSPHRASE=... npm run deploy -- --force      (updates it all the same)
#        PULUMI_CONFIG_PASSPHRASE=... npm run destroy                (keeps the data volumes: retainOnDelete)
#        PULUMI_CONFIG_PASSPHRASE=... npm run destroy -- --volumes   (removes them too, on purpose)
# PULUMI_BACKEND_URL picks another backend (a file:// directory is created if missing); PULUMI_VERSION another CLI.
# DEPLOY_GATE_WAIT_SECONDS (default 60): how long the health check before an update waits for a settling cluster.
set -euo pipefail
# Command substitutions fail the script too (bash does not pass -e into them otherwise).
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

readonly action="${1:-up}"
shift || true
force=false
volumes=false
for flag in "$@"; do
    case "$action $flag" in
        "up --force") force=true ;;
        "destroy --volumes") volumes=true ;;
        *)
            echo "deploy: unknown option '$flag' for $action (up takes --force, destroy takes --volumes)" >&2
            exit 2
            ;;
    esac
done
case "$action" in
    up | destroy) ;;
    *)
        echo "deploy: unknown action '$action' (up or destroy)" >&2
        exit 2
        ;;
esac

export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
    echo "deploy: set PULUMI_CONFIG_PASSPHRASE (it encrypts the generated passwords in the stack state)" >&2
    exit 2
fi
# A Docker engine and the pinned Pulumi CLI (the `pulumi` devDependency), or one line saying which is missing.
ts-node --transpile-only scripts/preflight.ts
# The CLI does not create a file backend's directory (pulumi/pulumi#15841): `pulumi login file:///x` fails without it.
if [[ "$PULUMI_BACKEND_URL" == file://* ]]; then
    backend_dir="${PULUMI_BACKEND_URL#file://}"
    backend_dir="${backend_dir%%\?*}"
    mkdir -p "${backend_dir/#\~/$HOME}"
fi
echo "deploy: backend $PULUMI_BACKEND_URL, stack dev"
pulumi stack select --create dev

# The stack's outputs without secrets ("[secret]" in their place): whether a cluster is deployed, and where.
outputs() { pulumi stack output --json --stack dev; }

# Before an update of a deployed cluster, the rest of the cluster must be healthy (tools/lib/gate.ts): `pulumi up`
# health-gates only the containers it replaces, so a node already down would not hold the next replacement back.
gate() {
    if [[ "$force" == true ]]; then
        echo "deploy: --force: updating without checking the cluster's health"
        return
    fi
    local deployed
    deployed=$(outputs | node -e 'const o = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log((o.redisNodes ?? []).length)')
    if [[ "$deployed" == 0 ]]; then
        return
    fi
    local line status=0
    line=$(ts-node --transpile-only tools/gate.ts --stack dev --stack-file Pulumi.dev.yaml \
        --wait "${DEPLOY_GATE_WAIT_SECONDS:-60}") || status=$?
    if ((status == 1)); then
        echo "deploy: ${line#gate: }; fix it (npm run status shows each problem), or run npm run deploy -- --force" >&2
        exit 1
    elif ((status != 0)); then
        echo "deploy: could not check the cluster's health (above); run npm run deploy -- --force to update without it" >&2
        exit 1
    fi
    echo "deploy: ${line#gate: }"
}

# The data volumes to remove after `destroy --volumes`: one "endpoint volume" line each (endpoint "-" for the local
# engine), read before the stack's outputs go. A failure to read them stops here, before anything is destroyed.
volumes_to_remove() {
    local listed
    listed=$(outputs)
    node -e 'const o = JSON.parse(process.argv[1]);
        const endpoint = (n) => (o.hosts ?? []).find((h) => h.name === n.host)?.docker ?? "-";
        for (const n of [...(o.redisNodes ?? []), ...(o.sentinelNodes ?? [])]) console.log(`${endpoint(n)} ${n.name}-data`);' "$listed"
}

case "$action" in
    up)
        gate
        pulumi up --yes --stack dev
        ;;
    destroy)
        listed=""
        if [[ "$volumes" == true ]]; then
            listed=$(volumes_to_remove)
            [[ -n "$listed" ]] || echo "deploy: the stack lists no nodes, so no data volume to remove"
        fi
        pulumi destroy --yes --stack dev
        while read -r endpoint volume; do
            [[ -n "${volume:-}" ]] || continue
            if [[ "$endpoint" == - ]]; then
                echo "deploy: removing the data volume $volume"
                docker volume rm "$volume"
            else
                echo "deploy: removing the data volume $volume on $endpoint"
                docker -H "$endpoint" volume rm "$volume"
            fi
        done <<<"$listed"
        ;;
esac
