/**
 * The README's `pulumi config set` examples are ones that work: each line goes through the program's own settings
 * (as the engine would hand it the value: a string, JSON for lists), and `--path` edits, which fail on a stack whose
 * config has no list of its own yet, are not used.
 */
import * as fs from "fs";
import * as path from "path";
import { loadPasswordOverrides, loadSettings, overridingReader } from "../../settings";

const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
const examples = [
    ...readme.split("\n").filter((line) => /^(npx )?pulumi config set /.test(line.trim())),
    // Inline ones too: `npx pulumi config set key value` in the text.
    ...[...readme.matchAll(/`((?:npx )?pulumi config set [^`]+)`/g)].map((match) => match[1]),
];

/** The arguments of one shell line: words, or single-quoted strings (the README uses no other quoting). */
const words = (line: string) => (line.match(/'[^']*'|\S+/g) ?? []).map((word) => word.replace(/^'(.*)'$/, "$1"));

describe("the README's config examples", () => {
    test("there are some", () => {
        expect(examples.length).toBeGreaterThanOrEqual(3);
    });

    test.each(examples)("%s is accepted by the program's settings", (line) => {
        const args = words(line.replace(/#.*$/, "")).slice(line.trim().startsWith("npx") ? 4 : 3);
        expect(args).not.toContain("--path");
        const [key, value] = args.filter((arg) => arg !== "--secret");
        const read = overridingReader({ [key]: value });
        const consumed: string[] = [];
        const recording = (name: string) => {
            consumed.push(name);
            return read(name);
        };
        expect(() => loadSettings(recording)).not.toThrow();
        expect(() => loadPasswordOverrides(recording)).not.toThrow();
        // A key the program never reads would be silently ignored.
        expect(consumed).toContain(key);
    });
});
