import { PassThrough } from "stream";
import Docker from "dockerode";

export interface ExecResult {
    readonly exitCode: number;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * Runs a command in a running container and collects its output. `env` is passed to the process only (secrets go
 * there, never into `cmd`, which `docker inspect` and `ps` show). Bounded by `timeoutMs`.
 */
export async function execIn(
    container: Docker.Container,
    cmd: readonly string[],
    env: readonly string[] = [],
    timeoutMs = 10_000,
): Promise<ExecResult> {
    const exec = await container.exec({ Cmd: [...cmd], Env: [...env], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on("data", (chunk: Buffer) => out.push(chunk));
    stderr.on("data", (chunk: Buffer) => err.push(chunk));
    container.modem.demuxStream(stream, stdout, stderr);
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
            stream.destroy();
            reject(new Error(`exec ${cmd[0]} did not finish within ${timeoutMs} ms`));
        }, timeoutMs);
        stream.on("end", () => {
            clearTimeout(timer);
            resolve();
        });
        stream.on("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
    });
    const { ExitCode } = await exec.inspect();
    return { exitCode: ExitCode ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}
