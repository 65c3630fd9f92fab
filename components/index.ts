export * from "./cluster";
export * from "./credentials";
export * from "./image";
export * from "./metricsExporter";
export * from "./network";
export * from "./nodeContainer";
export * from "./redisNode";
export * from "./sentinelNode";
