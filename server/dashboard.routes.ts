import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const DIST = fileURLToPath(new URL('../dashboard/dist/', import.meta.url));

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Atelier</title></head>
<body style="font-family:system-ui;max-width:40rem;margin:10vh auto;padding:1rem">
<h1>Atelier</h1><p>The dashboard has not been built yet. <code>./atelier start</code> builds it; or run
<code>node dashboard/build.main.ts</code> and reload.</p>
<p>GraphQL (GraphiQL) is at <a href="/graphql">/graphql</a>, the REST documentation at <a href="/docs">/docs</a>.</p></body></html>`;

/** The dashboard (dashboard/, built by Vite into dashboard/dist): its page at `/`, its hashed files under /dashboard/. */
export async function registerDashboardRoutes(app: FastifyInstance) {
  const built = existsSync(`${DIST}index.html`);
  if (built) {
    await app.register(async (scope) => {
      await scope.register(fastifyStatic, {
        root: DIST,
        prefix: '/dashboard/',
        decorateReply: false,
        index: false,
        // File names carry their content hash (Vite), so a browser may keep them for good.
        immutable: true,
        maxAge: '365d',
      });
    });
  }
  app.get('/', async (_request, reply) => {
    const page = existsSync(`${DIST}index.html`) ? await readFile(`${DIST}index.html`, 'utf8') : NOT_BUILT;
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page);
  });
}
