import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** The project's name in Pulumi.yaml; stack config keys are `<project>:<key>`. */
export const projectFile = path.join(__dirname, "..", "Pulumi.yaml");

export type SettingType = "string" | "integer" | "boolean" | "array";

/** One entry of Pulumi.yaml's project `config:` block. */
export interface SettingSchema {
    readonly type: SettingType;
    readonly default: unknown;
    readonly description: string;
}

interface ProjectFile {
    name: string;
    config: Record<string, SettingSchema>;
}

function readProjectFile(): ProjectFile {
    return parse(fs.readFileSync(projectFile, "utf8")) as ProjectFile;
}

/** The project name, the namespace of every stack config key. */
export const projectName: string = readProjectFile().name;

/** Every setting the program accepts, with its type, default and description, as Pulumi.yaml declares it. */
export const settingsSchema: Readonly<Record<string, SettingSchema>> = readProjectFile().config;
