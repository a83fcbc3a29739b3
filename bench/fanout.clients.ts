/**
 * One process of bench:fanout's subscribers (forked by fanout.bench.ts): many lean graphql-transport-ws clients on
 * raw `ws` sockets. Each says hello, subscribes once and, per `next`, reads the three fields it needs (job id,
 * status, `at`) and notes the delay: receive time minus the event's `at` (stamped by whoever published it).
 * Nothing else a full client does (UTF-8 and message validation, a JSON parse of every message, retries, lazy
 * connection) runs here: the clients share the machine with the server, and should take as little of it as they can.
 *
 * Driven over IPC: connect → probe (until every socket saw the probe job through) → measure → report → close.
 */
import WebSocket from 'ws';

type Command =
  | { type: 'connect'; url: string; token: string; count: number; query: string }
  | { type: 'probe'; jobId: string }
  | { type: 'measure'; perSocket: number; ignore: string[] }
  | { type: 'report' }
  | { type: 'close' };

/** A string field's value in a compact JSON text (our server's; the values hold no escapes). */
function field(text: string, name: string): string | undefined {
  const key = `"${name}":"`;
  const start = text.indexOf(key);
  if (start < 0) return undefined;
  const from = start + key.length;
  return text.slice(from, text.indexOf('"', from));
}

const send = (message: unknown) => process.send!(message);
const now = () => performance.timeOrigin + performance.now();

const sockets: WebSocket[] = [];
let probe: string | undefined;
const probed = new Set<WebSocket>();
let measuring = false;
let ignore = new Set<string>();
let expected = 0;
let delays: number[] = [];
let cpuAtStart = process.cpuUsage();
let cpuUsed: NodeJS.CpuUsage | undefined;
let lastAt = 0;

function onNext(socket: WebSocket, text: string) {
  const jobId = field(text, 'jobId');
  if (!jobId) return;
  if (jobId === probe) {
    if (field(text, 'status') === 'COMPLETED' && !probed.has(socket)) {
      probed.add(socket);
      if (probed.size === sockets.length) send({ type: 'probed' });
    }
    return;
  }
  if (!measuring || ignore.has(jobId)) return;
  const received = now();
  delays.push(received - Date.parse(field(text, 'at')!));
  lastAt = received;
  if (delays.length === expected) {
    cpuUsed = process.cpuUsage(cpuAtStart);
    send({ type: 'measured' });
  }
}

/** One socket, resolved once the server acknowledged it and the subscription was sent. */
function open(url: string, token: string, query: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false, skipUTF8Validation: true });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.once('error', reject);
    socket.once('close', (code) => reject(new Error(`closed ${code}`)));
    socket.on('message', (data) => {
      const text = String(data);
      if (text.startsWith('{"id"')) return onNext(socket, text);
      const message = JSON.parse(text) as { type: string };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        resolve(socket);
      } else if (message.type === 'ping') socket.send('{"type":"pong"}');
    });
  });
}

process.on('message', async (command: Command) => {
  switch (command.type) {
    case 'connect': {
      // In batches: a socket that opened but could not say hello in time (the machine is busy) is closed by the
      // server and simply opened again.
      let refused = 0;
      while (sockets.length < command.count) {
        const batch = await Promise.allSettled(
          Array.from({ length: Math.min(200, command.count - sockets.length) }, () => open(command.url, command.token, command.query)),
        );
        for (const result of batch) {
          if (result.status === 'fulfilled') sockets.push(result.value);
          else refused++;
        }
      }
      send({ type: 'connected', refused });
      return;
    }
    case 'probe':
      probe = command.jobId;
      probed.clear();
      return;
    case 'measure':
      ignore = new Set(command.ignore);
      expected = command.perSocket * sockets.length;
      delays = [];
      cpuUsed = undefined;
      cpuAtStart = process.cpuUsage();
      measuring = true;
      return;
    case 'report': {
      measuring = false;
      const cpu = cpuUsed ?? process.cpuUsage(cpuAtStart);
      send({ type: 'report', delays, expected, lastAt, cpuMs: (cpu.user + cpu.system) / 1000 });
      return;
    }
    case 'close':
      for (const socket of sockets) socket.terminate();
      process.exit(0);
  }
});
send({ type: 'ready' });
