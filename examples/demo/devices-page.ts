import { html, type Markup } from './html.ts'
import { page } from './layout.ts'
import { timeElement } from './time.ts'

/** One browser signed in as the user, as the "Your devices" page shows it. */
export interface Device {
  /** Opaque: names the session in the "sign out" form, never its id. */
  handle: string
  /** The browser looking at the page. */
  current: boolean
  /** "Firefox on Linux"; undefined when the browser did not say. */
  client: string | undefined
  /** Epoch ms of the sign-in. */
  signedInAt: number | undefined
  /** Epoch ms of the last request, as fresh as the session layer keeps it. */
  lastSeenAt: number | undefined
}

export interface DevicesView {
  username: string
  /** The user's devices; undefined when the store cannot list them. */
  devices: readonly Device[] | undefined
  /** How many devices the last action signed out, to say so. */
  signedOut: number | undefined
  now: number
}

/** This browser first, then the most recently active. */
export function byRecentUse(devices: readonly Device[]): Device[] {
  return [...devices].sort((a, b) => Number(b.current) - Number(a.current) || (b.lastSeenAt ?? 0) - (a.lastSeenAt ?? 0))
}

function deviceItem(device: Device, now: number): Markup {
  const name = device.client ?? 'Unknown browser'
  const signedIn = device.signedInAt === undefined ? false : html`Signed in ${timeElement(device.signedInAt, now)}`
  const active = device.current ? html`active now` : device.lastSeenAt === undefined ? false : html`active ${timeElement(device.lastSeenAt, now)}`
  const times = [signedIn, signedIn !== false && active !== false ? ' · ' : '', active]
  const action = device.current
    ? false
    : html`<form method="post" action="/devices/sign-out">
    <input type="hidden" name="device" value="${device.handle}">
    <button class="button danger" type="submit" aria-label="Sign out ${name}">Sign out</button>
  </form>`
  return html`<li class="card device${device.current ? ' current' : ''}">
  <div>
    <p class="device-name">${name}${device.current ? html`<span class="badge">This device</span>` : false}</p>
    <p class="device-times">${times}</p>
  </div>
  ${action}
</li>`
}

function signedOutNotice(count: number): Markup {
  return html`<p class="notice" role="status">Signed out ${count} ${count === 1 ? 'device' : 'devices'}.</p>`
}

function deviceList(devices: readonly Device[], now: number): Markup {
  const others = devices.filter((device) => !device.current).length
  const footer =
    others === 0
      ? html`<p class="muted">No other device is signed in. When you log in somewhere else, it appears here and you can sign it out.</p>`
      : html`<form method="post" action="/devices/sign-out-others">
  <button class="button danger" type="submit">Sign out all other devices</button>
</form>
<p class="muted">Signing out a device ends its session at once: its next request goes to the login form.</p>`
  return html`<ul class="devices">${byRecentUse(devices).map((device) => deviceItem(device, now))}</ul>
${footer}`
}

export function devicesPage(view: DevicesView): string {
  const body = html`${view.signedOut === undefined ? false : signedOutNotice(view.signedOut)}
<p>You are signed in as <strong>${view.username}</strong> on these browsers. Sign out any you do not recognise.</p>
${view.devices === undefined ? html`<p class="notice alert">This session store cannot list a user's sessions.</p>` : deviceList(view.devices, view.now)}`
  return page({ title: 'Your devices', username: view.username, path: '/devices', private: true }, body)
}
