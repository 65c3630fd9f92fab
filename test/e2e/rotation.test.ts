/**
 * Rotating every password of a running cluster with two `pulumi up`s (README, "Rotating a password"), and the CA
 * ("Rotating the CA"), while a client writes as the application user and confirms every write with WAIT 1. The first up (an odd rotation step) replaces
 * every container one at a time with files whose logins use each user's standby password, both passwords still
 * accepted; the application then switches to the password the stack outputs now; the second up (the even step)
 * replaces every container again without the old passwords. Checked: both updates finish (no container left
 * unhealthy, the deployer's equivalent of a failed update), the longest write gap, no confirmed write lost, the old
 * passwords still accepted between the two ups, and refused (WRONGPASS) by every node and Sentinel afterwards; for the
 * CA, on a cluster whose nodes demand a client certificate: the old bundle and client certificate still answered between
 * the two ups, and afterwards a client that trusts only the old CA, or shows a certificate of it, refused by every node.
 */
import * as net from "net";
import { Principal, principals } from "../../acl";
import { ClusterDescription, tlsOptionsOf } from "../../tools/lib/cluster";
import { longestGap, missingWrites, startConfirmingWriter, waitHealthy } from "../../tools/lib/failover";
import { assessUntilHealthy } from "../../tools/lib/gate";
import { e2eStackConfig, RunningCluster, startCluster } from "../docker/cluster";
import { ContainerStep, removeLabelled } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { replyOrFirstError } from "../harness/tlsProbes";
import { runProgram } from "../support/pulumiProgram";
import { describeWithEngine, loadProgram, longestGapStory } from "./support";

/**
 * The bound on a write gap, the master's handovers as its container is replaced (the test fails above it):
 * since the handover times its request to the leading Sentinel's INFO (image/entrypoint.sh, plan_request) they
 * measure 0.9-1.5 s here. A longer gap prints what the replaced containers logged around it.
 */
const gapBoundMs = 2000;

/** Every principal's rotation step set to `step`, as `pulumi config set <principal>PasswordRotation` would. */
const rotationStep = (step: number) =>
    Object.fromEntries(principals.map((principal) => [`${principal}PasswordRotation`, String(step)]));

/**
 * How `node` answers AUTH as `user` with `password`: "OK", or the error's first word (WRONGPASS). Plain RESP on a socket
 * of its own: a client library would first send HELLO, which an unauthenticated connection is refused.
 */
function authAnswer(node: { ip: string; port: number }, user: string, password: string): Promise<string> {
    const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
    return new Promise((resolve) => {
        const socket = net.connect({ host: node.ip, port: node.port });
        let answer = "";
        const finish = (result: string) => {
            socket.destroy();
            resolve(result);
        };
        socket.setTimeout(2000, () => finish("TIMEOUT"));
        socket.on("error", (error) => finish(`SOCKET ${error.message}`));
        socket.on("connect", () => socket.write(`*3\r\n${bulk("AUTH")}${bulk(user)}${bulk(password)}`));
        socket.on("data", (chunk) => {
            answer += chunk.toString();
            if (answer.includes("\r\n")) {
                finish(answer.slice(1, answer.indexOf("\r\n")).split(" ")[0]);
            }
        });
    });
}

/** For every node and Sentinel, how it answers each principal's given password: "node user answer" lines. */
async function answers(description: ClusterDescription, passwords: Readonly<Record<Principal, string>>): Promise<string[]> {
    const nodes = [...description.redisNodes, ...description.sentinelNodes];
    const lines = await Promise.all(
        nodes.flatMap((node) =>
            principals.map(async (principal) => {
                const user = principal === "app" ? description.appUser : principal;
                return `${node.name} ${user} ${await authAnswer(node, user, passwords[principal])}`;
            }),
        ),
    );
    return lines.sort();
}

/** What a rotation in two ups did while a client wrote: the stack outputs of each step, and what was measured. */
interface Rotation {
    readonly before: ClusterDescription;
    readonly during: ClusterDescription;
    readonly after: ClusterDescription;
    /** The longest write gap of each up. */
    readonly gaps: readonly number[];
    readonly lost: number;
    readonly confirmed: { old: number; new: number };
    /** The replacements of each up. */
    readonly steps: readonly ContainerStep[][];
    /** What npm run status noted between the two ups, and after the second. */
    readonly notices: { midway: readonly string[]; after: readonly string[] };
    /** Taken between the two ups, before the client switched (the old credentials must still work then). */
    readonly midwayChecks: unknown;
}

/**
 * Starts a cluster with `config`, then takes two rotation steps (`stepConfig(1)`, `stepConfig(2)`) with the deployer
 * while a client writes and confirms every write with WAIT 1: with the first step's outputs until the first up is
 * done, then (as the README tells the application) with the outputs of the first step. `midway` runs between the two
 * ups, before the client switches.
 */
async function rotateWhileWriting(
    config: Readonly<Record<string, string>>,
    stepConfig: (step: number) => Readonly<Record<string, string>>,
    midway: (before: ClusterDescription) => Promise<unknown>,
): Promise<Rotation & { cluster: RunningCluster }> {
    const cluster = await startCluster(loadProgram, config);
    const before = cluster.outputs as unknown as ClusterDescription;
    const first = await runProgram({ ...e2eStackConfig, ...config, ...stepConfig(1) }, loadProgram, [], {}, cluster.program);
    const second = await runProgram({ ...e2eStackConfig, ...config, ...stepConfig(2) }, loadProgram, [], {}, first);
    const during = first.outputs as unknown as ClusterDescription;
    const after = second.outputs as unknown as ClusterDescription;

    await waitHealthy(before, 60_000);
    const started = Date.now();
    const oldWriter = startConfirmingWriter(before, 20, Date.now() + 600_000);
    let newWriter: ReturnType<typeof startConfirmingWriter> | undefined;
    const steps: ContainerStep[][] = [];
    let switchedAt = 0;
    let midwayChecks: unknown;
    let midwayNotices: readonly string[] = [];
    try {
        steps.push(await cluster.deployer.update(first.resources));
        midwayChecks = await midway(before);
        midwayNotices = (await assessUntilHealthy(during, 30_000)).notices;
        newWriter = startConfirmingWriter(during, 20, Date.now() + 600_000);
        const deadline = Date.now() + 30_000;
        while (newWriter.confirmed.length === 0 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        switchedAt = Date.now();
        await oldWriter.stop();
        steps.push(await cluster.deployer.update(second.resources));
    } finally {
        await oldWriter.stop();
        await newWriter?.stop();
    }
    const confirmed = [...oldWriter.confirmed, ...(newWriter?.confirmed ?? [])].sort((a, b) => a.at - b.at);
    const gaps = [
        longestGap(confirmed.filter((write) => write.at <= switchedAt)),
        longestGap(confirmed.filter((write) => write.at >= switchedAt - 5000)),
    ];
    const longest = longestGapStory(confirmed, steps.flat(), started);
    const master = await waitHealthy(after, 60_000);
    const lost = await missingWrites(after, master, confirmed);
    const afterNotices = (await assessUntilHealthy(after, 30_000)).notices;
    console.log(
        `e2e rotation (${Object.keys(stepConfig(1)).join(", ")}): ${Date.now() - started} ms, longest write gap ${gaps[0]} ms in the first up and ${gaps[1]} ms in the second, ` +
            `${confirmed.length} confirmed, ${lost} lost, the client switched ${switchedAt - started} ms in; ` +
            steps
                .map(
                    (run, index) =>
                        `up ${index + 1}: ` +
                        run
                            .map((step) => `${step.name} ${step.op} +${step.startedAt - started}..+${step.doneAt - started} ms`)
                            .join(", "),
                )
                .join("; ") +
            (longest.gap > gapBoundMs
                ? `; the longest gap began at +${longest.from} ms in ${longest.step}'s replacement; the replaced containers' logs around it:\n${longest.story.join("\n")}`
                : ""),
    );
    return {
        cluster,
        before,
        during,
        after,
        gaps,
        lost,
        confirmed: { old: oldWriter.confirmed.length, new: newWriter?.confirmed.length ?? 0 },
        steps,
        notices: { midway: midwayNotices, after: afterNotices },
        midwayChecks,
    };
}

/** What every rotation must show: two finished updates of every container, short gaps, nothing lost. */
function expectSmoothRotation(rotation: Rotation): void {
    expect(rotation.steps.map((run) => run.filter((step) => step.op === "replace").length)).toEqual([6, 6]);
    expect(rotation.lost).toBe(0);
    expect(rotation.confirmed.old).toBeGreaterThan(100);
    expect(rotation.confirmed.new).toBeGreaterThan(100);
    expect(Math.max(...rotation.gaps)).toBeLessThanOrEqual(gapBoundMs);
    expect(rotation.notices.midway).toHaveLength(1);
    expect(rotation.notices.after).toEqual([]);
}

describeWithEngine("rotating every password, and the CA, with two pulumi ups each", () => {
    afterEach(async () => {
        await removeLabelled(connectEngine());
    }, 120_000);

    test(
        "every password while a client writes: no failed update, no confirmed write lost, the old passwords refused everywhere at the end",
        async () => {
            const rotation = await rotateWhileWriting({}, rotationStep, async (before) =>
                (await answers(before, before.passwords)).filter((line) => line.endsWith(" OK")),
            );
            const { before, during, after } = rotation;
            for (const principal of principals) {
                expect({ principal, changed: during.passwords[principal] !== before.passwords[principal] }).toEqual({
                    principal,
                    changed: true,
                });
            }
            // Where each user exists at all (the new password is accepted there): the old one must be refused there.
            const known = (await answers(after, after.passwords)).filter((line) => line.endsWith(" OK"));
            expect(new Set(known.map((line) => line.split(" ")[1])).size).toBe(principals.length);
            // Between the two ups every old password still worked where its user exists.
            expect(rotation.midwayChecks).toEqual(known);
            const refusedAfter = await answers(after, before.passwords);
            for (const line of known) {
                const [node, user] = line.split(" ");
                expect(refusedAfter).toContain(`${node} ${user} WRONGPASS`);
            }
            expect(rotation.notices.midway[0]).toMatch(/^password rotation in progress for admin, replication, .*app: /);
            expectSmoothRotation(rotation);
        },
        15 * 60_000,
    );

    test(
        "the CA while a client writes over TLS with a client certificate: no failed update, no confirmed write lost, the old CA and client certificate refused at the end",
        async () => {
            const config = { tlsEnabled: "true", tlsClientCertificate: "true", tlsAuthClients: "yes" };
            const ping = (description: ClusterDescription, node: { ip: string; port: number }, tlsOptions: object) =>
                replyOrFirstError(node, { username: "admin", password: description.passwords.admin }, tlsOptions, "PING");
            const nodes = (description: ClusterDescription) => [...description.redisNodes, ...description.sentinelNodes];
            const rotation = await rotateWhileWriting(
                config,
                (step) => ({ tlsCaRotation: String(step) }),
                // Between the two ups the old bundle and the old client certificate still work everywhere.
                async (before) => Promise.all(nodes(before).map((node) => ping(before, node, tlsOptionsOf(before)!))),
            );
            const { before, during, after } = rotation;
            expect(during.tlsClientCertificate).not.toBe(before.tlsClientCertificate);
            expect(rotation.midwayChecks).toEqual(nodes(before).map(() => "PONG"));
            const oldCaOnly = before.tlsCaCertificate!.match(
                /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/,
            )![0];
            const newClient = { cert: after.tlsClientCertificate!, key: after.tlsClientKey! };
            for (const node of nodes(after)) {
                expect({ node: node.name, answer: await ping(after, node, tlsOptionsOf(after)!) }).toEqual({
                    node: node.name,
                    answer: "PONG",
                });
                // A client that trusts only the old CA does not trust the node's certificate.
                expect({ node: node.name, answer: await ping(after, node, { ca: oldCaOnly, ...newClient }) }).toEqual({
                    node: node.name,
                    answer: expect.stringMatching(/certificate|verify|self.signed/i),
                });
                // A client certificate of the old CA is refused by the node.
                const oldClient = { ca: after.tlsCaCertificate!, cert: before.tlsClientCertificate!, key: before.tlsClientKey! };
                expect({ node: node.name, answer: await ping(after, node, oldClient) }).not.toEqual({
                    node: node.name,
                    answer: "PONG",
                });
            }
            expect(rotation.notices.midway[0]).toMatch(/^CA rotation in progress: /);
            expectSmoothRotation(rotation);
        },
        15 * 60_000,
    );
});
