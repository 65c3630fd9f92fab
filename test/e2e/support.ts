import Docker from "dockerode";
import { ClusterOutputs } from "../docker/cluster";
import { ContainerStep, e2eLabel } from "../docker/deployer";
import { engineUnavailableReason } from "../docker/engine";
import { Address, ClusterProbe, containerLog } from "../docker/probe";
import { address } from "../../tools/lib/cluster";
import { longestGap } from "../../tools/lib/failover";
import { parseInfo } from "../../tools/lib/observe";
import { pollUntil } from "../../tools/lib/poll";
import { longestOutage } from "../harness/observers";

/** The result of a bounded poll: the value it waited for and how long that took. */
export interface Waited<T> {
    readonly value: T;
    readonly elapsedMs: number;
}

/**
 * Polls `check` every `intervalMs` until it returns a value (not undefined), for at most `timeoutMs`, and says how
 * long that took. A check that throws counts as "not yet" (a node restarting refuses connections).
 */
export async function waitFor<T>(
    what: string,
    check: () => Promise<T | undefined>,
    timeoutMs: number,
    intervalMs = 200,
): Promise<Waited<T>> {
    const started = Date.now();
    const value = await pollUntil(what, check, { timeoutMs, intervalMs });
    return { value, elapsedMs: Date.now() - started };
}

/**
 * `describe` when a Docker engine answers. Without one it skips, with a warning, on a developer machine only: with CI
 * set, engineUnavailableReason throws, so a missing engine fails the run.
 */
export function describeWithEngine(name: string, suite: () => void): void {
    const unavailable = engineUnavailableReason();
    if (unavailable) {
        console.warn(`e2e: skipped, ${unavailable} (set CI=true to make this an error)`);
        describe.skip(name, suite);
    } else {
        describe(name, suite);
    }
}

/** Loads index.ts afresh (after the mocks are set), as startCluster's `load` argument. */
export function loadProgram(): Record<string, unknown> {
    let exports: Record<string, unknown> = {};
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- index.ts must load afresh, after the mocks
        exports = require("../../index");
    });
    return exports;
}

export type RedisNode = ClusterOutputs["redisNodes"][number];
export type SentinelNode = ClusterOutputs["sentinelNodes"][number];

export const addressOf = address;

/** The fields of INFO replication, as a map. */
export async function replicationInfo(probe: ClusterProbe, node: Address): Promise<Record<string, string>> {
    const lines = await probe.cli("admin", node, "INFO", "replication");
    return parseInfo(lines.map((line) => line.trim()).join("\n"));
}

/** What one Sentinel answers for the master's address ("ip:port"). */
export async function sentinelMaster(probe: ClusterProbe, sentinel: Address, masterName: string): Promise<string> {
    const [ip, port] = await probe.cli("clientsentinel", sentinel, "SENTINEL", "get-master-addr-by-name", masterName);
    return `${ip}:${port}`;
}

/** One Sentinel's SENTINEL MASTER reply, as a lookup of its fields ("flags", "ip", "num-slaves", ...). */
export async function sentinelMasterFields(
    probe: ClusterProbe,
    sentinel: Address,
    masterName: string,
): Promise<(field: string) => string> {
    const fields = await probe.cli("clientsentinel", sentinel, "SENTINEL", "master", masterName);
    return (field) => fields[fields.indexOf(field) + 1];
}

/**
 * The master that `sentinels` (every Sentinel unless given) agree on; throws (saying what each answered) while they
 * disagree or one does not answer.
 */
export async function agreedMaster(
    probe: ClusterProbe,
    outputs: ClusterOutputs,
    sentinels: readonly SentinelNode[] = outputs.sentinelNodes,
): Promise<string> {
    const answers = await Promise.all(sentinels.map((sentinel) => sentinelMaster(probe, sentinel, outputs.masterName)));
    if (answers.some((answer) => answer !== answers[0])) {
        const said = sentinels.map((sentinel, index) => `${sentinel.name} says ${answers[index]}`);
        throw new Error(`the Sentinels disagree: ${said.join(", ")}`);
    }
    return answers[0];
}

/** SENTINEL REPLICAS / SENTINEL SENTINELS as raw lines: one record per instance, each starting with "name". */
export function instanceRecords(lines: readonly string[]): Record<string, string>[] {
    const records: Record<string, string>[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
        if (lines[i] === "name") {
            records.push({});
        }
        records[records.length - 1][lines[i]] = lines[i + 1];
    }
    return records;
}

/**
 * The whole cluster as it should be: one master, the one every Sentinel names; every Sentinel seeing every replica
 * and every other Sentinel up; every replica linked. Returns the master; throws saying what is still wrong.
 */
export async function wholeCluster(probe: ClusterProbe, outputs: ClusterOutputs): Promise<RedisNode> {
    const master = nodeAt(outputs, await agreedMaster(probe, outputs));
    const claiming = await nodesClaimingMaster(probe, outputs);
    if (claiming.length !== 1 || claiming[0] !== master.name) {
        throw new Error(`nodes claiming master: [${claiming.join(", ")}], the Sentinels name ${master.name}`);
    }
    const replicas = outputs.redisNodes.filter(({ name }) => name !== master.name);
    for (const sentinel of outputs.sentinelNodes) {
        const peers = outputs.sentinelNodes.filter(({ name }) => name !== sentinel.name);
        const seen = (lines: string[]) =>
            Object.fromEntries(instanceRecords(lines).map((record) => [`${record.ip}:${record.port}`, record.flags]));
        const masterField = await sentinelMasterFields(probe, sentinel, outputs.masterName);
        const replicaFlags = seen(await probe.cli("admin", sentinel, "SENTINEL", "replicas", outputs.masterName));
        const sentinelFlags = seen(await probe.cli("admin", sentinel, "SENTINEL", "sentinels", outputs.masterName));
        const expected = {
            master: "master",
            ...Object.fromEntries(replicas.map((replica) => [addressOf(replica), "slave"])),
            ...Object.fromEntries(peers.map((peer) => [addressOf(peer), "sentinel"])),
        };
        const actual = {
            master: masterField("flags"),
            ...Object.fromEntries(replicas.map((replica) => [addressOf(replica), replicaFlags[addressOf(replica)]])),
            ...Object.fromEntries(peers.map((peer) => [addressOf(peer), sentinelFlags[addressOf(peer)]])),
        };
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            throw new Error(`${sentinel.name} sees ${JSON.stringify(actual)}`);
        }
    }
    for (const replica of replicas) {
        if (!(await isReplicaOf(probe, replica, addressOf(master)))) {
            throw new Error(`${replica.name} is not a linked replica of ${master.name}`);
        }
    }
    return master;
}

/** Waits (bounded) until the whole cluster is as it should be (wholeCluster); the master and how long it took. */
export function waitHealed(
    probe: ClusterProbe,
    outputs: ClusterOutputs,
    since: number,
    boundMs: number,
): Promise<Waited<{ master: RedisNode; healedMs: number }>> {
    return waitFor(
        "the cluster to heal: one master, named by every Sentinel, every replica and Sentinel up and linked",
        async () => ({ master: await wholeCluster(probe, outputs), healedMs: Date.now() - since }),
        boundMs,
        250,
    );
}

/** The declared Redis node at "ip:port"; throws for an address the stack does not declare. */
export function nodeAt(outputs: ClusterOutputs, address: string): RedisNode {
    const found = outputs.redisNodes.find((candidate) => addressOf(candidate) === address);
    if (!found) {
        throw new Error(`no Redis node at ${address}`);
    }
    return found;
}

/** Starts a container that may already be running again (its restart policy was quicker: 304). */
export async function startContainer(docker: Docker, name: string): Promise<void> {
    await docker
        .getContainer(name)
        .start()
        .catch((error: { statusCode?: number }) => {
            if (error.statusCode !== 304) {
                throw error;
            }
        });
}

/** The Redis nodes that report themselves master right now (a node that does not answer is left out). */
export async function nodesClaimingMaster(probe: ClusterProbe, outputs: ClusterOutputs): Promise<string[]> {
    const roles = await Promise.all(
        outputs.redisNodes.map(async (node) => ({
            node,
            role: (await probe.cli("admin", node, "ROLE").catch(() => ["unreachable"]))[0],
        })),
    );
    return roles.filter(({ role }) => role === "master").map(({ node }) => node.name);
}

/** True once `node` is a replica of `master` with its link up. */
export async function isReplicaOf(probe: ClusterProbe, node: Address, master: string): Promise<boolean> {
    const info = await replicationInfo(probe, node);
    return info.role === "slave" && `${info.master_host}:${info.master_port}` === master && info.master_link_status === "up";
}

/** Keys written and acknowledged by replicas (WAIT), with their values: what must survive every step. */
export class ConfirmedData {
    private readonly entries = new Map<string, string>();

    /** Writes `count` keys as the application user on `master`, then WAITs for `replicas` acknowledgements. */
    async write(probe: ClusterProbe, master: Address, phase: string, count: number, replicas: number): Promise<void> {
        const batch = Array.from(
            { length: count },
            (_, index) => [`e2e:${phase}:${index}`, `${phase}-${index}-${Date.now()}`] as const,
        );
        const replies = await probe.pipeline("app", master, [
            ...batch.map(([key, value]) => `SET ${key} ${value}`),
            `WAIT ${replicas} 5000`,
        ]);
        const acknowledged = Number(replies[replies.length - 1]);
        if (replies.slice(0, -1).some((reply) => reply !== "OK") || acknowledged < replicas) {
            throw new Error(`writes of ${phase} not confirmed: ${acknowledged} of ${replicas} replicas acknowledged`);
        }
        for (const [key, value] of batch) {
            this.entries.set(key, value);
        }
    }

    /** Adds keys that another writer had confirmed. */
    addConfirmed(entries: Iterable<readonly [string, string]>): void {
        for (const [key, value] of entries) {
            this.entries.set(key, value);
        }
    }

    get size(): number {
        return this.entries.size;
    }

    /**
     * Waits (up to `timeoutMs` each) for every one of `nodes` to hold every confirmed key; returns, for each node that
     * did not, "name: N missing" (empty when all did).
     */
    async missingAfterWaiting(probe: ClusterProbe, nodes: readonly RedisNode[], timeoutMs: number): Promise<string[]> {
        const missing: string[] = [];
        for (const node of nodes) {
            await waitFor(
                `${node.name} to hold all ${this.size} confirmed keys`,
                async () => ((await this.missingOn(probe, node)).length === 0 ? true : undefined),
                timeoutMs,
            ).catch(async () => missing.push(`${node.name}: ${(await this.missingOn(probe, node)).length} missing`));
        }
        return missing;
    }

    /** The confirmed keys that `node` is missing or holds with another value (empty when it has them all). */
    async missingOn(probe: ClusterProbe, node: Address): Promise<string[]> {
        const keys = [...this.entries.keys()];
        const missing: string[] = [];
        for (let start = 0; start < keys.length; start += 200) {
            const chunk = keys.slice(start, start + 200);
            const values = await probe.cli("admin", node, "MGET", ...chunk);
            chunk.forEach((key, index) => values[index] !== this.entries.get(key) && missing.push(key));
        }
        return missing;
    }
}

/** The part of a container's log written after a mark taken with `logMark`. */
export async function logSince(docker: Docker, name: string, mark: number): Promise<string> {
    return (await containerLog(docker, name)).slice(mark);
}

export async function logMark(docker: Docker, name: string): Promise<number> {
    return (await containerLog(docker, name)).length;
}

/**
 * Shell functions a client script needs, given its own `cli` (redis-cli with its timeout): `ask_master` prints the
 * master ("ip:port") that the first answering Sentinel names, asked as clientsentinel, and fails when none does;
 * `app COMMAND...` runs one command as the application user on `$master`. Passwords come from the environment and
 * go to redis-cli through REDISCLI_AUTH.
 */
const clientFunctions = `
ask_master() {
    local sentinel answer
    for sentinel in $SENTINELS; do
        answer=$(REDISCLI_AUTH="$CLIENTSENTINEL_PASSWORD" cli -h "\${sentinel%:*}" -p "\${sentinel##*:}" --user clientsentinel \\
            SENTINEL get-master-addr-by-name "$MASTER_NAME" | paste -sd: -) || continue
        if [[ "$answer" =~ ^[0-9.]+:[0-9]+$ ]]; then echo "$answer"; return 0; fi
    done
    return 1
}
app() { REDISCLI_AUTH="$APP_PASSWORD" cli -h "\${master%:*}" -p "\${master##*:}" --user "$APP_USER" "$@"; }
`;

/**
 * What a client program does, as a shell script for the seed's "another container on redisnet": ask the Sentinels
 * (as clientsentinel) where the master is, then write and read there as the application user.
 */
const clientScript = `set -euo pipefail
cli() { timeout 3 redis-cli --no-auth-warning --raw "$@"; }
${clientFunctions}
master=$(ask_master) || { echo "no Sentinel answered"; exit 1; }
echo "master=$master"
echo "set=$(app SET e2e:client:greeting hello-from-client)"
echo "get=$(app GET e2e:client:greeting)"
`;

/** Runs the client script in its own container on the cluster's network at `ip`; returns its log once it has exited 0. */
export async function runClientContainer(
    docker: Docker,
    imageId: string,
    outputs: ClusterOutputs,
    ip: string,
): Promise<Waited<string>> {
    const started = Date.now();
    const container = await docker.createContainer({
        name: "e2e-client",
        Image: imageId,
        Entrypoint: ["bash", "-c", clientScript],
        Env: [
            `SENTINELS=${outputs.sentinelNodes.map(addressOf).join(" ")}`,
            `MASTER_NAME=${outputs.masterName}`,
            `APP_USER=${outputs.appUser}`,
            `CLIENTSENTINEL_PASSWORD=${outputs.passwords.clientsentinel}`,
            `APP_PASSWORD=${outputs.passwords.app}`,
        ],
        Labels: { [e2eLabel]: "true" },
        HostConfig: { NetworkMode: outputs.network },
        NetworkingConfig: { EndpointsConfig: { [outputs.network]: { IPAMConfig: { IPv4Address: ip } } } },
    });
    const { exitCode, log } = await runToExit(docker, container, 30_000);
    if (exitCode !== 0) {
        throw new Error(`the client container exited ${exitCode}:\n${log}`);
    }
    return { value: log, elapsedMs: Date.now() - started };
}

/** Starts a created one-off container, waits (bounded) until it exits, and removes it; its exit code and log. */
export async function runToExit(
    docker: Docker,
    container: Docker.Container,
    timeoutMs: number,
): Promise<{ exitCode: number; log: string }> {
    try {
        await container.start();
        const exited = await waitFor(
            `container ${container.id.slice(0, 12)} to exit`,
            async () => {
                const { State } = await container.inspect();
                return State.Running ? undefined : State.ExitCode;
            },
            timeoutMs,
        );
        return { exitCode: exited.value, log: await containerLog(docker, container.id) };
    } finally {
        await container.remove({ force: true });
    }
}

/**
 * A client that writes all the time, as an application would: it asks the Sentinels (as clientsentinel) for the master,
 * writes one key at a time as the application user and confirms each with WAIT 1, and asks the Sentinels again after
 * any write that was not confirmed. It runs in the probe container, one redis-cli per command, each bounded to 1 s, and
 * logs "epoch-ms n master replies..." for every write to a file there.
 */
const writerScript = `set -u
cli() { timeout 1 redis-cli --no-auth-warning --raw "$@" 2>&1; }
${clientFunctions}
master=""
i=0
while ((SECONDS < MAX_SECONDS)) && [[ ! -e "$STOP_FILE" ]]; do
    if [[ -z "$master" ]]; then
        master=$(ask_master) || { sleep 0.1; continue; }
    fi
    i=$((i + 1))
    reply=$(printf 'SET %s %s\\nWAIT 1 500\\n' "$KEY_PREFIX:$i" "$i" | app | paste -sd' ' -)
    echo "$(date +%s%3N) $i $master $reply" >>"$LOG_FILE"
    [[ "$reply" =~ ^OK\\ [1-9] ]] || { master=""; sleep 0.05; }
done
`;

/** What a ConfirmingWriter saw: its confirmed keys and the longest time without a confirmed write. */
export interface WriterReport {
    readonly confirmed: Map<string, string>;
    readonly attempts: number;
    /** The longest time between two confirmed writes. */
    readonly longestGapMs: number;
}

/** One line of the writer's log ("epoch-ms n master SET-reply WAIT-reply"): confirmed when SET said OK and WAIT >= 1. */
function parseWriterLine(line: string): { at: number; index: string; confirmed: boolean } {
    const [at, index, , ...reply] = line.split(" ");
    return { at: Number(at), index, confirmed: reply[0] === "OK" && Number(reply[1]) >= 1 };
}

export class ConfirmingWriter {
    private constructor(
        private readonly probe: ClusterProbe,
        private readonly files: { stop: string; log: string },
        private readonly keyPrefix: string,
        private readonly running: Promise<{ exitCode: number }>,
    ) {}

    /** Starts writing keys `e2e:<tag>:<n>`; it stops on `stop()`, or after `maxSeconds` at the latest. */
    static start(probe: ClusterProbe, outputs: ClusterOutputs, tag: string, maxSeconds = 300): ConfirmingWriter {
        const files = { stop: `/tmp/writer-${tag}.stop`, log: `/tmp/writer-${tag}.log` };
        const keyPrefix = `e2e:${tag}`;
        const running = probe.run(
            writerScript,
            [
                `MAX_SECONDS=${maxSeconds}`,
                `STOP_FILE=${files.stop}`,
                `LOG_FILE=${files.log}`,
                `KEY_PREFIX=${keyPrefix}`,
                `SENTINELS=${outputs.sentinelNodes.map(address).join(" ")}`,
                `MASTER_NAME=${outputs.masterName}`,
                `APP_USER=${outputs.appUser}`,
                `CLIENTSENTINEL_PASSWORD=${outputs.passwords.clientsentinel}`,
                `APP_PASSWORD=${outputs.passwords.app}`,
            ],
            (maxSeconds + 30) * 1000,
        );
        return new ConfirmingWriter(probe, files, keyPrefix, running);
    }

    /** The writer's log lines so far. */
    private async lines(): Promise<string[]> {
        const { stdout } = await this.probe.run(`cat "$FILE" 2>/dev/null || true`, [`FILE=${this.files.log}`], 10_000);
        return stdout.split("\n").filter(Boolean);
    }

    /** Waits (bounded) until the writer has confirmed `count` more writes than it had: the cluster takes writes. */
    async confirms(count: number, timeoutMs = 30_000): Promise<void> {
        const confirmedNow = async () => (await this.lines()).filter((line) => parseWriterLine(line).confirmed).length;
        const target = (await confirmedNow()) + count;
        await waitFor(
            `the writer ${this.keyPrefix} to confirm ${count} more writes`,
            async () => ((await confirmedNow()) >= target ? true : undefined),
            timeoutMs,
            250,
        );
    }

    /** Stops the writer (bounded) and reads what it did. */
    async stop(): Promise<WriterReport> {
        await this.probe.run(`touch "$FILE"`, [`FILE=${this.files.stop}`], 5000);
        const { exitCode } = await this.running;
        if (exitCode !== 0) {
            throw new Error(`the writer ${this.keyPrefix} exited ${exitCode}`);
        }
        const confirmed = new Map<string, string>();
        const confirmedAt: number[] = [];
        const lines = await this.lines();
        for (const write of lines.map(parseWriterLine).filter((line) => line.confirmed)) {
            confirmed.set(`${this.keyPrefix}:${write.index}`, write.index);
            confirmedAt.push(write.at);
        }
        return { confirmed, attempts: lines.length, longestGapMs: longestOutage(confirmedAt, 0) };
    }
}

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * When a container's log line was written (ms since the epoch, UTC), from its own clock: the entrypoint's
 * `entrypoint[node] HH:MM:SS.mmm:` (the day taken from `near`) or the server's and Sentinel's `pid:R 05 Dec 2026 HH:MM:SS.mmm`.
 * Undefined for a line without one.
 */
export function loggedAt(line: string, near: number): number | undefined {
    const server = /^\d+:\w (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{3}) /.exec(line);
    if (server) {
        const [, day, month, year, hours, minutes, seconds, ms] = server;
        return Date.UTC(+year, months.indexOf(month), +day, +hours, +minutes, +seconds, +ms);
    }
    const entrypoint = /^entrypoint\[[^\]]*\] (\d\d):(\d\d):(\d\d)\.(\d{3}):/.exec(line);
    if (entrypoint) {
        const [, hours, minutes, seconds, ms] = entrypoint;
        const day = new Date(near);
        const at = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), +hours, +minutes, +seconds, +ms);
        // A line logged just before midnight, read just after it.
        return at - near > 12 * 3600_000 ? at - 24 * 3600_000 : at;
    }
    return undefined;
}

/**
 * The longest time between two confirmed writes, where it began (ms after `started`) and in which container's
 * replacement, and what every replaced container logged from a second before it to its end (entrypoint decisions,
 * server and Sentinel events; no password in them), in time order, each line after its container's name: what a test
 * prints when a gap is longer than it should be.
 */
export function longestGapStory(
    confirmed: readonly { at: number }[],
    steps: readonly ContainerStep[],
    started: number,
): { gap: number; from?: number; step?: string; story: string[] } {
    const gap = longestGap(confirmed);
    const end = confirmed.findIndex((write, index) => index > 0 && write.at - confirmed[index - 1].at === gap);
    if (end <= 0) {
        return { gap, story: [] };
    }
    const [gapFrom, gapTo] = [confirmed[end - 1].at, confirmed[end].at];
    const step = steps.find((candidate) => candidate.startedAt <= gapFrom && gapFrom <= candidate.doneAt);
    const clock = (at: number) => new Date(at).toISOString().slice(11, 23);
    const story = steps
        .flatMap((candidate) =>
            (candidate.lastWords ?? "").split("\n").map((line) => ({ at: loggedAt(line, gapFrom), line, name: candidate.name })),
        )
        .filter(({ at }) => at !== undefined && gapFrom - 1000 <= at && at <= gapTo)
        .sort((a, b) => (a.at ?? 0) - (b.at ?? 0))
        .map(({ line, name }) => `${name}| ${line}`);
    return {
        gap,
        from: gapFrom - started,
        step: step?.name,
        story: [`last confirmed write before the gap ${clock(gapFrom)}, first after it ${clock(gapTo)}`, ...story],
    };
}
