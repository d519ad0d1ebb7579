import type { IncomingMessage } from 'node:http'
import { InvalidOptionError } from '../errors.ts'
import { askOption } from '../option-function.ts'
import type { Policy } from '../options.ts'

/** Longest client description kept, in characters (code points): a User-Agent can be kilobytes long. */
export const MAX_CLIENT_DESCRIPTION = 200

// C0 and C1 control characters: a description is shown to people, never interpreted
const CONTROL_CHARACTERS = /\p{Cc}+/gu

/**
 * What the `describeClient` option says of the client of `req`, trimmed of control characters and
 * bounded in length; undefined when the option is off or says nothing.
 */
export function describeClient(policy: Policy, req: IncomingMessage): string | undefined {
  const describe = policy.describeClient
  if (describe === undefined) return undefined
  const description = askOption('describeClient', 'a string or undefined', describe, req)
  if (description === undefined) return undefined
  if (typeof description !== 'string') throw new InvalidOptionError('describeClient', 'must return a string or undefined')
  const clean = description.replace(CONTROL_CHARACTERS, ' ').trim()
  if (clean.length === 0) return undefined
  // by code points, so a character outside the BMP is never cut in half
  const characters = Array.from(clean)
  return characters.length <= MAX_CLIENT_DESCRIPTION ? clean : characters.slice(0, MAX_CLIENT_DESCRIPTION).join('').trimEnd()
}
