/** `tessera-session/stores/postgres`: the PostgreSQL store (its parts are in stores/postgres/). */
export { PostgresStore, type PostgresPool, type PostgresQuery, type PostgresQueryResult, type PostgresStoreOptions } from './postgres/store.ts'
export { createTableSql, type PostgresTableOptions } from './postgres/tables.ts'
