import * as fs from "fs";
import * as path from "path";
import { RenderedFile } from "./render";

/**
 * Writes every container's files to `outDir/<container>/<path in the container>`, and the passwords to
 * `outDir/secrets.json`. Everything is mode 0600: the config files carry passwords too.
 */
export function writeRenderedCluster(
    outDir: string,
    files: Readonly<Record<string, readonly RenderedFile[]>>,
    passwords: Readonly<Record<string, string>>,
): string[] {
    const written: string[] = [];
    const write = (file: string, content: string) => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content, { mode: 0o600 });
        fs.chmodSync(file, 0o600);
        written.push(file);
    };
    for (const [container, containerFiles] of Object.entries(files)) {
        for (const file of containerFiles) {
            write(path.join(outDir, container, file.path), file.content);
        }
    }
    write(path.join(outDir, "secrets.json"), JSON.stringify(passwords, null, 2) + "\n");
    return written;
}
