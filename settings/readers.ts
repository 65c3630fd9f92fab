import * as fs from "fs";
import { parse } from "yaml";
import { ConfigReader } from "./raw";
import { projectName } from "./schema";

/** Reads the plain values of a stack file (Pulumi.<stack>.yaml); encrypted values count as unset. */
export function stackFileReader(file: string): ConfigReader {
    const document = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const config = document.config ?? {};
    return (key) => {
        const value = config[`${projectName}:${key}`];
        if (value === undefined || (typeof value === "object" && value !== null && "secure" in value)) {
            return undefined;
        }
        return typeof value === "string" ? value : JSON.stringify(value);
    };
}

/** Values given explicitly (as Pulumi stores them: strings, JSON for lists) take precedence over `fallback`. */
export function overridingReader(
    values: Readonly<Record<string, string>>,
    fallback: ConfigReader = () => undefined,
): ConfigReader {
    return (key) => values[key] ?? fallback(key);
}
