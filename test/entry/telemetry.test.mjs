// The built ES module entry finds @opentelemetry/api (a devDependency here) from dist/ and reports through
// the providers the app registered. Resolved through the package's own exports map: runs against dist/.
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { metrics, trace } from '@opentelemetry/api'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import session from 'tessera-session'

after(() => {
  metrics.disable()
  trace.disable()
})

describe('import with @opentelemetry/api installed', () => {
  it('reports metrics and spans from dist/', async () => {
    const handler = session({ secret: 'a development secret of sufficient length!!' })
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
    const spans = new InMemorySpanExporter()
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }))
    const server = http.createServer((req, res) =>
      handler(req, res, () => {
        req.session.n = 1
        res.end('ok')
      }),
    )
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const reply = await fetch(`http://127.0.0.1:${server.address().port}/`)
      assert.equal(reply.status, 200)
    } finally {
      server.close()
    }
    await reader.forceFlush()
    const names = exporter.getMetrics().flatMap((r) => r.scopeMetrics.filter((s) => s.scope.name === 'tessera-session').flatMap((s) => s.metrics.map((m) => m.descriptor.name)))
    assert.ok(names.includes('tessera_session.session.created'), names.join(', '))
    assert.deepEqual(spans.getFinishedSpans().map((s) => s.name), ['session.create'])
  })
})
