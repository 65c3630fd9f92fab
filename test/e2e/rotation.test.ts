/**
 * Rotating every password of a running cluster with two `pulumi up`s (README, "Rotating a password"), while a client
 * writes as the application user and confirms every write with WAIT 1. The first up (an odd rotation step) replaces
 * every container one at a time with files whose logins use each user's standby password, both passwords still
 * accepted; the application then switches to the password the stack outputs now; the second up (the even step)
 * replaces every container again without the old passwords. Checked: both updates finish (no container left
 * unhealthy, the deployer's equivalent of a failed update), the longest write gap, no confirmed write lost, the old
 * passwords still accepted between the two ups, and refused (WRONGPASS) by every node and Sentinel afterwards.
 */
import * as net from "net";
import { Principal, principals } from "../../acl";
import { ClusterDescription } from "../../tools/lib/cluster";
import { longestGap, missingWrites, startConfirmingWriter, waitHealthy } from "../../tools/lib/failover";
import { assessUntilHealthy } from "../../tools/lib/gate";
import { e2eStackConfig, startCluster } from "../docker/cluster";
import { ContainerStep, removeLabelled } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { runProgram } from "../support/pulumiProgram";
import { describeWithEngine, loadProgram } from "./support";

/** The bound on a write gap: the master's handovers as its container is replaced. */
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

describeWithEngine("rotating every password with two pulumi ups", () => {
    afterEach(async () => {
        await removeLabelled(connectEngine());
    }, 120_000);

    test(
        "while a client writes: no failed update, no confirmed write lost, the old passwords refused everywhere at the end",
        async () => {
            const cluster = await startCluster(loadProgram);
            const before = cluster.outputs as unknown as ClusterDescription;
            const first = await runProgram({ ...e2eStackConfig, ...rotationStep(1) }, loadProgram, [], {}, cluster.program);
            const second = await runProgram({ ...e2eStackConfig, ...rotationStep(2) }, loadProgram, [], {}, first);
            const during = first.outputs as unknown as ClusterDescription;
            const after = second.outputs as unknown as ClusterDescription;
            for (const principal of principals) {
                expect({ principal, changed: during.passwords[principal] !== before.passwords[principal] }).toEqual({
                    principal,
                    changed: true,
                });
            }
            // Where each user exists at all (the right password is accepted): the old password must be refused there.
            const known = (await answers(before, before.passwords)).filter((line) => line.endsWith(" OK"));
            expect(new Set(known.map((line) => line.split(" ")[1])).size).toBe(principals.length);

            await waitHealthy(before, 60_000);
            const started = Date.now();
            const oldWriter = startConfirmingWriter(before, 20, Date.now() + 600_000);
            let newWriter: ReturnType<typeof startConfirmingWriter> | undefined;
            const steps: ContainerStep[][] = [];
            let switchedAt = 0;
            let oldStillAccepted: string[] = [];
            let midway: string[] = [];
            try {
                steps.push(await cluster.deployer.update(first.resources));
                // Between the two ups both passwords work; the application switches to the one the stack outputs now.
                oldStillAccepted = (await answers(before, before.passwords)).filter((line) => line.endsWith(" OK"));
                // npm run status says so, and how to finish.
                midway = (await assessUntilHealthy(during, 30_000)).notices as string[];
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
            const master = await waitHealthy(after, 60_000);
            const lost = await missingWrites(after, master, confirmed);
            const refusedAfter = await answers(after, before.passwords);
            const acceptedAfter = (await answers(after, after.passwords)).filter((line) => line.endsWith(" OK"));
            console.log(
                `e2e rotation of every password: ${Date.now() - started} ms, longest write gap ${gaps[0]} ms in the first up and ${gaps[1]} ms in the second, ` +
                    `${confirmed.length} confirmed, ${lost} lost, the client switched ${switchedAt - started} ms in; ` +
                    steps
                        .map(
                            (run, index) =>
                                `up ${index + 1}: ` +
                                run
                                    .map(
                                        (step) =>
                                            `${step.name} ${step.op} +${step.startedAt - started}..+${step.doneAt - started} ms`,
                                    )
                                    .join(", "),
                        )
                        .join("; "),
            );
            expect(steps.map((run) => run.filter((step) => step.op === "replace").length)).toEqual([6, 6]);
            expect(oldStillAccepted).toEqual(known);
            expect(midway).toEqual([expect.stringMatching(/^password rotation in progress for admin, replication, .*app: /)]);
            expect((await assessUntilHealthy(after, 30_000)).notices).toEqual([]);
            expect(acceptedAfter).toEqual(known);
            for (const line of known) {
                const [node, user] = line.split(" ");
                expect(refusedAfter).toContain(`${node} ${user} WRONGPASS`);
            }
            expect(lost).toBe(0);
            expect(oldWriter.confirmed.length).toBeGreaterThan(100);
            expect(newWriter!.confirmed.length).toBeGreaterThan(100);
            expect(Math.max(...gaps)).toBeLessThanOrEqual(gapBoundMs);
        },
        15 * 60_000,
    );
});
