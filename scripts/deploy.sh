#!/usr/bin/env bash
# Deploys (or updates) the `dev` stack on a local file backend in .pulumi-state/, so that no Pulumi account is needed,
# with the Pulumi CLI version the project pins (the `pulumi` npm devDependency downloads it on first use).
# Usage: PULUMI_CONFIG_PASSPHRASE=... npm run deploy   (the passphrase encrypts the stack's secrets)
#        PULUMI_CONFIG_PASSPHRASE=... npm run destroy                (keeps the data volumes: retainOnDelete)
#        PULUMI_CONFIG_PASSPHRASE=... npm run destroy -- --volumes    (removes them too, on purpose)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly action="${1:-up}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"

if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
    echo "deploy: set PULUMI_CONFIG_PASSPHRASE (it encrypts the generated passwords in the stack state)" >&2
    exit 2
fi
# A Docker engine and the pinned Pulumi CLI (the `pulumi` devDependency), or one line saying which is missing.
npx --no-install ts-node --transpile-only scripts/preflight.ts
# The project's own CLI version, downloaded on first use by the `pulumi` launcher in node_modules.
pulumi() { npx --no-install pulumi "$@"; }
mkdir -p .pulumi-state
echo "deploy: backend $PULUMI_BACKEND_URL, stack dev"
pulumi stack select --create dev
case "$action" in
    up) pulumi up --yes --stack dev ;;
    destroy)
        # The volumes are retained on delete (components/nodeContainer.ts); their names, and with dockerHosts the
        # engine each is on, come from the outputs: one "endpoint volume" line each (endpoint "-": the local engine).
        volumes=()
        if [[ "${2:-}" == --volumes ]]; then
            outputs=$(pulumi stack output --json --stack dev)
            listed=$(node -e 'const o = JSON.parse(process.argv[1]);
                const endpoint = (n) => (o.hosts ?? []).find((h) => h.name === n.host)?.docker ?? "-";
                for (const n of [...(o.redisNodes ?? []), ...(o.sentinelNodes ?? [])]) console.log(`${endpoint(n)} ${n.name}-data`);' "$outputs")
            mapfile -t volumes <<<"$listed"
        fi
        pulumi destroy --yes --stack dev
        for line in "${volumes[@]}"; do
            [[ -n "$line" ]] || continue
            read -r endpoint volume <<<"$line"
            if [[ "$endpoint" == - ]]; then
                echo "deploy: removing the data volume $volume"
                docker volume rm "$volume"
            else
                echo "deploy: removing the data volume $volume on $endpoint"
                docker -H "$endpoint" volume rm "$volume"
            fi
        done
        ;;
    *)
        echo "deploy: unknown action '$action' (up or destroy)" >&2
        exit 2
        ;;
esac
