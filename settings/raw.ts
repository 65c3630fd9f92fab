import { settingsSchema } from "./schema";

/** Reads one stack config value as the engine stores it (a string, JSON for arrays), or undefined when unset. */
export type ConfigReader = (key: string) => string | undefined;

export type RawValue = string | number | boolean | string[];

/**
 * Turns the stack's config strings into typed values, falling back to Pulumi.yaml's defaults.
 * Type errors name the key and the value; range and consistency checks live in validate.ts.
 */
export function readRawSettings(read: ConfigReader): Record<string, RawValue> {
    const values: Record<string, RawValue> = {};
    for (const [key, schema] of Object.entries(settingsSchema)) {
        const text = read(key);
        values[key] = text === undefined ? (schema.default as RawValue) : parseTyped(key, schema.type, text);
    }
    return values;
}

function parseTyped(key: string, type: string, text: string): RawValue {
    switch (type) {
        case "integer": {
            if (!/^-?\d+$/.test(text.trim())) {
                throw new Error(`\`${key}\` must be an integer, got ${JSON.stringify(text)}`);
            }
            return Number(text.trim());
        }
        case "boolean": {
            if (text !== "true" && text !== "false") {
                throw new Error(`\`${key}\` must be true or false, got ${JSON.stringify(text)}`);
            }
            return text === "true";
        }
        case "array": {
            let parsed: unknown;
            try {
                parsed = JSON.parse(text);
            } catch {
                throw new Error(`\`${key}\` must be a list of strings, got ${JSON.stringify(text)}`);
            }
            if (!Array.isArray(parsed) || parsed.some((item) => typeof item !== "string")) {
                throw new Error(`\`${key}\` must be a list of strings, got ${text}`);
            }
            return parsed as string[];
        }
        default:
            return text;
    }
}
