/**
 * One-shot probes of a node's port from the tests' own process, for the TLS tests on processes and in containers:
 * what a plain-text client gets back, and what a client with given TLS options gets.
 */
import * as net from "net";
import * as tls from "tls";
import Redis from "ioredis";

/** Where a Redis node or Sentinel listens. */
interface Endpoint {
    readonly ip: string;
    readonly port: number;
}

/** What the server at `node` sends back to a plain-text PING within 3 s, as text; "(closed)" when nothing. */
export function plainTextReply(node: Endpoint): Promise<string> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: node.ip, port: node.port });
        let reply = "";
        const done = () => {
            socket.destroy();
            resolve(reply || "(closed)");
        };
        socket.setTimeout(3000, done);
        socket.on("connect", () => socket.write("PING\r\n"));
        socket.on("data", (chunk) => (reply += chunk.toString("latin1")));
        socket.on("close", done);
        socket.on("error", done);
    });
}

/**
 * Logs in to `node` as `username` over TLS with `options` (none: plain text) and runs one command: the reply, or the
 * message of the first error (ioredis rejects with "Connection is closed." and reports a TLS failure as an error event).
 */
export async function replyOrFirstError(
    node: Endpoint,
    login: { username: string; password: string },
    options: tls.ConnectionOptions | undefined,
    ...command: [string, ...string[]]
): Promise<unknown> {
    const client = new Redis({
        host: node.ip,
        port: node.port,
        ...login,
        tls: options,
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 2000,
        commandTimeout: 2000,
    });
    const errors: string[] = [];
    client.on("error", (error: Error) => errors.push(error.message));
    try {
        await client.connect();
        return await client.call(...command);
    } catch (error) {
        return errors[0] ?? (error as Error).message;
    } finally {
        client.disconnect();
    }
}
