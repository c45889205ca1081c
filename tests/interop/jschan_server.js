'use strict';
// A jschan echo server for the interop tests. Prints "ready PORT" once it
// listens on 127.0.0.1, then one JSON line per event. Every top-level
// channel takes messages of these forms:
//   {op: 'plain', seq}                 remembered; listed in the next reply
//   {op: 'request', seq, text, ret}    answers {seq, text: 're: ' + text, seen} on ret
//   {op: 'stream', seq, stream, ret}   echoes the byte stream; when it ends,
//                                      answers {seq, bytes} on ret (if any)
//   {op: 'items', seq, items, ret}     reads the nested channel `items` to its
//                                      end, answers {seq, count, sum} on ret
//   {op: 'push', seq, ret}             answers {seq, items} on ret, where items is
//                                      a channel the server opens and sends
//                                      {n: 1}, {n: 2}, {n: 3} on
//   {op: 'big', seq, data, ret}        answers {seq, length, data} on ret
// It exits when its standard input closes (the test ended) or after the
// number of seconds given as its first argument (default 60).
const { createServer } = require('./compat');

const lifetime = Number(process.argv[2] || 60) * 1000;

function report(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function fail(err) {
  report({ event: 'error', message: String(err && err.stack ? err.stack : err) });
}

function handleMessage(state, msg) {
  switch (msg.op) {
    case 'plain':
      state.seen.push(msg.seq);
      break;
    case 'request':
      msg.ret.write({ seq: msg.seq, text: 're: ' + msg.text, seen: state.seen });
      state.seen = [];
      break;
    case 'stream': {
      let bytes = 0;
      msg.stream.on('data', (chunk) => {
        bytes += chunk.length;
        msg.stream.write(chunk);
      });
      msg.stream.on('end', () => {
        msg.stream.end();
        if (msg.ret) msg.ret.write({ seq: msg.seq, bytes });
      });
      msg.stream.on('error', fail);
      break;
    }
    case 'items': {
      let count = 0;
      let sum = 0;
      msg.items.on('data', (item) => {
        count += 1;
        sum += item.n;
      });
      msg.items.on('end', () => msg.ret.write({ seq: msg.seq, count, sum }));
      msg.items.on('error', fail);
      break;
    }
    case 'push': {
      // A channel this server opens: jschan sends it as a SPDY server push.
      const items = msg.ret.WriteChannel();
      msg.ret.write({ seq: msg.seq, items });
      for (let n = 1; n <= 3; n++) items.write({ n });
      items.end();
      break;
    }
    case 'big':
      report({ event: 'big', seq: msg.seq, length: msg.data.length });
      msg.ret.write({ seq: msg.seq, length: msg.data.length, data: msg.data });
      break;
    default:
      report({ event: 'unknown', op: msg.op });
  }
}

const server = createServer();
server.on('session', (session) => {
  report({ event: 'session' });
  session.on('error', fail);
  session.on('channel', (channel) => {
    const state = { seen: [] };
    channel.on('data', (msg) => {
      try {
        handleMessage(state, msg);
      } catch (err) {
        fail(err);
      }
    });
    channel.on('error', fail);
  });
});
server.on('error', (err) => {
  fail(err);
  process.exit(1);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write('ready ' + server.address().port + '\n');
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
setTimeout(() => {
  report({ event: 'lifetime over' });
  process.exit(2);
}, lifetime).unref();
