import { DATA_FORMAT } from '../json-fields.ts'
import type { Tables } from './tables.ts'

/* The SQL of the PostgreSQL store's contract methods, one named statement each, with why each is shaped as it is. */

// Every time is epoch ms from the application's clock, bound as a parameter: expiry then agrees with
// the engine's `Date.now()` judgement, whatever the server's clock says (connect-pg-simple #25).
const at = (param: string) => `to_timestamp(${param}::float8 / 1000)`
const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`

const COLUMNS = `data::text AS data, meta::text AS meta, user_id, ${ms('expires_at')} AS expires_at, version`

// data::text: the row is parsed by parseJson (prototype keys dropped), never by the driver's jsonb parser
const GET_SQL = (t: Tables) => `SELECT ${COLUMNS} FROM ${t.sessions} WHERE id = $1 AND expires_at > ${at('$2')}`

// the CTE's UPDATE and the SELECT share one snapshot, so the row comes back as it was before the slide;
// the slide happens only when due ($4), only forwards, never past absolute_expires_at (LEAST skips NULL)
const GET_AND_SLIDE_SQL = (t: Tables) => `WITH slid AS (
  UPDATE ${t.sessions} SET expires_at = LEAST(${at('$3')}, absolute_expires_at)
   WHERE id = $1 AND expires_at > ${at('$2')} AND ($4::float8 IS NULL OR expires_at < ${at('$4')})
     AND LEAST(${at('$3')}, absolute_expires_at) > expires_at)
SELECT ${COLUMNS} FROM ${t.sessions} WHERE id = $1 AND expires_at > ${at('$2')}`

// never overwrites a live row or a fresh tombstone (0 rows: collision); an expired row not yet pruned is replaced
const CREATE_SQL = (t: Tables) => `INSERT INTO ${t.sessions} AS s (id, data, meta, user_id, expires_at, absolute_expires_at, version)
SELECT $1::text, $2::jsonb, $3::jsonb, $4::text, ${at('$5')}, ${at('$6')}, 1
 WHERE NOT EXISTS (SELECT 1 FROM ${t.tombstones} WHERE id = $1 AND until > ${at('$7')})
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, meta = EXCLUDED.meta, user_id = EXCLUDED.user_id,
  expires_at = EXCLUDED.expires_at, absolute_expires_at = EXCLUDED.absolute_expires_at, version = 1
 WHERE s.expires_at <= ${at('$7')}
RETURNING 1 AS created`

// the expiry stays put when already within the threshold below the new one: an unchanged indexed column keeps the update HOT
const NEXT_EXPIRY = (param: string, threshold: number) =>
  `CASE WHEN expires_at BETWEEN to_timestamp((${param}::float8 - ${threshold}) / 1000) AND ${at(param)} THEN expires_at ELSE ${at(param)} END`

// the key → JSON text object of a row's data (json-fields.ts); a format 1 row's values become their JSON text
const FIELDS = `(CASE WHEN jsonb_typeof(data) = 'array' THEN data -> 1
  ELSE (SELECT COALESCE(jsonb_object_agg(key, value::text), '{}'::jsonb) FROM jsonb_each(data)) END)`

// removed keys, then merged changed keys, applied to the row as it is when the lock is granted, so
// concurrent writers of different keys both survive; a plain UPDATE, so a gone row is never recreated.
// The unset keys travel as a JSON array: no reliance on the driver's text[] encoding
const UPDATE_SET = (threshold: number) => `
  data = jsonb_build_array(${DATA_FORMAT}, CASE WHEN $6::boolean THEN $4::jsonb ELSE (${FIELDS} - ARRAY(SELECT jsonb_array_elements_text($5::jsonb))) || $4::jsonb END),
  meta = COALESCE($7::jsonb, meta),
  absolute_expires_at = CASE WHEN $7::jsonb IS NULL THEN absolute_expires_at ELSE ${at('$8')} END,
  user_id = CASE WHEN $9::boolean THEN $10::text ELSE user_id END,
  expires_at = ${NEXT_EXPIRY('$3', threshold)},
  version = version + 1`

// 0 rows: gone (missing, expired or destroyed)
const UPDATE_SQL = (t: Tables, threshold: number) => `UPDATE ${t.sessions} SET ${UPDATE_SET(threshold)}
 WHERE id = $1 AND expires_at > ${at('$2')}
RETURNING version`

// compare-and-set; the `live` CTE tells 'conflict' (live, other version) from 'gone' in the same round trip
const UPDATE_IF_VERSION_SQL = (t: Tables, threshold: number) => `WITH live AS (
  SELECT 1 FROM ${t.sessions} WHERE id = $1 AND expires_at > ${at('$2')}
), changed AS (
  UPDATE ${t.sessions} SET ${UPDATE_SET(threshold)}
   WHERE id = $1 AND expires_at > ${at('$2')} AND version = $11::integer
  RETURNING version)
SELECT (SELECT version FROM changed) AS version, EXISTS (SELECT 1 FROM live) AS live`

// the threshold can leave a live row unchanged: whether it is live comes from the statement's snapshot, beside the UPDATE
const TOUCH_SQL = (t: Tables, threshold: number) => `WITH moved AS (UPDATE ${t.sessions} SET expires_at = ${at('$2')}
 WHERE id = $1 AND expires_at > ${at('$3')}
   AND expires_at NOT BETWEEN to_timestamp(($2::float8 - ${threshold}) / 1000) AND ${at('$2')})
SELECT EXISTS (SELECT 1 FROM ${t.sessions} WHERE id = $1 AND expires_at > ${at('$3')}) AS live`

// delete and tombstone in one statement (one implicit transaction)
const DESTROY_SQL = (t: Tables) => `WITH gone AS (DELETE FROM ${t.sessions} WHERE id = $1)
INSERT INTO ${t.tombstones} (id, until) VALUES ($1, ${at('$2')})
ON CONFLICT (id) DO UPDATE SET until = EXCLUDED.until`

// the user_id = $1 clause implies user_id IS NOT NULL, so the partial index serves it
const LIST_BY_USER_SQL = (t: Tables) => `SELECT id, ${ms('expires_at')} AS expires_at, meta::text AS meta
  FROM ${t.sessions} WHERE user_id = $1 AND expires_at > ${at('$2')} ORDER BY expires_at`

// every row of the user goes (expired ones too) and is tombstoned; only the live ones are counted
const DESTROY_BY_USER_SQL = (t: Tables) => `WITH gone AS (
  DELETE FROM ${t.sessions} WHERE user_id = $1 AND ($2::text IS NULL OR id <> $2::text) RETURNING id, expires_at
), marked AS (
  INSERT INTO ${t.tombstones} (id, until) SELECT id, ${at('$3')} FROM gone
  ON CONFLICT (id) DO UPDATE SET until = EXCLUDED.until)
SELECT count(*)::integer AS destroyed FROM gone WHERE expires_at > ${at('$4')}`

// one batch: ctid lookups after an index scan on the expiry; SKIP LOCKED lets several instances prune
// at once without waiting on each other or deleting a row twice (stores.md §5.2)
const PRUNE_SQL = (t: Tables) => `WITH sessions AS (
  DELETE FROM ${t.sessions} WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM ${t.sessions} WHERE expires_at <= ${at('$1')} ORDER BY expires_at LIMIT $2::integer FOR UPDATE SKIP LOCKED))
  RETURNING 1
), tombstones AS (
  DELETE FROM ${t.tombstones} WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM ${t.tombstones} WHERE until <= ${at('$1')} ORDER BY until LIMIT $2::integer FOR UPDATE SKIP LOCKED))
  RETURNING 1)
SELECT (SELECT count(*) FROM sessions)::integer AS sessions, (SELECT count(*) FROM tombstones)::integer AS tombstones`

export function statementsOf(tables: Tables, threshold: number) {
  return {
    get: GET_SQL(tables),
    getAndSlide: GET_AND_SLIDE_SQL(tables),
    create: CREATE_SQL(tables),
    update: UPDATE_SQL(tables, threshold),
    updateIfVersion: UPDATE_IF_VERSION_SQL(tables, threshold),
    touch: TOUCH_SQL(tables, threshold),
    destroy: DESTROY_SQL(tables),
    listByUser: LIST_BY_USER_SQL(tables),
    destroyByUser: DESTROY_BY_USER_SQL(tables),
    prune: PRUNE_SQL(tables),
  }
}

export type StatementName = keyof ReturnType<typeof statementsOf>

