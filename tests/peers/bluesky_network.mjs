// A full local Bluesky network (PLC, PDS, AppView, bsync, Ozone) for the connector tests.
// Env: BSKY_STACK (the npm prefix of @atproto/dev-env), DB_POSTGRES_URL, DB_POSTGRES_SCHEMA ([A-Za-z_] only),
// REDIS_HOST. Prints one JSON line once ready; SIGTERM closes the network.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const entry = join(process.env.BSKY_STACK, 'node_modules', '@atproto', 'dev-env', 'dist', 'index.js')
const { TestNetwork } = await import(pathToFileURL(entry).href)
const started = Date.now()
const network = await TestNetwork.create({
  dbPostgresUrl: process.env.DB_POSTGRES_URL,
  dbPostgresSchema: process.env.DB_POSTGRES_SCHEMA,
  pds: { hostname: 'localhost', enableDidDocWithSession: true },
})
console.log(JSON.stringify({
  ready: true,
  ms: Date.now() - started,
  pds: network.pds.url,
  plc: network.plc.url,
  appview: network.bsky.url,
  ozone: network.ozone.url,
  ozone_did: network.ozone.ctx.cfg.service.did,
}))

// No periodic processAll(): the AppView indexes the PDS's firehose on its own within ~0.5 s, and the
// nudging would cost a sixth of a core while idle on a shared machine.
const alive = setInterval(() => {}, 1 << 30)
let closing = false
const stop = async () => {
  if (closing) return
  closing = true
  clearInterval(alive)
  try {
    await network.close()
  } catch (err) {
    console.error('close:', err.message)
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
