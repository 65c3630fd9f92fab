/**
 * What test/docker/CONTRACT.md was checked against, held fixed: the provider package it names, exactly; and the
 * committed stack file, which must carry nothing that ties it to one passphrase.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { secondsOption } from "../../tools/lib/poll";

const repo = path.join(__dirname, "..", "..");
const read = (file: string) => fs.readFileSync(path.join(repo, file), "utf8");

describe("the engine contract's versions", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the installed package's own metadata
    const installed: string = require("@pulumi/docker/package.json").version;

    test("package.json pins @pulumi/docker to one release, the one installed and the one the contract names", () => {
        const pinned: string = JSON.parse(read("package.json")).dependencies["@pulumi/docker"];
        expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
        expect(installed).toBe(pinned);
        expect(read("test/docker/CONTRACT.md")).toContain(`\`@pulumi/docker\` ${pinned}`);
    });

    test("that release's container schema has deviceCgroupRules, which terraform-provider-docker v4.5.0 lacks: it bridges a later provider release, as the contract says", () => {
        const declarations = fs.readFileSync(require.resolve("@pulumi/docker/container.d.ts"), "utf8");
        expect(declarations).toContain("deviceCgroupRules?:");
    });
});

describe("the committed stack file", () => {
    test("Pulumi.dev.yaml has no encryptionsalt and no secure values: either would tie it to one passphrase (pulumi/pulumi#17759)", () => {
        const text = read("Pulumi.dev.yaml");
        const stack = parse(text) as Record<string, unknown>;
        expect(Object.keys(stack)).toEqual(["config"]);
        expect(text).not.toMatch(/encryptionsalt|secure:/);
    });
});

describe("seconds options (--wait, --timeout)", () => {
    test.each([
        ["0", 0, 0],
        ["1.5", 0, 1500],
        ["60", "positive", 60_000],
    ] as const)("%s (min %s) is %d ms", (value, min, ms) => {
        expect(secondsOption("wait", value, min)).toBe(ms);
    });

    test.each([
        ["", 0],
        ["-1", 0],
        ["soon", 0],
        ["0", "positive"],
    ] as const)("%j (min %s) is refused, naming the option and the value", (value, min) => {
        expect(() => secondsOption("wait", value, min)).toThrow(`--wait must be`);
        expect(() => secondsOption("wait", value, min)).toThrow(JSON.stringify(value));
    });
});
