/** `tessera-session/stores/redis`: the Redis / Valkey store (its parts are in stores/redis/). */
export { RedisStore, type RedisStoreOptions } from './redis/store.ts'
export type { IoRedisLike, NodeRedisClientLike, NodeRedisClusterLike } from './redis/client.ts'
