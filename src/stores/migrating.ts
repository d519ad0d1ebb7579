import type { ExpressSessionStore, Store as CallbackStore } from '../express-store.ts'
import { InvalidOptionError } from '../errors.ts'
import { fromCallbackStore } from './legacy.ts'
import { isContractStore, kContractStore, kKeepsExpiry, type GetOptions, type SessionStore, type StoredSession } from './contract.ts'

/** Options of `migrateStore`. */
export interface MigrateStoreOptions {
  /** The store sessions move to: every read starts there and every write goes there. */
  to: SessionStore | ExpressSessionStore
  /** The store they leave (connect-redis, connect-pg-simple, …): read once per session, on a miss in `to`. */
  from: SessionStore | ExpressSessionStore
}

/**
 * A store for the time of a move from one store to another, so that nobody is logged out: a session
 * `to` does not have is read from `from` once, written to `to` under the same key and deleted from
 * `from`; everything else is `to`'s. Sessions written by express-session then move on to the main
 * entry's format on that same request, as they do in a single store. `destroy` deletes from both,
 * so a copy left in `from` can never come back after a logout. Remove it (pass `to` alone) once
 * `from` holds no live session: after its longest session lifetime.
 *
 * @example
 * import { RedisStore as ConnectRedisStore } from 'connect-redis'
 * import { RedisStore } from 'tessera-session/stores/redis'
 * app.use(session({
 *   secret, name: 'connect.sid',
 *   store: migrateStore({ from: new ConnectRedisStore({ client }), to: new RedisStore({ client }) }),
 * }))
 */
export function migrateStore(options: MigrateStoreOptions): SessionStore {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('migrateStore', 'takes { from, to }: the old store and the new one')
  const to = asContractStore(options.to, 'to')
  const from = asContractStore(options.from, 'from')
  if (to === from || options.to === options.from) throw new InvalidOptionError('from', 'is the same store as `to`')

  /** Copies a session found only in `from` into `to`, then deletes it from `from`; `to` has the last word. */
  async function move(id: string, found: StoredSession, slide: GetOptions | undefined): Promise<StoredSession | null> {
    // 'collision': another request moved it first, or `to` destroyed that id moments ago (its tombstone); either way `to` decides
    await to.create(id, { data: found.data, meta: found.meta, userId: found.userId, expiresAt: found.expiresAt })
    await from.destroy(id)
    return to.get(id, slide)
  }

  const store: SessionStore = {
    [kContractStore]: true,
    // every update goes to `to`
    ...(to[kKeepsExpiry] === true ? { [kKeepsExpiry]: true as const } : {}),
    // one round trip for every session already moved; a second, once, for one that is not
    async get(id, slide) {
      const found = await to.get(id, slide)
      if (found !== null) return found
      const old = await from.get(id)
      return old === null ? null : move(id, old, slide)
    },
    create: (id, session) => to.create(id, session),
    update: (id, patch, expiresAt, updateOptions) => to.update(id, patch, expiresAt, updateOptions),
    touch: (id, expiresAt) => to.touch(id, expiresAt),
    async destroy(id) {
      await Promise.all([to.destroy(id), from.destroy(id)])
    },
  }
  // the per-user index and pruning are `to`'s: sessions still in `from` are in no index yet
  if (typeof to.listByUser === 'function') store.listByUser = (userId) => (to.listByUser as NonNullable<SessionStore['listByUser']>).call(to, userId)
  if (typeof to.destroyByUser === 'function') {
    store.destroyByUser = (userId, exceptId) => (to.destroyByUser as NonNullable<SessionStore['destroyByUser']>).call(to, userId, exceptId)
  }
  if (typeof to.prune === 'function') store.prune = () => (to.prune as NonNullable<SessionStore['prune']>).call(to)
  return store
}

function asContractStore(store: SessionStore | ExpressSessionStore, option: 'from' | 'to'): SessionStore {
  if (isContractStore(store)) return store
  const legacy = store as unknown as CallbackStore
  if (typeof legacy?.get === 'function' && typeof legacy.set === 'function' && typeof legacy.destroy === 'function') return fromCallbackStore(legacy)
  throw new InvalidOptionError(option, 'must be a built-in store or an express-session store (get/set/destroy)')
}
