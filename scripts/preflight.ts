/**
 * Runs before `npm run deploy` / `npm run destroy` hand over to the Pulumi CLI, and checks the two things without which
 * the CLI fails slowly or obscurely: the Docker engines (the local one, or with `dockerHosts` in the stack file every
 * host's, through its endpoint) answering, and the Pulumi CLI of the version this project pins (the `pulumi`
 * devDependency, or PULUMI_VERSION when set, as the launcher honours it), installed or downloadable. On the first
 * problem it prints one line saying which and exits 2; otherwise it exits 0. `--stack-file FILE` names the stack
 * file (default Pulumi.dev.yaml, the stack deploy.sh uses).
 *
 * The npm package `pulumi` is a launcher: on first use it downloads the CLI from get.pulumi.com into
 * $PULUMI_HOME/versions/<version>/bin. `PULUMI_CLI_DOWNLOAD_URL` overrides where the download is checked (the tests
 * point it at a closed loopback port, since they may not reach the internet).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import Docker from "dockerode";
import { loadSettings, stackFileReader } from "../settings";
import { engineAt } from "../tools/lib/hostFault";
import { withTimeout } from "../tools/lib/poll";

const checkTimeoutMs = 5000;

/** The stack's Docker hosts, or none when it has none (or when its settings are bad: the program then says why). */
function stackHosts(stackFile: string) {
    if (!fs.existsSync(stackFile)) {
        return [];
    }
    try {
        return loadSettings(stackFileReader(stackFile)).topology.hosts;
    } catch {
        return [];
    }
}

/** The first host of `dockerHosts` whose engine does not answer, named with its endpoint and the reason. */
async function hostsProblem(stackFile: string): Promise<string | undefined> {
    for (const host of stackHosts(stackFile)) {
        try {
            await withTimeout("ping", engineAt(host.endpoint).ping(), checkTimeoutMs);
        } catch (error) {
            return `\`dockerHosts\` host ${host.name}: no Docker engine answers at ${host.endpoint} (${(error as Error).message})`;
        }
    }
    return undefined;
}

async function dockerProblem(stackFile: string): Promise<string | undefined> {
    if (stackHosts(stackFile).length > 0) {
        return hostsProblem(stackFile);
    }
    const where = process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
    try {
        await withTimeout("ping", new Docker().ping(), checkTimeoutMs);
        return undefined;
    } catch (error) {
        return `no Docker engine answers at ${where} (${(error as Error).message}); start one, or point DOCKER_HOST at one`;
    }
}

async function cliProblem(): Promise<string | undefined> {
    // The launcher runs PULUMI_VERSION when set (node_modules/pulumi/lib/resolve.js), else its own version, the pinned one.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the launcher's version is the pinned CLI version
    const version: string = process.env.PULUMI_VERSION || require("pulumi/package.json").version;
    const home = process.env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
    const binary = path.join(home, "versions", version, "bin", "pulumi");
    try {
        fs.accessSync(binary, fs.constants.X_OK);
        return undefined;
    } catch {
        // Not installed yet: the launcher will download it.
    }
    const url = process.env.PULUMI_CLI_DOWNLOAD_URL || "https://get.pulumi.com/install.sh";
    try {
        const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(checkTimeoutMs) });
        if (!response.ok) {
            throw new Error(`HTTP ${response.status}`);
        }
        return undefined;
    } catch (error) {
        const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
        return (
            `the Pulumi CLI ${version} is not installed (${binary}) and cannot be downloaded: ${url} does not answer (${cause}); ` +
            "run once where the internet is reachable, or install it by hand (https://www.pulumi.com/docs/install/)"
        );
    }
}

async function main(): Promise<void> {
    const { values } = parseArgs({ options: { "stack-file": { type: "string", default: "Pulumi.dev.yaml" } } });
    const problem = (await dockerProblem(values["stack-file"]!)) ?? (await cliProblem());
    if (problem) {
        console.error(`deploy: ${problem}`);
        process.exit(2);
    }
}

main().catch((error: Error) => {
    console.error(`deploy: preflight failed: ${error.message}`);
    process.exit(2);
});
