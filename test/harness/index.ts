export * from "./localCluster";
export * from "./hostAdaptation";
export * from "./observers";
export * from "../../tools/lib/poll";
export * from "./metrics";
