import Docker from "dockerode";
import { ClusterOutputs } from "./cluster";
import { demuxLogBuffer, e2eLabel } from "./deployer";
import { execIn, ExecResult } from "./exec";

/** A principal of the cluster; "app" logs in as the stack's application user. */
export type Principal = keyof ClusterOutputs["passwords"];

/** Where a Redis node or Sentinel listens. */
export interface Address {
    readonly ip: string;
    readonly port: number;
}

/** Replies that redis-cli prints (with exit status 0) when the server refused a command. */
const errorReply = /^(ERR|NOPERM|NOAUTH|WRONGPASS|LOADING|READONLY|NOREPLICAS|MASTERDOWN|BUSY|WRONGTYPE|EXECABORT|NOSCRIPT)\b/;
/** How long one redis-cli call may take inside the probe (it is `timeout`-bounded there too). */
const cliTimeoutSeconds = 3;

/**
 * A helper container on the cluster's network (same image, idle) from which the tests run redis-cli, so that every
 * query travels the network the way a client's would, on any engine (no route from the host to the bridge needed).
 */
export class ClusterProbe {
    private constructor(
        private readonly container: Docker.Container,
        private readonly outputs: ClusterOutputs,
        /** The engine's CLI in the image (redis-cli, valkey-cli), as image/node-lib.sh names it. */
        private readonly cliName: string,
    ) {}

    static async start(
        docker: Docker,
        imageId: string,
        outputs: ClusterOutputs,
        ip: string,
        name = "e2e-probe",
    ): Promise<ClusterProbe> {
        const container = await docker.createContainer({
            name,
            Image: imageId,
            Entrypoint: ["sleep", "infinity"],
            Labels: { [e2eLabel]: "true" },
            HostConfig: { NetworkMode: outputs.network },
            // On several hosts ("host"), the probe shares the test machine's network, from which every host is reached
            // at its address, as a client on another machine reaches them.
            NetworkingConfig:
                outputs.network === "host"
                    ? undefined
                    : { EndpointsConfig: { [outputs.network]: { IPAMConfig: { IPv4Address: ip } } } },
        });
        await container.start();
        const engine = await execIn(
            container,
            ["bash", "-c", '. /usr/local/lib/redis-node/node-lib.sh && echo "$ENGINE_CLI"'],
            [],
            10_000,
        );
        const cliName = engine.stdout.trim();
        if (engine.exitCode !== 0 || !/^[a-z]+-cli$/.test(cliName)) {
            throw new Error(`the probe could not tell the image's CLI: ${engine.stderr.trim() || cliName}`);
        }
        return new ClusterProbe(container, outputs, cliName);
    }

    /** The ACL user name of a principal. */
    userOf(principal: Principal): string {
        return principal === "app" ? this.outputs.appUser : principal;
    }

    /** Runs a bash script in the probe; secrets go in `env`, never in the script. Bounded by `timeoutMs`. */
    async run(script: string, env: readonly string[], timeoutMs: number): Promise<ExecResult> {
        return execIn(this.container, ["bash", "-c", script], env, timeoutMs);
    }

    /** One CLI call as `principal`; the password goes through REDISCLI_AUTH. Never throws on a refused command. */
    async tryCli(principal: Principal, at: Address, args: readonly string[]): Promise<ExecResult & { refused: boolean }> {
        const result = await execIn(
            this.container,
            [
                "timeout",
                String(cliTimeoutSeconds),
                this.cliName,
                "--no-auth-warning",
                "--raw",
                "-h",
                at.ip,
                "-p",
                String(at.port),
                "--user",
                this.userOf(principal),
                ...args,
            ],
            [`REDISCLI_AUTH=${this.outputs.passwords[principal]}`],
            (cliTimeoutSeconds + 5) * 1000,
        );
        const refused =
            result.exitCode !== 0 || /AUTH failed|Could not connect/.test(result.stderr) || errorReply.test(result.stdout);
        return { ...result, refused };
    }

    /** One redis-cli call as `principal`; its reply lines, or an error naming the command (never the password). */
    async cli(principal: Principal, at: Address, ...args: string[]): Promise<string[]> {
        const result = await this.tryCli(principal, at, args);
        if (result.refused) {
            const reply = (result.stdout + result.stderr).trim().split("\n")[0];
            throw new Error(
                `${args.slice(0, 2).join(" ")} on ${at.ip}:${at.port} as ${this.userOf(principal)}: ${reply || `exit ${result.exitCode}`}`,
            );
        }
        return result.stdout.replace(/\n$/, "").split("\n");
    }

    /** GETs http://ip:port/path from the probe (bash's /dev/tcp: the image has no HTTP client); the response body. */
    async httpGet(ip: string, port: number, path: string): Promise<string> {
        const script =
            'exec 3<>"/dev/tcp/$HOST/$PORT" && printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$URL_PATH" "$HOST" >&3 && timeout 5 cat <&3';
        const result = await execIn(
            this.container,
            ["bash", "-c", script],
            [`HOST=${ip}`, `PORT=${port}`, `URL_PATH=${path}`],
            10_000,
        );
        const [head, ...body] = result.stdout.split("\r\n\r\n");
        if (result.exitCode !== 0 || !/^HTTP\/1\.[01] 200/.test(head)) {
            throw new Error(
                `GET http://${ip}:${port}${path}: ${head.split("\r\n")[0] || result.stderr.trim() || `exit ${result.exitCode}`}`,
            );
        }
        return body.join("\r\n\r\n");
    }

    /**
     * Sends `commands` (plain words, no quoting needed) over one connection, so that a final WAIT counts the writes
     * before it; returns the reply lines.
     */
    async pipeline(principal: Principal, at: Address, commands: readonly string[]): Promise<string[]> {
        const script =
            'printf "%s\\n" "$@" | timeout 10 "$CLI" --no-auth-warning --raw -h "$HOST" -p "$PORT" --user "$REDIS_USER"';
        const result = await execIn(
            this.container,
            ["bash", "-c", script, "pipeline", ...commands],
            [
                `REDISCLI_AUTH=${this.outputs.passwords[principal]}`,
                `HOST=${at.ip}`,
                `PORT=${at.port}`,
                `REDIS_USER=${this.userOf(principal)}`,
                `CLI=${this.cliName}`,
            ],
            15_000,
        );
        const lines = result.stdout.replace(/\n$/, "").split("\n");
        const refusal = lines.find((line) => errorReply.test(line));
        if (result.exitCode !== 0 || refusal) {
            throw new Error(`pipeline of ${commands.length} commands on ${at.ip}:${at.port}: ${refusal ?? result.stderr.trim()}`);
        }
        return lines;
    }
}

/** A container's whole log (stdout and stderr), as `docker logs` shows it. */
export async function containerLog(docker: Docker, name: string): Promise<string> {
    const buffer = (await docker.getContainer(name).logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return demuxLogBuffer(buffer);
}
