import { createHash } from 'node:crypto'
import { constantMarkup, html, render, type Markup } from './html.ts'

/** Every style of the demo, inline and allowed by its hash: no external asset, no 'unsafe-inline'. */
const STYLE = `
:root { color-scheme: light dark; --text: #1f2328; --muted: #59636e; --line: #d1d9e0; --card: #fff; --page: #f6f8fa;
  --accent: #0b57d0; --on-accent: #fff; --danger: #b3261e; --ok: #1a7f37; }
@media (prefers-color-scheme: dark) { :root { --text: #e6edf3; --muted: #9198a1; --line: #3d444d; --card: #151b23; --page: #0d1117;
  --accent: #7cacf8; --on-accent: #0d1117; --danger: #ff8b85; --ok: #57c26c; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text); background: var(--page); }
header { background: var(--card); border-bottom: 1px solid var(--line); }
nav, main { max-width: 42rem; margin: 0 auto; padding: .75rem 1rem; }
nav { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem 1.25rem; }
nav a { color: inherit; font-weight: 600; text-decoration: none; }
nav a:hover, nav a[aria-current] { color: var(--accent); }
nav form { margin-left: auto; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 1rem 0; }
a { color: var(--accent); }
p, dl, ul, form { margin: 0 0 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 1rem; }
.button { font: inherit; font-weight: 600; min-height: 2.5rem; padding: .45rem 1rem; border-radius: 8px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--on-accent); cursor: pointer; }
.button:hover { filter: brightness(1.1); }
.button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.button.quiet { background: transparent; color: var(--accent); border-color: var(--line); }
.button.danger { background: transparent; color: var(--danger); border-color: currentColor; }
.notice { background: var(--card); border: 1px solid var(--line); border-left: 4px solid var(--ok); border-radius: 8px; padding: .75rem 1rem; }
.notice.alert { border-left-color: var(--danger); }
.muted { color: var(--muted); }
label { display: block; font-weight: 600; margin-bottom: 1rem; }
input { display: block; width: 100%; margin-top: .25rem; font: inherit; padding: .5rem .75rem; color: inherit; background: var(--page);
  border: 1px solid var(--line); border-radius: 8px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .5rem 1.5rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
time { white-space: nowrap; }
.devices { list-style: none; padding: 0; display: grid; gap: .75rem; }
.device { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 1rem; }
.device form { margin: 0; }
.device-name { font-weight: 600; overflow-wrap: anywhere; margin: 0; }
.device-times { color: var(--muted); font-size: .95rem; margin: 0; }
.badge { display: inline-block; margin-left: .5rem; padding: 0 .5rem; border-radius: 999px; font-size: .75rem; font-weight: 700;
  letter-spacing: .03em; text-transform: uppercase; vertical-align: .1em; background: var(--accent); color: var(--on-accent); white-space: nowrap; }
@media (max-width: 30rem) { dl { grid-template-columns: 1fr; gap: 0; } dd { margin-bottom: .75rem; } .device form, .device .button { width: 100%; } }
`

/**
 * The demo's one script, inline and allowed by its hash.
 * - Back/forward cache: a private page (body[data-private]) is hidden as the browser freezes it, and
 *   reloaded if the browser brings it back, so that Back after logout shows nothing of the signed-out
 *   user; the reload asks the server, which sends a signed-out browser to the login form.
 * - Times: the title of each <time> becomes the viewer's local date and time.
 */
const SCRIPT = `
if (document.body.hasAttribute('data-private')) {
  addEventListener('pagehide', (event) => { if (event.persisted) document.body.hidden = true })
  addEventListener('pageshow', (event) => { if (event.persisted) location.reload() })
}
for (const time of document.querySelectorAll('time[datetime]')) time.title = new Date(time.dateTime).toLocaleString()
`

const STYLE_MARKUP = constantMarkup(STYLE)
const SCRIPT_MARKUP = constantMarkup(SCRIPT)

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`
}

/** The demo's Content-Security-Policy: nothing but its own forms, its inline style and its inline script. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${sha256(STYLE)}`,
  `script-src ${sha256(SCRIPT)}`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

export interface PageOptions {
  title: string
  /** The signed-in user, for the navigation; undefined when signed out. */
  username: string | undefined
  /** The path of the page, to mark its link in the navigation. */
  path?: string
  /** A page about the signed-in user: never shown again from the back/forward cache. */
  private?: boolean
}

const LOGOUT_BUTTON = html`<form method="post" action="/logout"><button class="button quiet" type="submit">Log out</button></form>`

function link(href: string, label: string, current: string | undefined): Markup {
  return href === current ? html`<a href="${href}" aria-current="page">${label}</a>` : html`<a href="${href}">${label}</a>`
}

/** A whole page: navigation, title, body. */
export function page(options: PageOptions, body: Markup): string {
  const current = options.path
  const nav =
    options.username === undefined
      ? html`${link('/', 'Home', current)} ${link('/login', 'Log in', current)}`
      : html`${link('/', 'Home', current)} ${link('/profile', 'Profile', current)} ${link('/devices', 'Your devices', current)} ${LOGOUT_BUTTON}`
  return render(html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · tessera-session demo</title>
<style>${STYLE_MARKUP}</style>
</head>
<body${options.private ? html` data-private` : false}>
<header><nav>${nav}</nav></header>
<main>
<h1>${options.title}</h1>
${body}
</main>
<script>${SCRIPT_MARKUP}</script>
</body>
</html>
`)
}
