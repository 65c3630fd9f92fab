/**
 * A worker thread of bench/soak.ts that pings each Redis node the way a Sentinel does, on a connection of its own, and
 * times every reply. It runs on its own event loop so that the soak's load and bookkeeping never delay a ping: what it
 * measures is the node's (and the machine's) responsiveness. One PING in flight per node, a new one `intervalMs` after
 * the last was sent or as soon as it is answered if that took longer; a reply that never comes within `giveUpMs` is
 * recorded as that long and the connection is made again, as a Sentinel does when a ping stays pending too long.
 */
import * as net from "net";
import { performance } from "perf_hooks";
import { parentPort, workerData } from "worker_threads";

export interface PingTarget {
    readonly name: string;
    readonly ip: string;
    readonly port: number;
}

export interface PingWorkerData {
    readonly targets: readonly PingTarget[];
    readonly username: string;
    readonly password: string;
    readonly intervalMs: number;
    readonly giveUpMs: number;
}

/** What the worker posts every second: the new reply times (ms) per node, and when each was sent (epoch ms). */
export interface PingBatch {
    readonly samples: { node: string; sentAt: number; ms: number }[];
}

const { targets, username, password, intervalMs, giveUpMs } = workerData as PingWorkerData;
const pending: PingBatch["samples"] = [];

/** A RESP array of bulk strings: the AUTH command, so that the password never goes through an inline command. */
const resp = (...args: string[]) =>
    `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`;

function pingForever(target: PingTarget): void {
    let socket: net.Socket | undefined;
    let buffer = "";
    let sentAt = 0; // performance.now() of the ping in flight; 0: none
    let sentEpoch = 0;
    let authenticated = false;
    let timer: NodeJS.Timeout | undefined;

    const schedule = (delayMs: number) => {
        clearTimeout(timer);
        timer = setTimeout(tick, Math.max(0, delayMs));
    };
    const reconnect = () => {
        socket?.destroy();
        authenticated = false;
        buffer = "";
        socket = net.connect({ host: target.ip, port: target.port });
        socket.setNoDelay(true);
        socket.on("connect", () => socket!.write(resp("AUTH", username, password)));
        socket.on("data", (chunk) => {
            buffer += chunk.toString("latin1");
            for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
                const line = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                if (!authenticated) {
                    authenticated = line === "+OK";
                    schedule(0);
                } else if (sentAt !== 0) {
                    // +PONG, or -LOADING / -MASTERDOWN, which a Sentinel also takes as a valid reply.
                    const ms = performance.now() - sentAt;
                    pending.push({ node: target.name, sentAt: sentEpoch, ms });
                    sentAt = 0;
                    schedule(intervalMs - ms);
                }
            }
        });
        socket.on("error", () => undefined);
        socket.on("close", () => {
            authenticated = false;
        });
    };
    const tick = () => {
        if (sentAt !== 0) {
            const waited = performance.now() - sentAt;
            if (waited >= giveUpMs) {
                pending.push({ node: target.name, sentAt: sentEpoch, ms: waited });
                sentAt = 0;
                reconnect();
            }
            schedule(100);
            return;
        }
        if (!authenticated || socket?.destroyed !== false) {
            if (socket?.connecting !== true) {
                reconnect();
            }
            schedule(100);
            return;
        }
        sentAt = performance.now();
        sentEpoch = Date.now();
        socket.write("PING\r\n");
        schedule(giveUpMs);
    };
    reconnect();
}

targets.forEach(pingForever);
setInterval(() => parentPort!.postMessage({ samples: pending.splice(0) } satisfies PingBatch), 1000);
