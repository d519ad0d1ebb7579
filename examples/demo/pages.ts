import { html, type Markup } from './html.ts'
import { page } from './layout.ts'
import { timeElement } from './time.ts'

export interface ProfileView {
  username: string
  /** Epoch ms of the sign-in. */
  signedInAt: number | undefined
  visits: number
  now: number
}

/** Why the login form is shown, when it is not the user's own choice. */
export type LoginReason = 'ended' | undefined

export function homePage(username: string | undefined): string {
  const body =
    username === undefined
      ? html`<p>A small site whose sign-ins are tessera-session sessions: log in, look at your devices, log in again from a second browser, then sign that one out from here.</p>
<p><a class="button" href="/login">Log in</a></p>
<p class="muted">Any user name works; the password is <code>demo</code>.</p>`
      : html`<p>You are signed in as <strong>${username}</strong>.</p>
<p><a href="/profile">Your profile</a> · <a href="/devices">Your devices</a></p>`
  return page({ title: 'Welcome', username, path: '/' }, body)
}

const ENDED_NOTICE = html`<p class="notice alert" role="alert">You were signed out on this browser: your session was ended from another device, or it expired. Log in again to continue.</p>`

export function loginPage(form: { username?: string | undefined; error?: string | undefined; reason?: LoginReason } = {}): string {
  const body = html`${form.reason === 'ended' ? ENDED_NOTICE : false}${form.error === undefined ? false : html`<p class="notice alert" role="alert">${form.error}</p>`}
<form class="card" method="post" action="/login">
  <label>User name <input name="username" value="${form.username ?? ''}" required maxlength="64" autocomplete="username"></label>
  <label>Password <input name="password" type="password" required autocomplete="current-password"></label>
  <button class="button" type="submit">Log in</button>
</form>
<p class="muted">Any user name works; the password is <code>demo</code>.</p>`
  return page({ title: 'Log in', username: undefined, path: '/login' }, body)
}

function when(at: number | undefined, now: number): Markup {
  return at === undefined ? html`unknown` : timeElement(at, now)
}

export function profilePage(view: ProfileView): string {
  const body = html`<dl class="card">
  <dt>User name</dt><dd>${view.username}</dd>
  <dt>Signed in</dt><dd>${when(view.signedInAt, view.now)}</dd>
  <dt>Visits to this page</dt><dd>${view.visits}</dd>
</dl>
<p><a href="/devices">Your devices</a>: where you are signed in, and signing them out.</p>`
  return page({ title: 'Profile', username: view.username, path: '/profile', private: true }, body)
}
