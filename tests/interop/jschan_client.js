'use strict';
// A jschan client for the interop tests: connects to 127.0.0.1:PORT (the
// first argument), talks to a server that answers the forms of
// jschan_server.js, and prints one JSON line per step:
//   {"step":"request","reply":{...}}     3 plain messages, then a request
//                                       with a nested return channel
//   {"step":"requests","replies":[...]}  5 requests, each with its own
//                                       return channel, all in flight
//   {"step":"stream","sent":N,"echoed":N,"same":true}
//                                       a byte stream echoed back
//   {"step":"push","seq":7,"items":[...],"ended":true}
//                                       a channel the server opened, read to
//                                       its end
//   {"step":"big","length":N,"same":true} a message over 64 KiB and its echo
//   {"step":"done"}
// A step that fails prints {"step":...,"error":"..."} and the client exits 1.
// jschan sends no FIN on the streams it opens, so the byte stream is judged
// by its echoed length and nested channels the client sends on are left out.
const { createClient } = require('./compat');

const port = Number(process.argv[2]);
const stepTimeout = 10000;

function print(line) {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function withTimeout(what, promise) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(what + ': nothing within ' + stepTimeout + ' ms')),
                       stepTimeout);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function firstMessage(channel) {
  return new Promise((resolve, reject) => {
    channel.once('data', resolve);
    channel.once('error', reject);
  });
}

async function request(channel, msg) {
  const ret = channel.ReadChannel();
  msg.ret = ret;
  channel.write(msg);
  return withTimeout('reply to ' + msg.op, firstMessage(ret));
}

async function run(session) {
  const channel = session.WriteChannel();

  let step = 'request';
  try {
    for (let seq = 1; seq <= 3; seq++) channel.write({ op: 'plain', seq });
    const reply = await request(channel, { op: 'request', seq: 4, text: 'hello' });
    print({ step, reply });

    step = 'requests';
    const pending = [];
    for (let seq = 10; seq < 15; seq++) {
      pending.push(request(channel, { op: 'request', seq, text: 'n' + seq }));
    }
    print({ step, replies: await Promise.all(pending) });

    step = 'stream';
    const stream = channel.ByteStream();
    const sent = Buffer.concat([Buffer.from('hello from jschan\n'), Buffer.alloc(70000, 'j')]);
    const echoed = [];
    let echoedLength = 0;
    const allEchoed = new Promise((resolve, reject) => {
      stream.on('data', (chunk) => {
        echoed.push(chunk);
        echoedLength += chunk.length;
        if (echoedLength >= sent.length) resolve();
      });
      stream.on('error', reject);
    });
    channel.write({ op: 'stream', seq: 5, stream });
    stream.write(sent);
    await withTimeout('byte stream echo', allEchoed);
    print({ step, sent: sent.length, echoed: echoedLength,
            same: Buffer.concat(echoed).equals(sent) });

    step = 'push';
    const pushed = await request(channel, { op: 'push', seq: 7 });
    const items = [];
    await withTimeout('items on the channel the server opened', new Promise((resolve, reject) => {
      pushed.items.on('data', (item) => items.push(item));
      pushed.items.on('end', resolve);
      pushed.items.on('error', reject);
    }));
    print({ step, seq: pushed.seq, items, ended: true });

    step = 'big';
    const data = 'b'.repeat(100000);
    const big = await request(channel, { op: 'big', seq: 6, data });
    print({ step, length: big.length, same: big.data === data });
  } catch (err) {
    print({ step, error: String(err && err.message ? err.message : err) });
    process.exit(1);
  }
  print({ step: 'done' });
  session.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}

const session = createClient('127.0.0.1', port);
session.on('error', (err) => {
  print({ step: 'session', error: String(err && err.message ? err.message : err) });
  process.exit(1);
});
run(session);
