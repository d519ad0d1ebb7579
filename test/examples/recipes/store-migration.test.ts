/**
 * The store-migration recipe over HTTP on a real Redis: signed in on the app as it was
 * (express-session + connect-redis), still signed in on the app after the move (the main entry on
 * RedisStore through migrateStore), with the session moved out of connect-redis.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createClient } from 'redis'
import { createApp, createBeforeApp } from '../../../examples/recipes/store-migration/server.ts'
import { REDIS_URL, redisSkip, uniqueName } from '../../support/services.ts'
import { serve, type Served } from '../serve.ts'

describe('store-migration recipe', async () => {
  const skip = await redisSkip()
  let client: ReturnType<typeof createClient>
  let beforeMove: Served
  let afterMove: Served
  const oldPrefix = uniqueName('tess:recipe:old') + ':'
  const newPrefix = uniqueName('tess:recipe:new') + ':'
  before(async () => {
    if (skip) return
    client = createClient({ url: REDIS_URL })
    await client.connect()
    beforeMove = await serve(createBeforeApp({ client, oldPrefix }))
    afterMove = await serve(createApp({ client, oldPrefix, newPrefix }))
  })
  after(async () => {
    if (skip) return
    await beforeMove.close()
    await afterMove.close()
    const keys = [...(await client.keys(`${oldPrefix}*`)), ...(await client.keys(`${newPrefix}*`))]
    if (keys.length > 0) await client.del(keys)
    await client.quit()
  })

  it('keeps a user signed in across the move, and empties the old store', { skip }, async () => {
    // the same cookie jar on both apps, as a browser on one host would have
    const browser = beforeMove.browser()
    assert.equal((await browser.get('/login')).body, 'Signed in as ann.')
    assert.equal((await client.keys(`${oldPrefix}*`)).length, 1)
    const oldCookie = browser.cookie('connect.sid') as string

    const moved = afterMove.browser()
    moved.setCookie('connect.sid', oldCookie)
    assert.equal((await moved.get('/')).body, 'Signed in as ann.')
    assert.match(moved.cookie('connect.sid') as string, /^v1\./)
    assert.equal((await moved.get('/')).body, 'Signed in as ann.')
    assert.deepEqual(await client.keys(`${oldPrefix}*`), [])
  })
})
