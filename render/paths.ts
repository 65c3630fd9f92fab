/** Where files live inside a container; the rendered files, the image's entrypoint and the tests all use these. */
export const containerPaths = {
    /** Uploaded files: root-owned, mode 0644, replaced by `pulumi up`. */
    redisConf: "/etc/redis/redis.conf",
    aclFile: "/etc/redis/users.acl",
    sentinelConf: "/etc/redis/sentinel.conf",
    nodeEnv: "/etc/redis/node.env",
    /** TLS material (tlsEnabled): uploaded, then copied by the entrypoint to the volume, 0600, for the server. */
    tlsCa: "/etc/redis/tls/ca.crt",
    tlsCert: "/etc/redis/tls/node.crt",
    tlsKey: "/etc/redis/tls/node.key",
    runtimeTlsCa: "/data/conf/tls-ca.crt",
    runtimeTlsCert: "/data/conf/tls-node.crt",
    runtimeTlsKey: "/data/conf/tls-node.key",
    /** The exporter's TLS material (tlsEnabled): the CA, and a client certificate when tlsAuthClients asks for one. */
    exporterTlsCa: "/etc/redis-exporter/tls/ca.crt",
    exporterTlsCert: "/etc/redis-exporter/tls/client.crt",
    exporterTlsKey: "/etc/redis-exporter/tls/client.key",
    /** The exporter container's settings, password included (metricsEnabled). */
    exporterEnv: "/etc/redis-exporter/exporter.env",
    /** The node's named volume: AOF, and the writable copies the servers rewrite. */
    dataDir: "/data",
    runtimeRedisConf: "/data/conf/redis.conf",
    runtimeAclFile: "/data/conf/users.acl",
    runtimeSentinelConf: "/data/conf/sentinel.conf",
} as const;
