/** The deployer's translations of the provider's inputs, checked without an engine. */
import { Readable } from "stream";
import { tarOf } from "../docker/tarEntries";

interface TarHeader {
    name: string;
    mode: number;
    uid: number;
    gid: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- tar-stream (dockerode's dependency) ships no types
const tarStream = require("tar-stream") as {
    extract(): NodeJS.WritableStream & {
        on(event: "entry", listener: (header: TarHeader, stream: Readable, next: () => void) => void): void;
        on(event: "finish", listener: () => void): void;
    };
};

function readTar(archive: Readable): Promise<{ header: TarHeader; content: string }[]> {
    return new Promise((resolve, reject) => {
        const entries: { header: TarHeader; content: string }[] = [];
        const extract = tarStream.extract();
        extract.on("entry", (header, stream, next) => {
            const chunks: Buffer[] = [];
            stream.on("data", (chunk: Buffer) => chunks.push(chunk));
            stream.on("end", () => {
                entries.push({ header, content: Buffer.concat(chunks).toString("utf8") });
                next();
            });
        });
        extract.on("finish", () => resolve(entries));
        archive.on("error", reject);
        archive.pipe(extract);
    });
}

describe("the deployer's provider semantics", () => {
    test("uploads become root-owned tar entries with the full path, mode 0644 (0744 when executable)", async () => {
        const entries = await readTar(
            tarOf([
                { path: "/etc/redis/redis.conf", content: Buffer.from("port 6379\n"), mode: 0o644 },
                { path: "/usr/local/bin/tool", content: Buffer.from("#!/bin/sh\n"), mode: 0o744 },
            ]),
        );
        expect(
            entries.map(({ header, content }) => ({
                name: header.name,
                mode: header.mode,
                uid: header.uid,
                gid: header.gid,
                content,
            })),
        ).toEqual([
            { name: "/etc/redis/redis.conf", mode: 0o644, uid: 0, gid: 0, content: "port 6379\n" },
            { name: "/usr/local/bin/tool", mode: 0o744, uid: 0, gid: 0, content: "#!/bin/sh\n" },
        ]);
    });
});
