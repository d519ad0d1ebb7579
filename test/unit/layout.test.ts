/**
 * The layout's rules, read from the sources: no import cycles (type-only imports included), the
 * main entry imports nothing from compat/, a request's phases (read → load → use → commit) never
 * call back into an earlier one, only the commit step touches `res`, a compat request keeps its
 * state in one record, and the options both entries take are declared once.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { posix } from 'node:path'
import { fileURLToPath } from 'node:url'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

interface Edge {
  from: string
  to: string
  /** `import type`, or only `type` specifiers: erased, nothing runs. */
  typeOnly: boolean
}

/** `import … from '…'` and `export … from '…'`: a default name, a namespace, braces, or a default name and braces. */
const IMPORT = /^(import|export)\s+(type\s+)?((?:[\w$]+\s*,\s*)?(?:\*\s+as\s+[\w$]+|\*|[\w$]+|\{[^}]*\}))\s+from\s+'([^']+)'/gm
/** `import '…'`, run for its effects. */
const SIDE_EFFECT_IMPORT = /^import\s+'([^']+)'/gm

function sources(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.split('\\').join('/'))
    .sort()
}

function isTypeOnly(keyword: string | undefined, clause: string): boolean {
  if (keyword !== undefined) return true
  if (!clause.startsWith('{')) return false
  const names = clause.slice(1, -1).split(',').map((name) => name.trim()).filter((name) => name !== '')
  return names.length > 0 && names.every((name) => name.startsWith('type '))
}

function importsOf(file: string, text: string): Edge[] {
  const edges: Edge[] = []
  const add = (specifier: string, typeOnly: boolean): void => {
    if (!specifier.startsWith('.')) return
    edges.push({ from: file, to: posix.normalize(posix.join(posix.dirname(file), specifier)), typeOnly })
  }
  for (const match of text.matchAll(IMPORT)) add(match[4] as string, isTypeOnly(match[2], (match[3] as string).trim()))
  for (const match of text.matchAll(SIDE_EFFECT_IMPORT)) add(match[1] as string, false)
  return edges
}

function graph(): { files: string[]; edges: Edge[] } {
  const files = sources()
  return { files, edges: files.flatMap((file) => importsOf(file, readFileSync(SRC + file, 'utf8'))) }
}

/** The properties an exported interface declares itself (not those it extends). */
function optionNames(file: string, name: string): string[] {
  const body = new RegExp(`^export interface ${name}\\b[^{]*\\{\\n([\\s\\S]*?)^\\}`, 'm').exec(readFileSync(SRC + file, 'utf8'))?.[1]
  assert.ok(body !== undefined, `interface ${name} in ${file}`)
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((match) => match[1] as string)
}

/** Every cycle found by a depth-first walk, each as the files on it. */
function cycles(files: readonly string[], edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>(files.map((file) => [file, []]))
  for (const edge of edges) next.get(edge.from)?.push(edge.to)
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const found: string[][] = []
  const visit = (file: string): void => {
    state.set(file, 'open')
    path.push(file)
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === 'open') found.push([...path.slice(path.indexOf(to)), to])
      else if (state.get(to) === undefined) visit(to)
    }
    path.pop()
    state.set(file, 'done')
  }
  for (const file of files) if (state.get(file) === undefined) visit(file)
  return found
}

/** A request's phases, in order; a module of engine/ in none of them is shared by all. */
const PHASES: Record<string, readonly string[]> = {
  read: ['engine/read.ts'],
  load: ['engine/load.ts', 'engine/rotate.ts'],
  use: ['engine/operations.ts', 'session.ts'],
  commit: ['engine/plan.ts', 'engine/decide.ts', 'engine/persist.ts', 'engine/set-cookie.ts', 'engine/commit.ts'],
}
const ORDER = Object.keys(PHASES)

function phaseOf(file: string): number | undefined {
  const index = ORDER.findIndex((phase) => PHASES[phase]?.includes(file))
  return index === -1 ? undefined : index
}

/** Calls that touch a response: its header, write and end methods, called or replaced. */
const TOUCHES_RES = /\.(setHeader|appendHeader|removeHeader|writeHead|flushHeaders)\(|\bres\.(end|write)\(|\b(res|this)\.(end|write|writeHead|flushHeaders)\s*=/

describe('source layout', () => {
  it('reads the imports of every file (the parser finds the ones this test relies on)', () => {
    const { files, edges } = graph()
    assert.ok(files.includes('middleware.ts') && files.includes('engine/commit.ts'))
    assert.ok(edges.some((e) => e.from === 'middleware.ts' && e.to === 'engine/load.ts' && !e.typeOnly))
    assert.ok(edges.some((e) => e.from === 'engine/state.ts' && e.to === 'engine/engine.ts' && e.typeOnly))
    assert.ok(edges.some((e) => e.from === 'index.ts' && e.to === 'session-factory.ts' && !e.typeOnly), 're-exports count')
    for (const edge of edges) assert.ok(files.includes(edge.to), `${edge.from} imports ${edge.to}, which is not a source file`)
  })

  it('the parser tells type-only imports from value imports, and finds each cycle', () => {
    const text = "import type { A } from './a.ts'\nimport { type B, c } from './b.ts'\nimport { type D } from './d.ts'\nexport { e } from './e.ts'\nimport f, { g } from './f.ts'\nimport './g.ts'\n"
    assert.deepEqual(
      importsOf('x.ts', text).map((e) => `${e.to}:${e.typeOnly}`),
      ['a.ts:true', 'b.ts:false', 'd.ts:true', 'e.ts:false', 'f.ts:false', 'g.ts:false'],
    )
    const loop = [
      { from: 'a.ts', to: 'b.ts', typeOnly: true },
      { from: 'b.ts', to: 'a.ts', typeOnly: false },
    ]
    assert.deepEqual(cycles(['a.ts', 'b.ts'], loop), [['a.ts', 'b.ts', 'a.ts']])
  })

  it('has no import cycle, type-only imports included', () => {
    const { files, edges } = graph()
    assert.deepEqual(cycles(files, edges).map((cycle) => cycle.join(' → ')), [])
  })

  it('imports nothing from compat/ outside compat/ and compat.ts: the main entry never loads compat', () => {
    const { edges } = graph()
    const wrong = edges.filter((e) => !e.from.startsWith('compat/') && e.from !== 'compat.ts' && e.to.startsWith('compat/'))
    assert.deepEqual(wrong.map((e) => `${e.from} → ${e.to}`), [])
  })

  it('never calls back into an earlier phase (read → load → use → commit), nor from a shared engine module into a phase', () => {
    const { edges } = graph()
    const wrong = edges.filter((e) => {
      if (e.typeOnly) return false
      const from = phaseOf(e.from)
      const to = phaseOf(e.to)
      if (to === undefined) return false
      if (from === undefined) return e.from.startsWith('engine/')
      return to < from
    })
    assert.deepEqual(wrong.map((e) => `${e.from} → ${e.to}`), [])
  })

  it('has no loop between engine/ and the modules beside it: what engine/ imports from src/ imports nothing from engine/', () => {
    const { edges } = graph()
    const outside = (file: string) => !file.includes('/')
    const usedByEngine = new Set(edges.filter((e) => e.from.startsWith('engine/') && outside(e.to)).map((e) => e.to))
    const wrong = edges.filter((e) => usedByEngine.has(e.from) && e.to.startsWith('engine/'))
    assert.ok(usedByEngine.has('session.ts') && usedByEngine.has('diagnostics.ts'), 'the engine builds req.session and reports diagnostics')
    assert.deepEqual(wrong.map((e) => `${e.from} → ${e.to}`), [])
  })

  it("keeps a compat request's state in its one state record: no map on the compat request path", () => {
    // a WeakMap entry per request cost more than the rest of the wrappers' work (measured)
    const requestPath = ['compat/middleware.ts', 'compat/request-session.ts', 'compat/commit.ts', 'compat/decide.ts', 'compat/cookie-id.ts']
    const mapping = requestPath.filter((file) => /new (?:Weak)?Map\b/.test(readFileSync(SRC + file, 'utf8')))
    assert.deepEqual(mapping, [])
  })

  it('declares the options both entries take once, in shared-options.ts', () => {
    const shared = optionNames('shared-options.ts', 'SharedSessionOptions')
    assert.ok(shared.length >= 10, shared.join())
    const redeclared = [...optionNames('options.ts', 'SessionOptions'), ...optionNames('compat/options.ts', 'CompatSessionOptions')].filter((name) => shared.includes(name))
    assert.deepEqual(redeclared, [])
  })

  it('touches res only in engine/commit.ts and the hooks it is built on (engine/response-hooks.ts, engine/first-write-guard.ts)', () => {
    const touching = sources().filter((file) => TOUCHES_RES.test(readFileSync(SRC + file, 'utf8')))
    assert.deepEqual(touching, ['engine/commit.ts', 'engine/first-write-guard.ts', 'engine/response-hooks.ts'])
  })

  it('replaces a response method only with a bound function, never a closure made per response (README, design notes)', () => {
    const replacements = sources().flatMap((file) =>
      [...readFileSync(SRC + file, 'utf8').matchAll(/\bres\.(end|write|writeHead|flushHeaders)\s*=\s*([^\n]+)/g)].map((m) => `${file}: ${m[0]}`),
    )
    assert.ok(replacements.length >= 5, replacements.join('\n'))
    const closures = replacements.filter((line) => /=\s*(?:async\s+)?function\b|=\s*(?:async\s*)?(?:\([^)]*\)|\w+)\s*=>/.test(line))
    assert.deepEqual(closures, [])
  })
})
