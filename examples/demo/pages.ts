import { html, render, type Markup } from './html.ts'

/** One of a user's sessions, as the profile lists it. */
export interface SessionSummary {
  /** The session of the browser looking at the page. */
  current: boolean
  /** Epoch ms the session was created (at sign-in). */
  createdAt: number | undefined
  /** Epoch ms the session dies unless used again; undefined when the store does not say. */
  expiresAt: number | undefined
}

export interface ProfileView {
  username: string
  createdAt: number | undefined
  visits: number
  /** The user's sessions; undefined when the store cannot list them. */
  sessions: readonly SessionSummary[] | undefined
  /** How many other sessions "sign out everywhere else" just ended, when it was used. */
  revoked: number | undefined
}

const STYLE = html`<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; }
  nav { display: flex; gap: 1rem; align-items: center; border-bottom: 1px solid #ccc; padding-bottom: .5rem; }
  nav form { margin-left: auto; }
  label { display: block; margin: .5rem 0; }
  .error { color: #a00; }
  .notice { color: #060; }
</style>`

function time(at: number | undefined): Markup {
  if (at === undefined) return html`unknown`
  const date = new Date(at)
  return html`<time datetime="${date.toISOString()}">${date.toUTCString()}</time>`
}

const LOGOUT_BUTTON = html`<form method="post" action="/logout"><button type="submit">Log out</button></form>`

function page(title: string, username: string | undefined, body: Markup): string {
  const nav = username === undefined
    ? html`<a href="/">Home</a> <a href="/login">Log in</a>`
    : html`<a href="/">Home</a> <a href="/profile">Profile</a> ${LOGOUT_BUTTON}`
  return render(html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · tessera-session demo</title>${STYLE}</head>
<body>
<nav>${nav}</nav>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`)
}

export function homePage(username: string | undefined): string {
  const body = username === undefined
    ? html`<p>A small site whose sign-ins are tessera-session sessions: log in, look at your profile, log in again from a second browser, then sign out everywhere else.</p>
<p><a href="/login">Log in</a> with any user name and the password <code>demo</code>.</p>`
    : html`<p>You are signed in as <strong>${username}</strong>. See your <a href="/profile">profile</a>.</p>`
  return page('Welcome', username, body)
}

export function loginPage(form: { username?: string | undefined; error?: string | undefined } = {}): string {
  const body = html`${form.error === undefined ? false : html`<p class="error" role="alert">${form.error}</p>`}
<p>Any user name works; the password is <code>demo</code>.</p>
<form method="post" action="/login">
  <label>User name <input name="username" value="${form.username ?? ''}" required maxlength="64" autocomplete="username"></label>
  <label>Password <input name="password" type="password" required autocomplete="current-password"></label>
  <button type="submit">Log in</button>
</form>`
  return page('Log in', undefined, body)
}

export function profilePage(view: ProfileView): string {
  const body = html`${view.revoked === undefined ? false : html`<p class="notice" role="status">Signed out ${view.revoked} other ${view.revoked === 1 ? 'session' : 'sessions'}.</p>`}
<dl>
  <dt>User name</dt><dd>${view.username}</dd>
  <dt>Session created</dt><dd>${time(view.createdAt)}</dd>
  <dt>Visits to this page</dt><dd>${view.visits}</dd>
</dl>
<h2>Active sessions</h2>
${view.sessions === undefined ? html`<p>This session store cannot list a user's sessions.</p>` : sessionList(view.sessions)}`
  return page('Profile', view.username, body)
}

function sessionList(sessions: readonly SessionSummary[]): Markup {
  const others = sessions.filter((s) => !s.current).length
  const items = sessions.map(
    (s) => html`<li>${s.current ? html`<strong>this browser</strong>` : 'another browser'}: signed in ${time(s.createdAt)}, expires ${s.expiresAt === undefined ? 'when the browser closes' : time(s.expiresAt)}</li>`,
  )
  return html`<ul>${items}</ul>
<form method="post" action="/sessions/revoke">
  <button type="submit"${others === 0 ? html` disabled` : false}>Sign out everywhere else</button>
</form>`
}
