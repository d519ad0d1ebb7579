import { pathToFileURL } from 'node:url'

/** Whether the module at `url` is the script Node was started with (`import.meta.main` needs Node 24). */
export function isMain(url: string): boolean {
  const script = process.argv[1]
  return script !== undefined && pathToFileURL(script).href === url
}
