// Preloaded with `node --require`: the atproto servers call listen(port) with no host, which binds every
// interface; this makes 127.0.0.1 the default so the test network never listens beyond loopback.
const net = require('node:net')
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  const first = args[0]
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    if (first.path === undefined && first.fd === undefined && first.handle === undefined && !first.host) {
      args[0] = { ...first, host: '127.0.0.1' }
    }
  } else if (first === undefined || typeof first === 'function') {
    args.unshift(0, '127.0.0.1')
    if (first === undefined) args.splice(2, 1)
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
  }
  return listen.apply(this, args)
}
