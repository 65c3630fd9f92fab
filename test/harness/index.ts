export * from "./localCluster";
export * from "./hostAdaptation";
export * from "./observers";
export * from "./clients";
export * from "../../tools/lib/poll";
