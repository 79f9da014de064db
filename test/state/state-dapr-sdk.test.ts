import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DaprClient, CommunicationProtocolEnum, LogLevel, StateConcurrencyEnum, StateConsistencyEnum } from '@dapr/dapr'
import type { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

// The official Dapr JS SDK over HTTP against a whole runtime (its API on a loopback port), as an app would use it.
for (const token of [undefined, 'sdk-token']) {
  const test = suite<{ rt: Runtime; client: DaprClient }>(`state dapr sdk (${token === undefined ? 'no token' : 'DAPR_API_TOKEN'})`)
  test.before(async (ctx) => {
    ctx.rt = await startRuntime(token === undefined ? {} : { api: { token } })
    const port = ctx.rt.addresses.api!.port
    ctx.client = new DaprClient({
      daprHost: '127.0.0.1',
      daprPort: String(port),
      communicationProtocol: CommunicationProtocolEnum.HTTP,
      logger: { level: LogLevel.Error },
      ...(token !== undefined ? { daprApiToken: token } : {}),
    })
  })
  test.after(async ({ rt }) => { await rt.stop(); await cleanupTmp() })

  test('state dapr sdk - save, get, getBulk and delete', async ({ client }) => {
    const saved = await client.state.save('statestore', [
      { key: 'order-1', value: { id: 1, total: 9.5 } },
      { key: 'name', value: 'plain string' },
      { key: 'count', value: 7 },
    ])
    assert.equal(saved, {}, JSON.stringify(saved))
    assert.equal(await client.state.get('statestore', 'order-1'), { id: 1, total: 9.5 })
    assert.is(await client.state.get('statestore', 'name'), 'plain string')
    assert.is(await client.state.get('statestore', 'count'), 7)
    const bulk = await client.state.getBulk('statestore', ['order-1', 'count', 'missing']) as any[]
    assert.equal(bulk.map((b) => b.key), ['order-1', 'count', 'missing'])
    assert.equal(bulk[0].data, { id: 1, total: 9.5 })
    assert.is(bulk[1].data, 7)
    assert.match(bulk[0].etag, /^\d+$/)
    assert.equal(await client.state.delete('statestore', 'count'), {})
    assert.is(await client.state.get('statestore', 'count'), '', 'the SDK reads a 204 as an empty string')
  })

  test('state dapr sdk - ETags through save and delete options', async ({ client }) => {
    await client.state.save('statestore', [{ key: 'e', value: 1 }])
    const [item] = await client.state.getBulk('statestore', ['e']) as any[]
    const firstWrite = { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE, consistency: StateConsistencyEnum.CONSISTENCY_STRONG }
    const create = await client.state.save('statestore', [{ key: 'e', value: 9, options: firstWrite }])
    assert.ok(create.error, 'first-write without an ETag does not overwrite an existing key')
    const ok = await client.state.save('statestore', [{ key: 'e', value: 2, etag: item.etag, options: firstWrite }])
    assert.equal(ok, {})
    const conflict = await client.state.save('statestore', [{ key: 'e', value: 3, etag: item.etag }])
    assert.ok(conflict.error, 'a stale ETag is refused')
    assert.match(String(conflict.error), '409')
    assert.match(String(conflict.error), 'ERR_STATE_SAVE')
    const del = await client.state.delete('statestore', 'e', { etag: item.etag, concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE, consistency: StateConsistencyEnum.CONSISTENCY_STRONG })
    assert.ok(del.error)
    assert.is(await client.state.get('statestore', 'e'), 2)
  })

  test('state dapr sdk - transaction and query', async ({ client }) => {
    await client.state.transaction('statestore', [
      { operation: 'upsert', request: { key: 'p1', value: { city: 'Oslo', n: 3 } } },
      { operation: 'upsert', request: { key: 'p2', value: { city: 'Bergen', n: 1 } } },
      { operation: 'upsert', request: { key: 'p3', value: { city: 'Oslo', n: 2 } } },
      { operation: 'delete', request: { key: 'order-1' } },
    ])
    assert.is(await client.state.get('statestore', 'order-1'), '')
    const res = await client.state.query('statestore', {
      filter: { EQ: { city: 'Oslo' } }, sort: [{ key: 'n', order: 'ASC' }], page: { limit: 10 },
    } as never)
    assert.equal(res.results.map((r: any) => [r.key, r.data.n]), [['p3', 2], ['p1', 3]])
    let failed = false
    try {
      await client.state.transaction('statestore', [{ operation: 'upsert', request: { key: 'bad||key', value: 1 } }])
    } catch (err) { failed = true; assert.match(String(err), 'ERR_MALFORMED_REQUEST') }
    assert.ok(failed)
  })

  if (token !== undefined) {
    test('state dapr sdk - a client without the token is refused, and writes nothing', async ({ rt, client }) => {
      const port = rt.addresses.api!.port
      const res = await fetch(`http://127.0.0.1:${port}/v1.0/state/statestore`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: 'sneaky', value: 1 }]) })
      assert.is(res.status, 401)
      assert.is((await res.json() as { errorCode: string }).errorCode, 'ERR_API_UNAUTHORIZED')
      assert.is(await client.state.get('statestore', 'sneaky'), '')
    })
  }

  test.run()
}
