import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';
import { WebSocket, WebSocketServer } from 'ws';

type Node = { class_type: string; inputs: Record<string, unknown> };
type Prompt = Record<string, Node>;

export interface FakeComfyOptions {
  /** Milliseconds each node takes (sampler steps share it). Default 5. */
  nodeDelayMs?: number;
  /** Steps (progress events and preview frames) of a sampler node. Default 3. */
  samplerSteps?: number;
  /** GPU indexes reported by /system_stats. Default [0]. */
  devices?: number[];
  /** Checkpoints CheckpointLoaderSimple accepts. */
  checkpoints?: string[];
}

export interface FakeComfySwitches {
  /** Close the prompt's client socket (once) after this many events were sent to it; the prompt goes on. */
  dropSocketAfterEvents: number | null;
  /** Stop the whole server (sockets destroyed, port closed) after this many nodes of a prompt ran. */
  crashAfterNodes: number | null;
  /** Restart after this many nodes of a prompt ran: sockets closed, queue and history forgotten, port still open. */
  restartAfterNodes: number | null;
  /** Answer every HTTP request and upgrade with a redirect to this URL. */
  redirectTo: string | null;
  /** Like ComfyUI's cache: nodes whose inputs (and upstream) equal the previous prompt's are reported in execution_cached and skipped. */
  cache: boolean;
}

interface QueueEntry {
  number: number;
  promptId: string;
  clientId: string | null;
  prompt: Prompt;
  outputs: string[];
}

const OUTPUT_NODES = new Set(['SaveImage', 'PreviewImage', 'SaveWEBM', 'SaveAnimatedWEBP', 'SaveAudio', 'VHS_VideoCombine', 'SaveVideo']);
const LINK = (v: unknown): v is [string, number] => Array.isArray(v) && v.length === 2 && typeof v[1] === 'number';

/**
 * A ComfyUI server on 127.0.0.1 that speaks its protocol byte for byte: POST /prompt (with its 400
 * `{error, node_errors}` shape), /ws?clientId= text events and binary preview frames, /history, /view,
 * /upload/image, /interrupt, /queue, /system_stats. Runs one prompt at a time, like ComfyUI. Records every
 * TCP connection and request, and has switches for a dropped socket, a crash mid-prompt and redirects.
 */
export class FakeComfyUI {
  readonly connections: { at: number; remote: string }[] = [];
  readonly requests: { method: string; url: string }[] = [];
  readonly prompts: { promptId: string; clientId: string | null; prompt: Prompt; front: boolean }[] = [];
  readonly interrupts: { promptId: string | null; running: string | null }[] = [];
  readonly deletes: string[][] = [];
  readonly uploads = new Map<string, Buffer>();
  readonly history = new Map<string, Record<string, unknown>>();
  /** Every text event sent, per client id, in order. */
  readonly sent = new Map<string, { type: string; data: Record<string, unknown> }[]>();
  readonly switches: FakeComfySwitches = { dropSocketAfterEvents: null, crashAfterNodes: null, restartAfterNodes: null, redirectTo: null, cache: false };
  url = '';

  private readonly options: Required<FakeComfyOptions>;
  private readonly http = createServer((req, res) => void this.handle(req, res));
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Map<string, Set<WebSocket>>();
  private readonly files = new Map<string, { data: Buffer; mime: string }>();
  private pending: QueueEntry[] = [];
  private running: QueueEntry | null = null;
  private interruptRequested = false;
  private counter = 0;
  private crashed = false;
  private dropped = false;
  private image: Buffer = Buffer.alloc(0);
  private preview: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private previousSignatures = new Map<string, string>();
  private generation = 0;

  constructor(options: FakeComfyOptions = {}) {
    this.options = {
      nodeDelayMs: options.nodeDelayMs ?? 5,
      samplerSteps: options.samplerSteps ?? 3,
      devices: options.devices ?? [0],
      checkpoints: options.checkpoints ?? ['sd_xl_base_1.0.safetensors', 'model.safetensors'],
    };
  }

  async start(): Promise<this> {
    this.image = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 80, b: 40 } } }).png().toBuffer();
    this.preview = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 255 } } }).jpeg().toBuffer();
    this.http.on('connection', (socket) => {
      this.connections.push({ at: Date.now(), remote: `${socket.remoteAddress}:${socket.remotePort}` });
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    void this.loop();
    return this;
  }

  /** Prompts run or waiting here now. */
  get load(): number {
    return this.pending.length + (this.running ? 1 : 0);
  }

  /** The server dies: every socket is destroyed and the port stops answering. */
  crash(): void {
    if (this.crashed) return;
    this.crashed = true;
    this.http.close();
    for (const socket of this.sockets) socket.destroy();
    for (const set of this.clients.values()) for (const ws of set) ws.terminate();
    this.wake?.();
  }

  /** ComfyUI restarted: its queue and history lived in memory, so both are gone; it answers again at once. */
  restart(): void {
    this.generation++;
    this.pending = [];
    this.history.clear();
    for (const set of this.clients.values()) for (const ws of set) ws.terminate();
  }

  async stop(): Promise<void> {
    this.crash();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /* ---- websocket ---- */

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer) {
    this.requests.push({ method: 'GET', url: req.url ?? '' });
    if (this.switches.redirectTo) {
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${this.switches.redirectTo}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/ws') return socket.destroy();
    const clientId = url.searchParams.get('clientId') ?? randomUUID().replaceAll('-', '');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      let set = this.clients.get(clientId);
      if (!set) this.clients.set(clientId, (set = new Set()));
      set.add(ws);
      ws.on('close', () => set.delete(ws));
      // ComfyUI greets each socket with the queue status and its session id.
      ws.send(JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: this.load } }, sid: clientId } }));
    });
  }

  private send(clientId: string | null, type: string, data: Record<string, unknown>) {
    if (!clientId) return;
    let log = this.sent.get(clientId);
    if (!log) this.sent.set(clientId, (log = []));
    log.push({ type, data });
    for (const ws of this.clients.get(clientId) ?? []) if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type, data }));
    const limit = this.switches.dropSocketAfterEvents;
    if (limit !== null && !this.dropped && log.length >= limit) {
      this.dropped = true;
      for (const ws of this.clients.get(clientId) ?? []) ws.terminate();
    }
  }

  /** Binary frame: 4-byte big-endian event type 1 (preview image), 4-byte format 1 (JPEG), the image. */
  private sendPreview(clientId: string | null) {
    if (!clientId) return;
    const header = Buffer.alloc(8);
    header.writeUInt32BE(1, 0);
    header.writeUInt32BE(1, 4);
    const frame = Buffer.concat([header, this.preview]);
    for (const ws of this.clients.get(clientId) ?? []) if (ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: true });
  }

  /* ---- HTTP ---- */

  private json(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    this.requests.push({ method: req.method ?? 'GET', url: req.url ?? '' });
    if (this.switches.redirectTo) {
      res.writeHead(302, { location: this.switches.redirectTo });
      return res.end();
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = `${req.method} ${url.pathname}`;
    try {
      if (route === 'GET /system_stats') return this.json(res, 200, this.systemStats());
      if (route === 'GET /queue') return this.json(res, 200, this.queueBody());
      if (route === 'POST /queue') return this.json(res, 200, this.queueChange(JSON.parse((await this.body(req)).toString() || '{}')));
      if (route === 'POST /prompt') return this.queuePrompt(res, JSON.parse((await this.body(req)).toString() || '{}'));
      if (route === 'POST /interrupt') return this.interrupt(res, (await this.body(req)).toString());
      if (route === 'GET /history') return this.json(res, 200, Object.fromEntries(this.history));
      if (req.method === 'GET' && url.pathname.startsWith('/history/')) {
        const id = decodeURIComponent(url.pathname.slice('/history/'.length));
        const entry = this.history.get(id);
        return this.json(res, 200, entry ? { [id]: entry } : {});
      }
      if (route === 'GET /view') return this.view(res, url.searchParams);
      if (route === 'POST /upload/image') return this.upload(req, res);
      this.json(res, 404, { error: 'not found' });
    } catch (error) {
      this.json(res, 500, { error: String(error) });
    }
  }

  private systemStats() {
    return {
      system: { os: 'posix', ram_total: 68719476736, ram_free: 34359738368, comfyui_version: '0.3.43', python_version: '3.12.3', pytorch_version: '2.7.1+cu128', embedded_python: false, argv: ['main.py'] },
      devices: this.options.devices.map((index) => ({
        name: `cuda:${index} NVIDIA Fake GPU : cudaMallocAsync`,
        type: 'cuda',
        index,
        vram_total: 25769803776,
        vram_free: 20000000000,
        torch_vram_total: 0,
        torch_vram_free: 0,
      })),
    };
  }

  private queueBody() {
    const row = (e: QueueEntry) => [e.number, e.promptId, e.prompt, { client_id: e.clientId }, e.outputs];
    return { queue_running: this.running ? [row(this.running)] : [], queue_pending: this.pending.map(row) };
  }

  private queueChange(body: { delete?: string[]; clear?: boolean }) {
    if (body.clear) this.pending = [];
    if (Array.isArray(body.delete)) {
      this.deletes.push(body.delete);
      this.pending = this.pending.filter((e) => !body.delete!.includes(e.promptId));
    }
    return {};
  }

  private interrupt(res: ServerResponse, raw: string) {
    const body = raw ? (JSON.parse(raw) as { prompt_id?: string }) : {};
    const target = body.prompt_id ?? null;
    this.interrupts.push({ promptId: target, running: this.running?.promptId ?? null });
    // Like ComfyUI: a targeted interrupt only stops that prompt if it is the one running.
    if (this.running && (target === null || target === this.running.promptId)) this.interruptRequested = true;
    res.writeHead(200).end();
  }

  private view(res: ServerResponse, params: URLSearchParams) {
    const key = `${params.get('type') ?? 'output'}/${params.get('subfolder') ?? ''}/${params.get('filename') ?? ''}`;
    const file = this.files.get(key);
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.mime, 'content-length': file.data.length });
    res.end(file.data);
  }

  private async upload(req: IncomingMessage, res: ServerResponse) {
    const request = new Request('http://fake/upload/image', { method: 'POST', headers: req.headers as Record<string, string>, body: new Uint8Array(await this.body(req)) });
    const form = await request.formData();
    const file = form.get('image');
    if (!(file instanceof File)) return this.json(res, 400, { error: 'no image' });
    const data = Buffer.from(await file.arrayBuffer());
    this.uploads.set(file.name, data);
    this.files.set(`input//${file.name}`, { data, mime: file.type });
    this.json(res, 200, { name: file.name, subfolder: '', type: 'input' });
  }

  /** Validates like ComfyUI: unknown links, unknown checkpoints and workflows without an output node are refused. */
  private queuePrompt(res: ServerResponse, body: { prompt?: Prompt; client_id?: string; prompt_id?: string; front?: boolean }) {
    const prompt = body.prompt ?? {};
    const outputs = Object.entries(prompt).filter(([, n]) => OUTPUT_NODES.has(n.class_type)).map(([id]) => id);
    if (!outputs.length) {
      return this.json(res, 400, { error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} }, node_errors: [] });
    }
    const nodeErrors: Record<string, unknown> = {};
    for (const [id, node] of Object.entries(prompt)) {
      if (node.class_type === 'CheckpointLoaderSimple' && !this.options.checkpoints.includes(String(node.inputs.ckpt_name))) {
        nodeErrors[id] = {
          errors: [
            {
              type: 'value_not_in_list',
              message: 'Value not in list',
              details: `ckpt_name: '${String(node.inputs.ckpt_name)}' not in ${JSON.stringify(this.options.checkpoints)}`,
              extra_info: { input_name: 'ckpt_name', input_config: null, received_value: node.inputs.ckpt_name },
            },
          ],
          dependent_outputs: outputs,
          class_type: node.class_type,
        };
      }
    }
    if (Object.keys(nodeErrors).length) {
      return this.json(res, 400, {
        error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
        node_errors: nodeErrors,
      });
    }
    const entry: QueueEntry = { number: this.counter++, promptId: body.prompt_id ?? randomUUID(), clientId: body.client_id ?? null, prompt, outputs };
    this.prompts.push({ promptId: entry.promptId, clientId: entry.clientId, prompt, front: body.front === true });
    // ComfyUI numbers a front prompt below every waiting one, so it runs next.
    if (body.front) this.pending.unshift(entry);
    else this.pending.push(entry);
    this.wake?.();
    this.json(res, 200, { prompt_id: entry.promptId, number: entry.number, node_errors: {} });
  }

  /* ---- execution ---- */

  private async loop() {
    while (!this.crashed) {
      const entry = this.pending.shift();
      if (!entry) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      this.running = entry;
      this.interruptRequested = false;
      await this.execute(entry);
      this.running = null;
    }
  }

  private order(prompt: Prompt): string[] {
    const done = new Set<string>();
    const visit = (id: string) => {
      if (done.has(id) || !prompt[id]) return;
      done.add(id);
      for (const value of Object.values(prompt[id]!.inputs)) if (LINK(value)) visit(String(value[0]));
      order.push(id);
    };
    const order: string[] = [];
    for (const id of Object.keys(prompt)) visit(id);
    return order;
  }

  /** A node's cache key: its class, its own inputs and, through links, everything upstream. */
  private signatures(prompt: Prompt): Map<string, string> {
    const result = new Map<string, string>();
    const of = (id: string): string => {
      const known = result.get(id);
      if (known) return known;
      const node = prompt[id]!;
      const inputs = Object.entries(node.inputs).map(([k, v]) => [k, LINK(v) ? `@${of(String(v[0]))}#${v[1]}` : v]);
      const signature = JSON.stringify([node.class_type, inputs]);
      result.set(id, signature);
      return signature;
    };
    for (const id of Object.keys(prompt)) of(id);
    return result;
  }

  private async execute(entry: QueueEntry) {
    const { promptId, clientId, prompt } = entry;
    const generation = this.generation;
    const gone = () => this.crashed || generation !== this.generation;
    const messages: [string, Record<string, unknown>][] = [];
    const event = (type: string, data: Record<string, unknown>) => {
      const full = { ...data, prompt_id: promptId, timestamp: Date.now() };
      if (type.startsWith('execution_')) messages.push([type, full]);
      this.send(clientId, type, full);
    };
    const outputs: Record<string, unknown> = {};
    const executed: string[] = [];
    const record = (status: string) =>
      this.history.set(promptId, {
        prompt: [entry.number, promptId, prompt, { client_id: clientId }, entry.outputs],
        outputs,
        status: { status_str: status, completed: status === 'success', messages },
        meta: {},
      });
    this.send(clientId, 'status', { status: { exec_info: { queue_remaining: this.load } } });
    event('execution_start', {});
    const signatures = this.signatures(prompt);
    const cached = this.switches.cache
      ? this.order(prompt).filter((id) => !OUTPUT_NODES.has(prompt[id]!.class_type) && this.previousSignatures.get(id) === signatures.get(id))
      : [];
    this.previousSignatures = signatures;
    event('execution_cached', { nodes: cached });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    for (const id of this.order(prompt)) {
      if (gone()) return;
      if (cached.includes(id)) continue;
      const node = prompt[id]!;
      this.send(clientId, 'executing', { node: id, display_node: id, prompt_id: promptId });
      const steps = 'steps' in node.inputs ? this.options.samplerSteps : 0;
      for (let step = 1; step <= steps; step++) {
        await sleep(this.options.nodeDelayMs / steps);
        if (gone()) return;
        if (this.interruptRequested) break;
        this.send(clientId, 'progress', { value: step, max: steps, prompt_id: promptId, node: id });
        this.sendPreview(clientId);
      }
      if (!steps) await sleep(this.options.nodeDelayMs);
      if (gone()) return;
      if (this.interruptRequested) {
        event('execution_interrupted', { node_id: id, node_type: node.class_type, executed });
        record('error');
        return;
      }
      if (node.class_type === 'FailNode') {
        event('execution_error', {
          node_id: id,
          node_type: node.class_type,
          executed,
          exception_message: String(node.inputs.message ?? 'boom'),
          exception_type: 'RuntimeError',
          traceback: ['Traceback (most recent call last):\n'],
          current_inputs: {},
          current_outputs: {},
        });
        record('error');
        return;
      }
      executed.push(id);
      if (OUTPUT_NODES.has(node.class_type)) {
        const output = this.makeOutput(id, node);
        outputs[id] = output;
        this.send(clientId, 'executed', { node: id, display_node: id, output, prompt_id: promptId });
      }
      if (this.switches.crashAfterNodes !== null && executed.length >= this.switches.crashAfterNodes) return this.crash();
      if (this.switches.restartAfterNodes !== null && executed.length >= this.switches.restartAfterNodes) {
        this.switches.restartAfterNodes = null;
        return this.restart();
      }
    }
    event('execution_success', {});
    record('success');
    this.send(clientId, 'executing', { node: null, prompt_id: promptId });
  }

  private makeOutput(id: string, node: Node) {
    const prefix = String(node.inputs.filename_prefix ?? 'ComfyUI');
    const type = node.class_type === 'PreviewImage' ? 'temp' : 'output';
    if (node.class_type === 'SaveAudio') {
      const filename = `${prefix}_${String(this.counter).padStart(5, '0')}_${id}.wav`;
      this.files.set(`${type}//${filename}`, { data: Buffer.from('RIFF....WAVEfake'), mime: 'audio/wav' });
      return { audio: [{ filename, subfolder: '', type }] };
    }
    if (node.class_type === 'SaveWEBM' || node.class_type === 'VHS_VideoCombine') {
      const filename = `${prefix}_${String(this.counter).padStart(5, '0')}_${id}.${node.class_type === 'SaveWEBM' ? 'webm' : 'mp4'}`;
      this.files.set(`${type}//${filename}`, { data: Buffer.from('fake video bytes'), mime: 'video/mp4' });
      return node.class_type === 'SaveWEBM' ? { images: [{ filename, subfolder: '', type }], animated: [true] } : { gifs: [{ filename, subfolder: '', type, format: 'video/h264-mp4' }] };
    }
    const filename = `${prefix}_${String(this.counter).padStart(5, '0')}_${id}_.png`;
    this.files.set(`${type}//${filename}`, { data: this.image, mime: 'image/png' });
    return { images: [{ filename, subfolder: '', type }] };
  }
}
