/**
 * `npm run deploy` on a machine that lacks what it needs stops at once with one line that says which. The CLI download
 * is checked against a closed loopback port (the tests may not reach get.pulumi.com); PULUMI_HOME is an empty
 * directory, so no CLI is installed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { e2eLabel } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { FakePulumi, installFakePulumi, runDeployScript } from "../support/fakePulumi";
import { describeWithEngine } from "./support";

const repo = path.join(__dirname, "..", "..");

function deploy(env: Record<string, string>): { status: number | null; stderr: string; stdout: string; ms: number } {
    const started = Date.now();
    const result = spawnSync("bash", ["scripts/deploy.sh", "up"], {
        cwd: repo,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: "not-a-secret", ...env },
    });
    return { status: result.status, stderr: result.stderr, stdout: result.stdout, ms: Date.now() - started };
}

/** A loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

describe("npm run deploy without a Docker engine", () => {
    test("stops at once with one line naming the engine it could not reach", () => {
        const result = deploy({ DOCKER_HOST: "unix:///nonexistent/docker.sock" });
        expect(result.status).toBe(2);
        expect(result.stderr.trim().split("\n")).toEqual([
            expect.stringMatching(/^deploy: no Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock \(.+\)/),
        ]);
        expect(result.ms).toBeLessThan(30_000);
    }, 60_000);
});

describe("npm run deploy with a Docker host that does not answer", () => {
    test("stops at once with one line naming the setting, the host and its endpoint", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
        const stackFile = path.join(dir, "Pulumi.hosts.yaml");
        fs.writeFileSync(
            stackFile,
            [
                "config:",
                "  redis-sentinel:dockerHosts:",
                "    - dc1=10.77.9.11 unix:///nonexistent/dc1.sock",
                "  redis-sentinel:redisNodes: [redis1=dc1:6379]",
                "  redis-sentinel:sentinelNodes: [sentinel1=dc1:26379]",
                "  redis-sentinel:quorum: 1",
                "  redis-sentinel:minReplicasToWrite: 0",
                "",
            ].join("\n"),
        );
        try {
            const started = Date.now();
            const result = spawnSync(
                "npx",
                ["--no-install", "ts-node", "--transpile-only", "scripts/preflight.ts", "--stack-file", stackFile],
                {
                    cwd: repo,
                    encoding: "utf8",
                    timeout: 60_000,
                },
            );
            expect(result.status).toBe(2);
            expect(result.stderr.trim().split("\n")).toEqual([
                expect.stringMatching(
                    /^deploy: `dockerHosts` host dc1: no Docker engine answers at unix:\/\/\/nonexistent\/dc1\.sock \(.+\)$/,
                ),
            ]);
            expect(Date.now() - started).toBeLessThan(30_000);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 60_000);
});

describeWithEngine("npm run deploy offline", () => {
    test("stops at once with one line saying the pinned Pulumi CLI is not installed and cannot be downloaded", async () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-home-"));
        const port = await closedPort();
        try {
            const result = deploy({ PULUMI_HOME: home, PULUMI_CLI_DOWNLOAD_URL: `https://127.0.0.1:${port}/install.sh` });
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- the pinned version, as the script reads it
            const version: string = require("pulumi/package.json").version;
            expect(result.status).toBe(2);
            expect(result.stderr.trim().split("\n")).toEqual([
                expect.stringContaining(
                    `deploy: the Pulumi CLI ${version} is not installed (${home}/versions/${version}/bin/pulumi) and cannot be downloaded`,
                ),
            ]);
            expect(result.stdout).not.toContain("backend");
            expect(result.ms).toBeLessThan(30_000);
        } finally {
            fs.rmSync(home, { recursive: true, force: true });
        }
    }, 60_000);
});

describeWithEngine("npm run deploy and destroy, with the Pulumi CLI stood in for", () => {
    let pulumi: FakePulumi;
    let stateDir: string;

    beforeEach(() => {
        pulumi = installFakePulumi();
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-state-"));
    });
    afterEach(() => {
        pulumi.remove();
        fs.rmSync(stateDir, { recursive: true, force: true });
    });
    const env = () => ({ PULUMI_HOME: pulumi.home, PULUMI_BACKEND_URL: `file://${stateDir}/backend` });

    test("a first deploy creates the file backend's directory, checks no health (no cluster yet) and runs pulumi up", async () => {
        const result = await runDeployScript(["up"], env());
        expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
        expect(fs.statSync(`${stateDir}/backend`).isDirectory()).toBe(true);
        expect(pulumi.calls()).toEqual(["stack select --create dev", "stack output --json --stack dev", "up --yes --stack dev"]);
    }, 120_000);

    test("destroy --volumes reads the volumes from the outputs before the destroy, then removes each", async () => {
        const docker = connectEngine();
        const names = ["deploytest-redis-1", "deploytest-sentinel-1"];
        for (const name of names) {
            await docker.createVolume({ Name: `${name}-data`, Labels: { [e2eLabel]: "true" } });
        }
        pulumi.setOutputs({ redisNodes: [{ name: names[0] }], sentinelNodes: [{ name: names[1] }] });
        const result = await runDeployScript(["destroy", "--volumes"], env());
        expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
        expect(pulumi.calls()).toEqual([
            "stack select --create dev",
            "stack output --json --stack dev",
            "destroy --yes --stack dev",
        ]);
        const { Volumes } = await docker.listVolumes({ filters: JSON.stringify({ name: ["deploytest-"] }) });
        expect((Volumes ?? []).map((volume) => volume.Name)).toEqual([]);
    }, 120_000);

    test("destroy --volumes stops before destroying anything when the outputs cannot be read", async () => {
        pulumi.remove();
        pulumi = installFakePulumi({ failOutputs: true });
        const result = await runDeployScript(["destroy", "--volumes"], env());
        expect(result.status).not.toBe(0);
        expect(pulumi.calls()).toEqual(["stack select --create dev", "stack output --json --stack dev"]);
    }, 120_000);

    test("an unknown option is refused with one line, before anything runs", async () => {
        const result = await runDeployScript(["up", "--volumes"], env());
        expect(result.status).toBe(2);
        expect(result.stderr.trim().split("\n")).toEqual([
            "deploy: unknown option '--volumes' for up (up takes --force, destroy takes --volumes)",
        ]);
        expect(pulumi.calls()).toEqual([]);
    }, 60_000);

    test("PULUMI_VERSION picks the CLI the launcher runs, and preflight checks that one", async () => {
        const port = await closedPort();
        const result = await runDeployScript(["up"], {
            ...env(),
            PULUMI_VERSION: "3.1.0",
            PULUMI_CLI_DOWNLOAD_URL: `https://127.0.0.1:${port}/install.sh`,
        });
        expect(result.status).toBe(2);
        expect(result.stderr).toContain(
            `deploy: the Pulumi CLI 3.1.0 is not installed (${pulumi.home}/versions/3.1.0/bin/pulumi)`,
        );
        expect(pulumi.calls()).toEqual([]);
    }, 60_000);
});
