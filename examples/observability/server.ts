/**
 * Sessions seen through OpenTelemetry: the app registers the SDK's providers, tessera-session reports
 * through them with no setup of its own, and this example prints every span as it ends and the
 * metrics every few seconds to the console. A real app would export to a collector instead (OTLP).
 *
 * Run: `npm run example -- observability`, then open http://127.0.0.1:3000 (a counter), /login and
 * /logout, and watch the terminal. `METRICS_INTERVAL` (ms, default 5000) sets how often metrics print.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { context, metrics, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import session from '../../src/index.ts'
import { MemoryStore } from '../../src/stores/memory.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../setup.ts'
export type { ExampleOptions }

declare module '../../src/index.ts' {
  interface SessionData {
    views: number
  }
}

/**
 * The SDK, registered as the global providers: what an app's telemetry file does at startup. The
 * context manager makes the request span below the active one across awaits, so that the store
 * call spans become its children.
 */
export function registerTelemetry(interval = Number(process.env.METRICS_INTERVAL || 5000)): () => Promise<void> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] })
  trace.setGlobalTracerProvider(tracerProvider)
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: interval })],
  })
  metrics.setGlobalMeterProvider(meterProvider)
  return async () => {
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()])
  }
}

/** The example's Express app; `listen` is left to the caller. */
export function createApp(options: ExampleOptions = {}): express.Express {
  const app = (options.express ?? express)()
  const tracer = trace.getTracer('observability-example')
  // a span per request, as @opentelemetry/instrumentation-http would start one: the session's store calls nest under it
  app.use((req, res, next) => {
    tracer.startActiveSpan(`${req.method} ${req.path}`, (span) => {
      res.on('finish', () => span.end())
      next()
    })
  })
  app.use(session({ secret: sessionSecret(), store: new MemoryStore(), circuitBreaker: {} }))

  app.get('/', (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1
    res.send(`Number of views: ${req.session.views}. <a href="/login">Sign in</a> · <a href="/logout">Sign out</a>`)
  })
  app.get('/login', async (req, res, next) => {
    try {
      // rotates the id: tessera_session.session.rotated{reason=login}
      await req.session.login('example-user')
      res.send('Signed in. <a href="/">Back</a>')
    } catch (err) {
      next(err)
    }
  })
  app.get('/logout', async (req, res, next) => {
    try {
      await req.session.destroy()
      res.send('Signed out. <a href="/">Back</a>')
    } catch (err) {
      next(err)
    }
  })
  return app
}

if (isMain(import.meta.url)) {
  const shutdown = registerTelemetry()
  const server = createApp().listen(Number(process.env.PORT || 3000), '127.0.0.1', (error) => {
    if (error) throw error
    const { port } = server.address() as AddressInfo
    console.log(`observability example listening on http://127.0.0.1:${port}`)
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      server.close()
      // the last metrics are printed on the way out
      void shutdown().then(() => process.exit(0))
    })
  }
}
