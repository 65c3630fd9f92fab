import { sentinelMyid } from "../../render/identity";
import { NodeAddress } from "../../settings/types";
import { address, ClusterDescription } from "./cluster";

/** What one Sentinel says, or why it could not be asked. */
export interface SentinelObservation {
    readonly sentinel: NodeAddress;
    readonly error?: string;
    readonly master?: { readonly ip: string; readonly port: number; readonly flags: readonly string[]; readonly quorum: number };
    readonly otherSentinels?: number;
    readonly replicas?: readonly { readonly ip: string; readonly port: number; readonly flags: readonly string[] }[];
    /** Seconds since the Sentinel entered TILT mode, when it is in it (INFO sentinel, asked as admin). */
    readonly tiltSinceSeconds?: number;
    /** The other Sentinels it knows (SENTINEL SENTINELS). */
    readonly peers?: readonly { readonly ip: string; readonly port: number; readonly runid: string }[];
}

/** What one Redis node says about itself (INFO replication), or why it could not be asked. */
export interface NodeObservation {
    readonly node: NodeAddress;
    readonly error?: string;
    readonly role?: "master" | "replica";
    /** The server, from INFO server: "redis", or "valkey" (server_name). */
    readonly engine?: "redis" | "valkey";
    /** Its version: valkey_version on Valkey, redis_version otherwise. */
    readonly version?: string;
    readonly offset?: number;
    /** Replicas only. */
    readonly masterAddress?: string;
    readonly linkUp?: boolean;
    /** Masters only: replicas connected, and each one's lag in seconds as the master sees it. */
    readonly connectedReplicas?: number;
    readonly replicaLagSeconds?: Readonly<Record<string, number>>;
}

export interface NodeRow {
    readonly node: string;
    /** The `dockerHosts` host the node runs on; absent on a single-host stack. */
    readonly host?: string;
    readonly address: string;
    /** The role each Sentinel gives the node, in Sentinel order: master, replica, or ? when unknown. */
    readonly sentinelRoles: readonly string[];
    readonly reportedRole: string;
    /** The server and its version, as "redis 7.0.15" or "valkey 8.1.1"; "?" when the node did not answer. */
    readonly version: string;
    readonly link: string;
    readonly offset: number | null;
    readonly lagBytes: number | null;
    readonly lagSeconds: number | null;
    readonly flags: readonly string[];
}

export interface SentinelRow {
    readonly sentinel: string;
    readonly host?: string;
    readonly address: string;
    readonly reachable: boolean;
    readonly master: string;
    readonly quorum: number | null;
    readonly otherSentinels: number | null;
    readonly flags: readonly string[];
}

export interface ClusterAssessment {
    readonly healthy: boolean;
    readonly master: string | null;
    readonly problems: readonly string[];
    /** What is well but must not be forgotten: a password or CA rotation whose second step has not been taken. */
    readonly notices: readonly string[];
    readonly nodes: readonly NodeRow[];
    readonly sentinels: readonly SentinelRow[];
}

/** The host field of a row: only for a node placed on a `dockerHosts` host, so single-host output stays as it was. */
const placedOn = (node: NodeAddress): { host?: string } => (node.host === undefined ? {} : { host: node.host });

const engineVersion = (observation: NodeObservation) =>
    observation.version === undefined ? "?" : `${observation.engine ?? "redis"} ${observation.version}`;

/** Sentinel flags that mean trouble; `master`/`slave` flags only restate the role. */
const troubleFlags = ["s_down", "o_down", "disconnected", "failover_in_progress", "promoted", "reconf_sent", "reconf_inprog"];

/** Turns what every Sentinel and node said into rows and a verdict. Pure, so that every rule is tested directly. */
export function assessCluster(
    description: ClusterDescription,
    sentinels: readonly SentinelObservation[],
    nodes: readonly NodeObservation[],
): ClusterAssessment {
    const problems: string[] = [];
    const answering = sentinels.filter((s) => s.master !== undefined);
    for (const s of sentinels.filter((s) => s.master === undefined)) {
        problems.push(`Sentinel ${s.sentinel.name} did not answer: ${s.error ?? "no reply"}`);
    }
    const majority = Math.floor(description.sentinelNodes.length / 2) + 1;
    if (answering.length < majority) {
        problems.push(
            `only ${answering.length} of ${description.sentinelNodes.length} Sentinels answer; a failover needs ${majority}`,
        );
    }

    const views = [...new Set(answering.map((s) => address(s.master!)))];
    if (views.length > 1) {
        const who = answering.map((s) => `${s.sentinel.name}: ${address(s.master!)}`).join(", ");
        problems.push(`Sentinels disagree on the master (${who})`);
    }
    const master = views.length === 1 ? views[0] : null;

    const masters = nodes.filter((n) => n.role === "master");
    if (masters.length > 1) {
        problems.push(`more than one node reports role master: ${masters.map((n) => n.node.name).join(", ")}`);
    }
    const masterObservation = nodes.find((n) => address(n.node) === master);
    if (master !== null && masterObservation?.role !== undefined && masterObservation.role !== "master") {
        problems.push(`the Sentinels' master ${masterObservation.node.name} reports role ${masterObservation.role}`);
    }

    const sentinelFlagsOf = (nodeAddress: string) => {
        const flags = new Set<string>();
        for (const s of answering) {
            const seen = address(s.master!) === nodeAddress ? s.master : s.replicas?.find((r) => address(r) === nodeAddress);
            seen?.flags.filter((flag) => troubleFlags.includes(flag)).forEach((flag) => flags.add(flag));
        }
        return [...flags].sort();
    };

    const nodeRows = nodes.map((observation): NodeRow => {
        const nodeAddress = address(observation.node);
        const name = observation.node.name;
        const sentinelRoles = sentinels.map((s) => {
            if (s.master === undefined) {
                return "?";
            }
            if (address(s.master) === nodeAddress) {
                return "master";
            }
            return s.replicas?.some((r) => address(r) === nodeAddress) ? "replica" : "?";
        });
        const flags = sentinelFlagsOf(nodeAddress);
        if (flags.length > 0) {
            problems.push(`${name} is flagged ${flags.join(", ")} by the Sentinels`);
        }
        if (observation.error !== undefined || observation.role === undefined) {
            problems.push(`${name} did not answer: ${observation.error ?? "no reply"}`);
            return {
                node: name,
                ...placedOn(observation.node),
                address: nodeAddress,
                sentinelRoles,
                reportedRole: "?",
                version: "?",
                link: "-",
                offset: null,
                lagBytes: null,
                lagSeconds: null,
                flags,
            };
        }
        const unaware = sentinels
            .filter((s, index) => s.master !== undefined && sentinelRoles[index] === "?")
            .map((s) => s.sentinel.name);
        if (unaware.length > 0) {
            // Sentinels learn replicas from the master's INFO (every 0.5 s with the program's image, Sentinel's own
            // period is 10 s); until then they cannot promote it.
            problems.push(`${name} is not known to ${unaware.join(", ")}: it cannot be promoted by them yet`);
        }
        if (observation.role === "master") {
            const lags = Object.values(observation.replicaLagSeconds ?? {});
            return {
                node: name,
                ...placedOn(observation.node),
                address: nodeAddress,
                sentinelRoles,
                reportedRole: "master",
                version: engineVersion(observation),
                link: `${observation.connectedReplicas ?? 0} replicas`,
                offset: observation.offset ?? null,
                lagBytes: null,
                lagSeconds: lags.length ? Math.max(...lags) : null,
                flags,
            };
        }
        if (!observation.linkUp) {
            problems.push(`${name}: link to its master ${observation.masterAddress} is down`);
        } else if (master !== null && observation.masterAddress !== master) {
            problems.push(`${name} replicates from ${observation.masterAddress}, not from the master ${master}`);
        }
        const masterOffset = masterObservation?.offset;
        return {
            node: name,
            ...placedOn(observation.node),
            address: nodeAddress,
            sentinelRoles,
            reportedRole: "replica",
            version: engineVersion(observation),
            link: observation.linkUp ? "up" : "down",
            offset: observation.offset ?? null,
            lagBytes:
                masterOffset !== undefined && observation.offset !== undefined
                    ? Math.max(0, masterOffset - observation.offset)
                    : null,
            lagSeconds: masterObservation?.replicaLagSeconds?.[nodeAddress] ?? null,
            flags,
        };
    });
    if (nodes.length > 0 && masters.length === 0) {
        problems.push("no node reports role master");
    }

    const sentinelRows = sentinels.map((s): SentinelRow => ({
        sentinel: s.sentinel.name,
        ...placedOn(s.sentinel),
        address: address(s.sentinel),
        reachable: s.master !== undefined,
        master: s.master ? address(s.master) : "?",
        quorum: s.master?.quorum ?? null,
        otherSentinels: s.otherSentinels ?? null,
        flags: [
            ...(s.master?.flags.filter((flag) => troubleFlags.includes(flag)) ?? []),
            ...(s.tiltSinceSeconds !== undefined ? ["tilt"] : []),
        ],
    }));
    for (const s of sentinels.filter((s) => s.tiltSinceSeconds !== undefined)) {
        problems.push(
            `${s.sentinel.name} is in TILT mode since ${s.tiltSinceSeconds} s (it was frozen or its clock jumped): it acts on nothing until 30 s after it was last stalled, so a failover that needs its vote waits`,
        );
    }
    for (const row of sentinelRows.filter(
        (r) => r.otherSentinels !== null && r.otherSentinels < description.sentinelNodes.length - 1,
    )) {
        problems.push(
            `${row.sentinel} knows ${row.otherSentinels} other Sentinels, expected ${description.sentinelNodes.length - 1}`,
        );
    }

    problems.push(...strangers(description, answering));

    const unique = [...new Set(problems)];
    return {
        healthy: unique.length === 0,
        master,
        problems: unique,
        notices: rotationNotices(description),
        nodes: nodeRows,
        sentinels: sentinelRows,
    };
}

/**
 * A rotation in progress (an odd step): logins use the new password and every node still accepts the old one until
 * the next step (for the CA: certificates come from the new CA and every node still trusts the old one). Not a
 * problem (the update that finishes it must not be refused), but the old secret is still a way in, so it is said
 * every time.
 */
export function rotationNotices(description: Pick<ClusterDescription, "passwordRotation" | "tlsCaRotation">): string[] {
    const rotating = Object.entries(description.passwordRotation ?? {}).filter(([, rotation]) => rotation?.inProgress);
    const finish = rotating.map(
        ([principal, rotation]) => `pulumi config set ${principal}PasswordRotation ${rotation!.step + 1}`,
    );
    const ca = description.tlsCaRotation;
    const notices: string[] = [];
    if (rotating.length > 0) {
        notices.push(
            `password rotation in progress for ${rotating.map(([principal]) => principal).join(", ")}: every node still ` +
                `accepts the old password; once every client uses the new one (pulumi stack output --show-secrets passwords), ` +
                `finish with \`${finish.join(" && ")} && npm run deploy\``,
        );
    }
    if (ca?.inProgress) {
        notices.push(
            "CA rotation in progress: every node trusts the old CA and the new one and presents a certificate of the new " +
                "one; once every client trusts the new one (pulumi stack output tlsCaCertificate, and the new client " +
                `certificate), finish with \`pulumi config set tlsCaRotation ${ca.step + 1} && npm run deploy\``,
        );
    }
    return notices;
}

/**
 * Peers and replicas a Sentinel knows that the stack does not declare: a Sentinel learned from a forged hello counts
 * as a voter (a failover then needs a majority that cannot be reached), and a stray replica may be promoted.
 */
function strangers(description: ClusterDescription, answering: readonly SentinelObservation[]): string[] {
    const declaredPeer = new Set(
        description.sentinelNodes.map((node) => `${address(node)} ${sentinelMyid(description.masterName, node)}`),
    );
    const declaredNode = new Set(description.redisNodes.map(address));
    const reset = (sentinel: string) =>
        `clear it with \`SENTINEL RESET ${description.masterName}\` on ${sentinel} as admin, one Sentinel at a time, ` +
        "each after the previous one lists its peers and replicas again (or replace its container)";
    return answering.flatMap((observation) => {
        const name = observation.sentinel.name;
        const peers = (observation.peers ?? [])
            .filter((peer) => !declaredPeer.has(`${address(peer)} ${peer.runid}`))
            .map((peer) => `${address(peer)} (runid ${peer.runid.slice(0, 12)})`);
        const replicas = (observation.replicas ?? []).filter((r) => !declaredNode.has(address(r))).map(address);
        return [
            ...(peers.length ? [`${name} knows Sentinels the stack does not declare: ${peers.join(", ")}; ${reset(name)}`] : []),
            ...(replicas.length
                ? [`${name} knows replicas the stack does not declare: ${replicas.join(", ")}; ${reset(name)}`]
                : []),
        ];
    });
}
