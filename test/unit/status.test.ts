import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { principals } from "../../acl";
import { assessCluster, NodeObservation, SentinelObservation } from "../../tools/lib/assess";
import { ClusterDescription } from "../../tools/lib/cluster";
import { nodeObservationFromInfo, parseInfo } from "../../tools/lib/observe";
import { formatAssessment } from "../../tools/lib/report";
import { sentinelMyid } from "../../render";

const node = (name: string, last: number, port: number) => ({ name, ip: `10.0.0.${last}`, port });
const [r1, r2, r3] = [node("redis1", 10, 6379), node("redis2", 11, 6380), node("redis3", 12, 6381)];
const sentinelNodes = [node("sentinel1", 20, 26379), node("sentinel2", 21, 26379), node("sentinel3", 22, 26379)];
const description: ClusterDescription = {
    masterName: "mymaster",
    network: "redisnet",
    redisNodes: [
        { ...r1, role: "master" },
        { ...r2, role: "replica" },
        { ...r3, role: "replica" },
    ],
    sentinelNodes,
    appUser: "app",
    passwords: Object.fromEntries(principals.map((p) => [p, "x"])) as ClusterDescription["passwords"],
};

/** The declared peers of a Sentinel, with the ids the program renders for them. */
const declaredPeers = (self: (typeof sentinelNodes)[number]) =>
    sentinelNodes
        .filter((peer) => peer !== self)
        .map((peer) => ({ ip: peer.ip, port: peer.port, runid: sentinelMyid("mymaster", peer) }));
const sentinelSees = (master: typeof r1, replicas = [r1, r2, r3].filter((n) => n !== master), flags: string[] = []) =>
    sentinelNodes.map((sentinel): SentinelObservation => ({
        sentinel,
        master: { ip: master.ip, port: master.port, flags: ["master", ...flags], quorum: 2 },
        otherSentinels: 2,
        replicas: replicas.map((r) => ({ ip: r.ip, port: r.port, flags: ["slave"] })),
        peers: declaredPeers(sentinel),
    }));
const healthyNodes = (): NodeObservation[] => [
    {
        node: r1,
        role: "master",
        version: "7.4.6",
        offset: 1000,
        connectedReplicas: 2,
        replicaLagSeconds: { "10.0.0.11:6380": 0, "10.0.0.12:6381": 1 },
    },
    { node: r2, role: "replica", version: "7.4.6", offset: 1000, masterAddress: "10.0.0.10:6379", linkUp: true },
    { node: r3, role: "replica", version: "7.4.6", offset: 900, masterAddress: "10.0.0.10:6379", linkUp: true },
];

describe("assessCluster", () => {
    it("finds a healthy cluster healthy and fills every column", () => {
        const assessment = assessCluster(description, sentinelSees(r1), healthyNodes());
        expect(assessment.problems).toEqual([]);
        expect(assessment.healthy).toBe(true);
        expect(assessment.master).toBe("10.0.0.10:6379");
        expect(assessment.nodes[0]).toMatchObject({
            node: "redis1",
            sentinelRoles: ["master", "master", "master"],
            reportedRole: "master",
            link: "2 replicas",
            lagSeconds: 1,
        });
        expect(assessment.nodes[2]).toMatchObject({
            node: "redis3",
            sentinelRoles: ["replica", "replica", "replica"],
            link: "up",
            offset: 900,
            lagBytes: 100,
            lagSeconds: 1,
        });
        expect(assessment.sentinels.map((s) => [s.sentinel, s.master, s.quorum, s.otherSentinels])).toEqual(
            sentinelNodes.map((s) => [s.name, "10.0.0.10:6379", 2, 2]),
        );
    });

    it.each<[string, () => [SentinelObservation[], NodeObservation[]], string]>([
        [
            "a Sentinel that does not answer",
            () => [[{ sentinel: sentinelNodes[0], error: "connect ECONNREFUSED" }, ...sentinelSees(r1).slice(1)], healthyNodes()],
            "Sentinel sentinel1 did not answer: connect ECONNREFUSED",
        ],
        [
            "too few Sentinels for a failover",
            () => [
                [...sentinelSees(r1).slice(0, 1), ...sentinelNodes.slice(1).map((sentinel) => ({ sentinel, error: "timeout" }))],
                healthyNodes(),
            ],
            "only 1 of 3 Sentinels answer; a failover needs 2",
        ],
        [
            "Sentinels that disagree",
            () => [[...sentinelSees(r1).slice(0, 2), sentinelSees(r2)[2]], healthyNodes()],
            "Sentinels disagree on the master (sentinel1: 10.0.0.10:6379, sentinel2: 10.0.0.10:6379, sentinel3: 10.0.0.11:6380)",
        ],
        [
            "two masters",
            () => {
                const nodes = healthyNodes();
                nodes[1] = { node: r2, role: "master", offset: 5, connectedReplicas: 0, replicaLagSeconds: {} };
                return [sentinelSees(r1), nodes];
            },
            "more than one node reports role master: redis1, redis2",
        ],
        [
            "no master at all",
            () => [
                sentinelSees(r1),
                healthyNodes().map((n) => ({ ...n, role: "replica" as const, linkUp: false, masterAddress: "10.0.0.99:1" })),
            ],
            "no node reports role master",
        ],
        [
            "a master down in the Sentinels' eyes",
            () => [sentinelSees(r1, [r2, r3], ["s_down", "o_down"]), healthyNodes()],
            "redis1 is flagged o_down, s_down by the Sentinels",
        ],
        [
            "a replica whose link is down",
            () => {
                const nodes = healthyNodes();
                nodes[2] = { ...nodes[2], linkUp: false };
                return [sentinelSees(r1), nodes];
            },
            "redis3: link to its master 10.0.0.10:6379 is down",
        ],
        [
            "a replica of the wrong master",
            () => {
                const nodes = healthyNodes();
                nodes[2] = { ...nodes[2], masterAddress: "10.0.0.11:6380" };
                return [sentinelSees(r1), nodes];
            },
            "redis3 replicates from 10.0.0.11:6380, not from the master 10.0.0.10:6379",
        ],
        [
            "a node that does not answer",
            () => [sentinelSees(r1), [...healthyNodes().slice(0, 2), { node: r3, error: "connect ETIMEDOUT" }]],
            "redis3 did not answer: connect ETIMEDOUT",
        ],
        [
            "replicas the Sentinels have not discovered yet",
            () => [sentinelSees(r1, [r2]), healthyNodes()],
            "redis3 is not known to sentinel1, sentinel2, sentinel3: it cannot be promoted by them yet",
        ],
        [
            "a Sentinel that lost its peers",
            () => [sentinelSees(r1).map((s, i) => (i === 0 ? { ...s, otherSentinels: 1 } : s)), healthyNodes()],
            "sentinel1 knows 1 other Sentinels, expected 2",
        ],
    ])("reports %s as unhealthy", (_, observe, problem) => {
        const [sentinels, nodes] = observe();
        const assessment = assessCluster(description, sentinels, nodes);
        expect(assessment.healthy).toBe(false);
        expect(assessment.problems).toContain(problem);
        expect(formatAssessment(assessment)).toContain(`UNHEALTHY:\n`);
    });
});

describe("assessCluster and the declared topology", () => {
    it("flags a Sentinel that knows a peer the stack does not declare, and says how to clear it", () => {
        const sentinels = sentinelSees(r1);
        const fake = { ip: "127.0.0.1", port: 26999, runid: "f".repeat(40) };
        sentinels[1] = { ...sentinels[1], otherSentinels: 3, peers: [...declaredPeers(sentinelNodes[1]), fake] };
        const assessment = assessCluster(description, sentinels, healthyNodes());
        expect(assessment.healthy).toBe(false);
        expect(assessment.problems).toEqual([
            "sentinel2 knows Sentinels the stack does not declare: 127.0.0.1:26999 (runid ffffffffffff); clear it with `SENTINEL RESET mymaster` on sentinel2 as admin, one Sentinel at a time, each after the previous one lists its peers and replicas again (or replace its container)",
        ]);
    });

    it("flags a declared address with another run id, and a replica the stack does not declare", () => {
        const sentinels = sentinelSees(r1);
        const impostor = { ip: sentinelNodes[1].ip, port: sentinelNodes[1].port, runid: "0".repeat(40) };
        sentinels[0] = {
            ...sentinels[0],
            peers: [impostor, declaredPeers(sentinelNodes[0])[1]],
            replicas: [...sentinels[0].replicas!, { ip: "10.0.0.99", port: 6379, flags: ["slave"] }],
        };
        const problems = assessCluster(description, sentinels, healthyNodes()).problems;
        expect(problems).toHaveLength(2);
        expect(problems[0]).toMatch(
            /^sentinel1 knows Sentinels the stack does not declare: 10\.0\.0\.21:26379 \(runid 000000000000\)/,
        );
        expect(problems[1]).toMatch(/^sentinel1 knows replicas the stack does not declare: 10\.0\.0\.99:6379; clear it with/);
    });
});

describe("assessCluster and TILT mode", () => {
    it("flags a Sentinel in TILT mode, in its row and in the verdict", () => {
        const sentinels = sentinelSees(r1);
        sentinels[2] = { ...sentinels[2], tiltSinceSeconds: 12 };
        const assessment = assessCluster(description, sentinels, healthyNodes());
        expect(assessment.sentinels[2].flags).toEqual(["tilt"]);
        expect(assessment.problems).toEqual([
            "sentinel3 is in TILT mode since 12 s (it was frozen or its clock jumped): it acts on nothing until 30 s after it was last stalled, so a failover that needs its vote waits",
        ]);
    });
});

describe("the status table", () => {
    it("shows one aligned row per node and per Sentinel, then the verdict", () => {
        const text = formatAssessment(assessCluster(description, sentinelSees(r1), healthyNodes()));
        const lines = text.split("\n");
        expect(lines[0]).toMatch(/^NODE\s+ADDRESS\s+SENTINELS SAY\s+NODE SAYS\s+ENGINE\s+LINK\s+OFFSET\s+LAG\s+LAG S\s+FLAGS$/);
        expect(lines[2]).toMatch(
            /^redis1\s+10\.0\.0\.10:6379\s+master \(all\)\s+master\s+redis 7\.4\.6\s+2 replicas\s+1000\s+-\s+1 s\s+-$/,
        );
        expect(lines[4]).toMatch(
            /^redis3\s+10\.0\.0\.12:6381\s+replica \(all\)\s+replica\s+redis 7\.4\.6\s+up\s+900\s+100 B\s+1 s\s+-$/,
        );
        expect(lines[0].indexOf("ADDRESS")).toBe(lines[4].indexOf("10.0.0.12"));
        expect(text).toContain("sentinel3  10.0.0.22:26379  yes      10.0.0.10:6379  2       2      -");
        expect(lines[lines.length - 1]).toBe("HEALTHY: master 10.0.0.10:6379, every Sentinel agrees, every replica in sync");
    });
});

describe("the status of a password rotation", () => {
    it("is healthy, and says which rotations are in progress and the commands that finish them", () => {
        const rotating: ClusterDescription = {
            ...description,
            passwordRotation: {
                replication: { step: 1, inProgress: true },
                app: { step: 3, inProgress: true },
                admin: { step: 2, inProgress: false },
            },
        };
        const assessment = assessCluster(rotating, sentinelSees(r1), healthyNodes());
        expect(assessment.healthy).toBe(true);
        expect(assessment.notices).toHaveLength(1);
        const text = formatAssessment(assessment);
        expect(text).toMatch(
            /^NOTE: password rotation in progress for replication, app: every node still accepts the old password/m,
        );
        expect(text).toContain(
            "`pulumi config set replicationPasswordRotation 2 && pulumi config set appPasswordRotation 4 && npm run deploy`",
        );
        expect(text).not.toMatch(/admin/);
    });

    it("says nothing when no rotation is in progress, or the outputs predate rotations", () => {
        const settled: ClusterDescription = { ...description, passwordRotation: { app: { step: 2, inProgress: false } } };
        expect(assessCluster(settled, sentinelSees(r1), healthyNodes()).notices).toEqual([]);
        expect(assessCluster(description, sentinelSees(r1), healthyNodes()).notices).toEqual([]);
    });
});

describe("INFO replication parsing", () => {
    it("reads a master's replicas and a replica's link", () => {
        const master = parseInfo(
            "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.11,port=6380,state=online,offset=42,lag=1\r\nmaster_repl_offset:42\r\n",
        );
        expect(nodeObservationFromInfo(r1, master)).toEqual({
            node: r1,
            role: "master",
            engine: "redis",
            offset: 42,
            connectedReplicas: 1,
            replicaLagSeconds: { "10.0.0.11:6380": 1 },
        });
        const replica = parseInfo(
            "role:slave\r\nmaster_host:10.0.0.10\r\nmaster_port:6379\r\nmaster_link_status:down\r\nslave_repl_offset:40\r\n",
        );
        expect(nodeObservationFromInfo(r2, replica)).toEqual({
            node: r2,
            role: "replica",
            engine: "redis",
            offset: 40,
            masterAddress: "10.0.0.10:6379",
            linkUp: false,
        });
    });

    it("names the engine and its own version: Valkey reports valkey_version beside the Redis version it is compatible with", () => {
        const valkey = parseInfo(
            "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.1.1\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n",
        );
        expect(nodeObservationFromInfo(r1, valkey)).toEqual(expect.objectContaining({ engine: "valkey", version: "8.1.1" }));
        const redis = parseInfo("# Server\r\nredis_version:8.0.2\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
        expect(nodeObservationFromInfo(r1, redis)).toEqual(expect.objectContaining({ engine: "redis", version: "8.0.2" }));
    });
});

describe("npm run status and npm run drill exit codes", () => {
    const root = path.join(__dirname, "..", "..");
    const run = (tool: string, args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile(
                "npx",
                ["ts-node", "--transpile-only", tool, ...args],
                { cwd: root, timeout: 60_000 },
                (error, stdout, stderr) =>
                    resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
            );
        });
    const status = (args: string[]) => run("tools/status.ts", args);
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "status-"));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("exits 1 with the problems when nothing answers", async () => {
        // Loopback ports with nothing listening: every connection is refused at once.
        const closed = (name: string, port: number) => ({ name, ip: "127.0.0.1", port });
        const file = path.join(dir, "down.json");
        fs.writeFileSync(
            file,
            JSON.stringify({
                ...description,
                redisNodes: [{ ...closed("redis1", 1), role: "master" }],
                sentinelNodes: [closed("sentinel1", 2)],
            }),
        );
        const result = await status(["--from", file, "--json"]);
        expect(result.code).toBe(1);
        const assessment = JSON.parse(result.stdout);
        expect(assessment.healthy).toBe(false);
        expect(assessment.problems).toEqual(
            expect.arrayContaining([
                expect.stringMatching(/^Sentinel sentinel1 did not answer/),
                expect.stringMatching(/^redis1 did not answer/),
            ]),
        );
    }, 60_000);

    it("exits 2 when the description cannot be read", async () => {
        const file = path.join(dir, "partial.json");
        fs.writeFileSync(file, JSON.stringify({ masterName: "mymaster" }));
        const result = await status(["--from", file]);
        expect(result.code).toBe(2);
        expect(result.stderr).toContain("lacks redisNodes, sentinelNodes, passwords");
    }, 60_000);

    it("drill refuses to touch a cluster that is not healthy, and exits 2", async () => {
        const file = path.join(dir, "down-for-drill.json");
        const closed = (name: string, port: number) => ({ name, ip: "127.0.0.1", port });
        fs.writeFileSync(
            file,
            JSON.stringify({
                ...description,
                redisNodes: [{ ...closed("redis1", 1), role: "master" }],
                sentinelNodes: [closed("sentinel1", 2)],
            }),
        );
        const result = await run("tools/drill.ts", ["--from", file, "--timeout", "5"]);
        expect(result.code).toBe(2);
        expect(result.stderr).toContain("refusing to run: the cluster is not healthy");
        expect(result.stdout).not.toContain("freezing");
    }, 60_000);
});

describe("the status table of a cluster on several hosts", () => {
    it("names each node's host in a HOST column, and leaves a single-host table without one", () => {
        const placed = <T extends { name: string }>(nodes: readonly T[]) =>
            nodes.map((n, index) => ({ ...n, host: `dc${index + 1}` }));
        const [p1, p2, p3] = placed([r1, r2, r3]);
        const sentinels = sentinelSees(p1).map((observation, index) => ({
            ...observation,
            sentinel: { ...observation.sentinel, host: `dc${index + 1}` },
        }));
        const nodes = healthyNodes().map((observation, index) => ({ ...observation, node: [p1, p2, p3][index] }));
        const assessment = assessCluster(description, sentinels, nodes);
        expect(assessment.nodes.map((row) => row.host)).toEqual(["dc1", "dc2", "dc3"]);
        expect(assessment.sentinels.map((row) => row.host)).toEqual(["dc1", "dc2", "dc3"]);
        const lines = formatAssessment(assessment).split("\n");
        expect(lines[0]).toMatch(/^NODE\s+HOST\s+ADDRESS\s+SENTINELS SAY/);
        expect(lines[3]).toMatch(/^redis2\s+dc2\s+10\.0\.0\.11:6380\s/);
        expect(lines.find((line) => line.startsWith("SENTINEL "))).toMatch(/^SENTINEL\s+HOST\s+ADDRESS/);
        const single = formatAssessment(assessCluster(description, sentinelSees(r1), healthyNodes()));
        expect(single).not.toContain("HOST");
        expect(assessCluster(description, sentinelSees(r1), healthyNodes()).nodes.every((row) => !("host" in row))).toBe(true);
    });
});
