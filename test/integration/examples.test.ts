/**
 * The examples in examples/ run as a user runs them (`npm run example:ioredis -- --outputs FILE`), against real
 * processes, through a failover: each must connect through the Sentinels, write, print the failover it rode
 * through with the master the Sentinels elected, and exit 0. So the examples cannot rot.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pollUntil } from "../../tools/lib/poll";
import { LocalCluster, startLocalCluster } from "../harness/localCluster";

const repository = path.join(__dirname, "..", "..");
const examples = ["ioredis", "node-redis"] as const;

interface Running {
    readonly child: ChildProcess;
    output: string;
    readonly exited: Promise<number | null>;
}

/** Starts `npm run example:<name>` with the outputs file, bounded by --seconds. */
function startExample(name: string, outputs: string, seconds: number): Running {
    const child = spawn(
        "npm",
        ["run", "-s", `example:${name}`, "--", "--outputs", outputs, "--seconds", String(seconds), "--interval", "50"],
        {
            cwd: repository,
            stdio: ["ignore", "pipe", "pipe"],
        },
    );
    const running: Running = {
        child,
        output: "",
        exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
    };
    child.stdout?.on("data", (chunk: Buffer) => (running.output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (running.output += chunk.toString()));
    return running;
}

describe("the examples ride through a failover on real processes", () => {
    let cluster: LocalCluster;
    let directory: string;
    const running = new Map<string, Running>();

    beforeAll(async () => {
        cluster = await startLocalCluster();
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "examples-"));
    }, 30_000);

    afterAll(async () => {
        for (const { child } of running.values()) {
            child.kill("SIGKILL");
        }
        await cluster?.stop();
        fs.rmSync(directory, { recursive: true, force: true });
    }, 30_000);

    test("both examples connect, write, print the failover to the elected master, and exit 0", async () => {
        const outputs = path.join(directory, "outputs.json");
        cluster.writeDescription(outputs);
        const oldMaster = cluster.redisNodes[0];
        for (const name of examples) {
            running.set(name, startExample(name, outputs, 40));
        }
        await pollUntil(
            "both examples to be writing",
            async () =>
                [...running.values()].every((run) => run.output.includes("connected through the Sentinels")) ? true : undefined,
            { timeoutMs: 30_000 },
        );
        cluster.freeze(oldMaster.name);
        let newMaster = "";
        try {
            newMaster = await pollUntil(
                "every Sentinel to name a new master",
                () => cluster.newMasterAgreed(`${oldMaster.ip}:${oldMaster.port}`),
                { timeoutMs: 30_000 },
            );
            await pollUntil(
                "both examples to report the failover",
                async () => ([...running.values()].every((run) => run.output.includes("failover:")) ? true : undefined),
                { timeoutMs: 10_000 },
            );
        } finally {
            cluster.thaw(oldMaster.name);
        }
        for (const name of examples) {
            const run = running.get(name)!;
            const code = await pollUntil(`example ${name} to exit`, async () => run.child.exitCode ?? undefined, {
                timeoutMs: 40_000,
            });
            const failover = new RegExp(
                `^${name}: failover: the master moved from ${oldMaster.ip}:${oldMaster.port} to ${newMaster};`,
                "m",
            );
            const report = { name, code, output: run.output };
            expect({
                ...report,
                failover: failover.test(run.output),
                done: /: done: [1-9]\d* writes, .*1 failover\(s\)/.test(run.output),
            }).toEqual({
                ...report,
                code: 0,
                failover: true,
                done: true,
            });
            // The outputs file holds every password; the examples print none of them.
            for (const secret of Object.values(cluster.passwords)) {
                expect(run.output).not.toContain(secret);
            }
        }
    }, 120_000);
});
