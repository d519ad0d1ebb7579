/** `tessera-session/stores/sqlite`: the SQLite store (its parts are in stores/sqlite/). */
export { SqliteStore, type SqliteStoreOptions } from './sqlite/store.ts'
