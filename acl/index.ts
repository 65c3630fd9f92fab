export * from "./channels";
export * from "./profiles";
