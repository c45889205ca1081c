'use strict';
// jschan 0.2.1 and its SPDY stack (spdy 1.x, msgpack5 1.x, bl 0.9) were
// written for Node.js 0.10. This module adapts them to current Node.js at
// load time, without touching node_modules, and exports jschan plus helpers
// that run it over plain TCP (no TLS, SPDY/3).

// spdy's Connection inherits from process.EventEmitter, gone since Node 7.
process.EventEmitter = require('events');

// Node 0.10's Buffer writers took a third `noAssert` argument and wrapped
// out-of-range values; spdy's framer relies on that for frame headers built
// with `0x80000000 | ...` (negative in JavaScript).
for (const [name, bits] of [
  ['writeUInt32BE', 32],
  ['writeUInt32LE', 32],
  ['writeUInt16BE', 16],
  ['writeUInt16LE', 16],
  ['writeUInt8', 8],
]) {
  const original = Buffer.prototype[name];
  Buffer.prototype[name] = function (value, offset, noAssert) {
    if (noAssert === true) value = bits === 32 ? value >>> 0 : value & ((1 << bits) - 1);
    return original.call(this, value, offset);
  };
}

// msgpack5 appends one BufferList to another; bl 0.9 then passes the inner
// list to Buffer.concat, which accepts only real buffers now. Flatten.
const BufferList = require('bl');
const appendToList = BufferList.prototype.append;
BufferList.prototype.append = function (buf) {
  if (buf instanceof BufferList) {
    for (const inner of buf._bufs) this.append(inner);
    return this;
  }
  return appendToList.call(this, buf);
};

// spdy drives Node's HTTP parser through its callback slots, which moved
// (a kOnMessageBegin slot was added in front) and changed signatures.
const { HTTPParser } = require('_http_common');
const { ServerResponse, kServerResponse } = require('_http_server');
const spdy = require('spdy');
const streamProto = spdy.Stream.prototype;
streamProto._parserHeadersComplete = function () {
  const onHeadersComplete = this.parser && this.parser[HTTPParser.kOnHeadersComplete];
  if (!onHeadersComplete) return onHeadersComplete;
  return function (info) {
    return onHeadersComplete.call(this, info.versionMajor, info.versionMinor, info.headers,
                                  info.method, info.url, info.statusCode, info.statusMessage,
                                  info.upgrade, false);
  };
};
streamProto._parserBody = function () {
  return this.parser && this.parser[HTTPParser.kOnBody];
};
streamProto._parserMessageComplete = function () {
  return this.parser && this.parser[HTTPParser.kOnMessageComplete];
};

// spdy hands each stream to Node's HTTP connection listener with its
// Connection as the server, which must now name the response class.
spdy.Connection.prototype[kServerResponse] = ServerResponse;

// Rendering response headers used the private _headerNames map.
spdy.response._renderHeaders = function () {
  return Object.assign({}, this.getHeaders());
};

// The remaining warnings are about the old APIs adapted above.
process.noDeprecation = true;

const jschan = require('jschan');

// Not a Node.js matter but a jschan fault: its channels decode every chunk
// the SPDY parser hands up as one whole message, and the parser hands up a
// DATA frame in pieces when it spans socket reads (a frame over 64 KiB
// always does). Keep the bytes until a message is complete. A probe decoder
// checks completeness first, so that jschan's own decoder, which opens
// channels as it meets them, runs once per message.
const msgpack5 = require('msgpack5');
const probe = msgpack5();
probe.registerDecoder(0x1, () => null);
probe.registerDecoder(0x2, () => null);
const spdyChannels = require('jschan/lib/spdy/channels');
spdyChannels.ReadChannel.prototype._transform = function (chunk, encoding, done) {
  if (this.skipFirstChunk) {
    delete this.skipFirstChunk;
    return done();
  }
  const pending = this._pendingBytes || (this._pendingBytes = new BufferList());
  pending.append(chunk);
  while (pending.length > 0) {
    try {
      probe.decode(pending.duplicate());
    } catch (err) {
      if (err instanceof probe.IncompleteBufferError) break;  // wait for more bytes
      return done(err);
    }
    this.push(this._session.encoder.decode(pending));
  }
  done();
};

// A jschan SPDY server over plain TCP.
function createServer() {
  // A key and certificate of any value skip jschan's generation of a
  // self-signed one, which plain TCP does not use.
  const server = jschan.spdyServer({ plain: true, ssl: false, key: 'unused', cert: 'unused' });
  // jschan finds its session through req.connection.socket.socket, the raw
  // socket under a TLS one; over plain TCP the raw socket is the only one.
  server.prependListener('connection', (socket) => {
    socket.socket = socket;
  });
  return server;
}

// A jschan SPDY client session over plain TCP.
function createClient(host, port) {
  const session = jschan.spdyClientSession({ host, port, spdy: { plain: true, ssl: false } });
  // Streams the server opens reach an HTTP server inside spdy's agent;
  // since Node 20 it refuses requests without a Host header (400), which
  // libchan peers never send.
  session.agent._spdyState.pushServer.requireHostHeader = false;
  return session;
}

module.exports = { jschan, createServer, createClient };
