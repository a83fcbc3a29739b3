import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';

/** What the next generation request meets. `ok` is the default once the queue is empty. */
export type Fault = 'ok' | 'delay' | 'timeout' | '429' | '500' | 'no-credits' | 'empty';

export interface FakeProvider {
  url: string;
  apiKey: string;
  /** Consumed one per generation request, in order. */
  faults: Fault[];
  /** For `delay`, and for every request when set: milliseconds before answering. */
  delayMs: number;
  /** Generation requests received (each, whatever its fault). */
  generations: number;
  /** What the credits API reports (PiAPI's /account/info). */
  credits: number;
  requests: { method: string; path: string; body: unknown }[];
  close(): Promise<void>;
}

export type Handler = (fake: FakeProvider, req: IncomingMessage, body: unknown, res: ServerResponse, path: string) => Promise<void> | void;

export const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

let png: Buffer | undefined;
/** A small real PNG, so the worker's image checks pass. */
export async function fakePng(): Promise<Buffer> {
  png ??= await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 40, b: 40 } } }).png().toBuffer();
  return png;
}

/** Starts a fake on 127.0.0.1:0; `handler` answers API paths, `/files/*.png` serves the image. */
export async function startFake(apiKey: string, handler: Handler): Promise<FakeProvider> {
  const sockets = new Set<Socket>();
  const image = await fakePng();
  const fake: FakeProvider = {
    url: '',
    apiKey,
    faults: [],
    delayMs: 0,
    generations: 0,
    credits: 100,
    requests: [],
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.startsWith('/files/')) {
      res.writeHead(200, { 'content-type': 'image/png' });
      return res.end(image);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      return sendJson(res, 400, { error: 'bad json' });
    }
    fake.requests.push({ method: req.method ?? 'GET', path, body });
    try {
      await handler(fake, req, body, res, path);
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/**
 * Applies the next fault of a generation request and returns it; for 429, 500 and (usually)
 * no-credits it has already answered, for timeout it never will.
 */
export async function applyFault(fake: FakeProvider, res: ServerResponse, answers: { rateLimited: unknown; serverError: unknown; noCredits: [number, unknown] }): Promise<Fault> {
  fake.generations++;
  const fault = fake.faults.shift() ?? 'ok';
  if (fake.delayMs || fault === 'delay') await new Promise((r) => setTimeout(r, fake.delayMs || 200));
  if (fault === 'timeout') return fault; // never answered; the socket is destroyed at close
  if (fault === '429') sendJson(res, 429, answers.rateLimited);
  if (fault === '500') sendJson(res, 500, answers.serverError);
  // A null body means the protocol reports it later (e.g. a failed task); the handler answers.
  if (fault === 'no-credits' && answers.noCredits[1] !== null) sendJson(res, answers.noCredits[0], answers.noCredits[1]);
  return fault;
}
