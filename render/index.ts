export * from "./certificates";
export * from "./identity";
export * from "./paths";
export * from "./render";
export * from "./passwords";
export * from "./write";
