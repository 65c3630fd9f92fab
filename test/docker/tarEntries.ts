import { Readable } from "stream";

/** The part of tar-stream (a dependency of dockerode) the deployer uses; the package ships no types. */
interface TarPack extends Readable {
    entry(header: { name: string; mode: number; uid: number; gid: number }, content: Buffer): void;
    finalize(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tarStream = require("tar-stream") as { pack(): TarPack };

/** One file for a container, as the Docker provider uploads it. */
export interface TarFile {
    readonly path: string;
    readonly content: Buffer;
    readonly mode: number;
}

/** A tar stream of root-owned files, to extract at `/` in a container. */
export function tarOf(files: readonly TarFile[]): Readable {
    const pack = tarStream.pack();
    for (const file of files) {
        pack.entry({ name: file.path, mode: file.mode, uid: 0, gid: 0 }, file.content);
    }
    pack.finalize();
    return pack;
}
