import * as fs from "fs";
import * as path from "path";
import { principals } from "../../acl";
import { loadSettings, passwordKey, projectName, settingsSchema, stackFileReader } from "../../settings";

describe("Pulumi.yaml's config block", () => {
    it("gives every setting a type, a default and a description", () => {
        for (const [key, schema] of Object.entries(settingsSchema)) {
            expect({ key, type: ["string", "integer", "boolean", "array"].includes(schema.type) }).toEqual({ key, type: true });
            expect({ key, hasDefault: schema.default !== undefined }).toEqual({ key, hasDefault: true });
            expect({ key, described: schema.description.length > 20 }).toEqual({ key, described: true });
        }
    });

    it("declares a password setting for every principal, empty by default so that it is generated", () => {
        for (const principal of principals) {
            expect(settingsSchema[passwordKey(principal)]).toMatchObject({ type: "string", default: "" });
        }
    });

    it("is the project the stack keys belong to", () => {
        expect(projectName).toBe("redis-sentinel");
    });
});

describe("Pulumi.dev.yaml", () => {
    const devStack = path.join(__dirname, "..", "..", "Pulumi.dev.yaml");

    it("only sets known keys, and they validate", () => {
        const read = stackFileReader(devStack);
        const set = Object.keys(settingsSchema).filter((key) => read(key) !== undefined);
        expect(set.length).toBeGreaterThan(0);
        expect(() => loadSettings(read)).not.toThrow();
    });
});

describe("README", () => {
    it("documents every setting", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
        const undocumented = Object.keys(settingsSchema).filter((key) => !readme.includes(`\`${key}\``));
        expect(undocumented).toEqual([]);
    });
});
