import type { UnknownOption } from '../option-names.ts'

let noticed = false

/**
 * compat: express-session ignores options it does not know, and so does the compat entry; in
 * development it says so, once per process, so a typo (`saveUnitialized`) does not go unseen.
 */
export function noticeUnknownOptions(unknown: readonly UnknownOption[]): void {
  if (noticed || unknown.length === 0) return
  noticed = true
  const names = unknown.map((u) => `\`${u.option}\`${u.suggestion === undefined ? '' : ` (did you mean \`${u.suggestion}\`?)`}`)
  process.emitWarning(`ignoring unknown option${unknown.length === 1 ? '' : 's'} ${names.join(', ')}, as express-session does`, {
    type: 'TesseraSessionWarning',
    code: 'TESSERA_COMPAT_UNKNOWN_OPTION',
    detail: 'tessera-session/compat behaves like express-session and ignores it; the main entry (tessera-session) refuses unknown options.',
  })
}
