/** Where files live inside a container; the rendered files, the image's entrypoint and the tests all use these. */
export const containerPaths = {
    /** Uploaded files: root-owned, mode 0644, replaced by `pulumi up`. */
    redisConf: "/etc/redis/redis.conf",
    aclFile: "/etc/redis/users.acl",
    sentinelConf: "/etc/redis/sentinel.conf",
    nodeEnv: "/etc/redis/node.env",
    /** The exporter container's settings, password included (metricsEnabled). */
    exporterEnv: "/etc/redis-exporter/exporter.env",
    /** The node's named volume: AOF, and the writable copies the servers rewrite. */
    dataDir: "/data",
    runtimeRedisConf: "/data/conf/redis.conf",
    runtimeAclFile: "/data/conf/users.acl",
    runtimeSentinelConf: "/data/conf/sentinel.conf",
} as const;
