/**
 * A stand-in for the Pulumi CLI, for the tests of scripts/deploy.sh (the real CLI cannot be downloaded here). The
 * `pulumi` launcher runs the binary it finds at $PULUMI_HOME/versions/<version>/bin/pulumi
 * (node_modules/pulumi/lib/resolve.js), so the stand-in goes there. It records every call, one line each, answers
 * `stack output` with the file `outputs` (or fails when `failOutputs`), and does nothing for the rest (`up`,
 * `destroy`, `stack select`): what those do is the engine's part, imitated by the deployer.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const repo = path.join(__dirname, "..", "..");

export interface FakePulumi {
    /** PULUMI_HOME, with the stand-in installed as the pinned version. */
    readonly home: string;
    /** The stand-in's calls so far, one argument list per line. */
    calls(): string[];
    /** What `stack output` prints from now on. */
    setOutputs(outputs: unknown): void;
    remove(): void;
}

export function installFakePulumi(options: { failOutputs?: boolean } = {}): FakePulumi {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the version the launcher resolves
    const version: string = require("pulumi/package.json").version;
    const bin = path.join(home, "versions", version, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const log = path.join(home, "calls.log");
    const outputsFile = path.join(home, "outputs.json");
    fs.writeFileSync(log, "");
    fs.writeFileSync(outputsFile, "{}", { mode: 0o600 });
    const outputCommand = options.failOutputs
        ? 'echo "error: could not read the stack (stand-in)" >&2; exit 255'
        : `cat '${outputsFile}'`;
    fs.writeFileSync(
        path.join(bin, "pulumi"),
        [
            "#!/usr/bin/env bash",
            `echo "$*" >> '${log}'`,
            'case "$1 $2" in',
            `    "stack output") ${outputCommand} ;;`,
            "esac",
            "exit 0",
            "",
        ].join("\n"),
        { mode: 0o755 },
    );
    return {
        home,
        calls: () => fs.readFileSync(log, "utf8").split("\n").filter(Boolean),
        setOutputs: (outputs) => fs.writeFileSync(outputsFile, JSON.stringify(outputs)),
        remove: () => fs.rmSync(home, { recursive: true, force: true }),
    };
}

export interface ScriptResult {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

/** Runs `scripts/deploy.sh ACTION ARGS...` without blocking the event loop (no execSync: clients may be running). */
export function runDeployScript(
    args: readonly string[],
    env: Record<string, string>,
    timeoutMs = 120_000,
): Promise<ScriptResult> {
    const started = Date.now();
    return new Promise((resolve) => {
        execFile(
            "bash",
            ["scripts/deploy.sh", ...args],
            { cwd: repo, timeout: timeoutMs, env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: "not-a-secret", ...env } },
            (error, stdout, stderr) => {
                const status = error ? (typeof error.code === "number" ? error.code : -1) : 0;
                resolve({ status, stdout, stderr, ms: Date.now() - started });
            },
        );
    });
}
