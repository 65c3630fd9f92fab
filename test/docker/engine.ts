import { spawnSync } from "child_process";
import Docker from "dockerode";

/** The engine the tests talk to: DOCKER_HOST if set, else the local socket (dockerode's own defaults). */
export const connectEngine = (): Docker => new Docker();

/** Whether a test run must fail, rather than skip, when there is no engine. */
export const engineRequired = (): boolean => ![undefined, "", "0", "false"].includes(process.env.CI);

/**
 * Checks synchronously (jest decides whether to skip while it collects tests) that an engine answers.
 * Returns undefined when it does, otherwise why not; in CI a missing engine throws instead.
 */
export function engineUnavailableReason(): string | undefined {
    const probe = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8", timeout: 20_000 });
    if (probe.status === 0) {
        return undefined;
    }
    const reason =
        probe.error !== undefined
            ? `the docker CLI could not be run (${probe.error.message})`
            : `no Docker engine answers: ${(probe.stderr || probe.stdout).trim().split("\n")[0]}`;
    if (engineRequired()) {
        throw new Error(
            `${reason} - CI is set, so the end-to-end tests must run: install docker.io and start dockerd (see .ci/run)`,
        );
    }
    return reason;
}
