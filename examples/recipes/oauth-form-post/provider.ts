/**
 * A fake OAuth 2.0 / OpenID provider for the oauth-form-post recipe and its test: it signs everyone
 * in as Ann, answers the authorization request with `response_mode=form_post` (an auto-submitting
 * form that POSTs `code` and `state` to the app, across sites, as Apple and Microsoft do), and
 * exchanges a code for the user once, checking PKCE.
 */
import { createHash, randomBytes } from 'node:crypto'
import express from 'express'

export const CLIENT_ID = 'recipe-app'

interface Grant {
  challenge: string
  redirectUri: string
  expiresAt: number
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function createProvider(expressModule: typeof express = express): express.Express {
  const app = expressModule()
  const grants = new Map<string, Grant>()

  app.get('/authorize', (req, res) => {
    const { client_id: clientId, redirect_uri: redirectUri, state, code_challenge: challenge, code_challenge_method: method, response_mode: mode } = req.query
    if (clientId !== CLIENT_ID || typeof redirectUri !== 'string' || typeof state !== 'string' || typeof challenge !== 'string' || method !== 'S256' || mode !== 'form_post') {
      res.status(400).send('invalid authorization request')
      return
    }
    const code = randomBytes(24).toString('base64url')
    grants.set(code, { challenge, redirectUri, expiresAt: Date.now() + 60_000 })
    // form_post: the browser POSTs the result to the app, a top-level cross-site navigation
    res.type('html').send(
      `<form method="post" action="${escapeHtml(redirectUri)}">` +
        `<input type="hidden" name="code" value="${escapeHtml(code)}"><input type="hidden" name="state" value="${escapeHtml(state)}">` +
        '<noscript><button>Continue</button></noscript></form><script>document.forms[0].submit()</script>',
    )
  })

  app.post('/token', express.urlencoded({ extended: false }), (req, res) => {
    const { code, code_verifier: verifier, redirect_uri: redirectUri, client_id: clientId } = req.body as Record<string, string | undefined>
    const grant = code === undefined ? undefined : grants.get(code)
    if (code !== undefined) grants.delete(code)
    const challenge = verifier === undefined ? '' : createHash('sha256').update(verifier).digest('base64url')
    if (!grant || grant.expiresAt < Date.now() || clientId !== CLIENT_ID || redirectUri !== grant.redirectUri || challenge !== grant.challenge) {
      res.status(400).json({ error: 'invalid_grant' })
      return
    }
    res.json({ sub: 'user-ann', name: 'Ann' })
  })
  return app
}
