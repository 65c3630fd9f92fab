export * from "./load";
export * from "./raw";
export * from "./schema";
export * from "./types";
export * from "./validate";
export * from "./readers";
export * from "./hosts";
