import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

/** The guides the media API document (000) links from its "Recursos Adicionais": served as Markdown. */
const PAGES = ['optimization.md', 'faq.md'] as const;

export function registerDocsPages(app: FastifyInstance) {
  for (const page of PAGES) {
    const file = new URL(`./docs/${page}`, import.meta.url);
    app.get(`/docs/${page}`, async (_request, reply) =>
      reply.type('text/markdown; charset=utf-8').header('cache-control', 'public, max-age=3600').send(await readFile(file, 'utf8')),
    );
  }
}
