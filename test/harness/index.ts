export * from "./localCluster";
export * from "./hostAdaptation";
export * from "./observers";
export * from "./clients";
export * from "./poll";
