import type { MultipartFile } from '@fastify/multipart';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Core } from '../src/core.ts';
import type { Asset } from '../src/db/entities/asset.entity.ts';
import type { Actor } from '../src/services/actor.ts';
import { AppError, badInput } from '../src/services/errors.ts';
import { fileTooLarge } from '../src/services/upload.service.ts';
import { parseContract } from './rest.contract.ts';

/**
 * Reads a form the way the documents' clients send it: multipart (files streamed through the upload service as
 * they arrive) or urlencoded (an HTML form, Python requests' `data=`; text fields only). The hygiene hook has
 * checked each text field as it was read (server/input-hygiene.ts); they are then checked against the contract.
 */
export async function receiveForm<T extends z.ZodType>(
  core: Core,
  em: EntityManager,
  actor: Actor,
  request: FastifyRequest,
  fieldsContract: T,
  describe: (field: string) => string = (field) => `Invalid ${field}`,
): Promise<{ files: Map<string, Asset>; fields: z.output<T> }> {
  const files = new Map<string, Asset>();
  const fields: Record<string, unknown> = {};
  if (request.isMultipart()) {
    // busboy's own complaints (no boundary, a body cut short) are the client's malformed body, not a server fault.
    const malformed = (error: unknown) => badInput(`Invalid multipart body: ${(error as Error).message}`);
    const parts = request.parts();
    for (;;) {
      const next = await parts.next().catch((error: unknown) => {
        // A field the hygiene hook's iterator refused (server/input-hygiene.ts) is already the answer.
        throw error instanceof AppError || (error as { statusCode?: number }).statusCode ? error : malformed(error);
      });
      if (next.done) break;
      const part = next.value;
      if (part.type === 'file') {
        const file = part as MultipartFile;
        try {
          files.set(file.fieldname, await core.uploads.upload(em, actor, { filename: file.filename, content: file.file }));
        } catch (error) {
          // @fastify/multipart stops a file at UPLOAD_MAX_BYTES; the documents answer an oversized file as bad input (400).
          const refused = (error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE' ? fileTooLarge(core.config.UPLOAD_MAX_BYTES) : error;
          if (refused instanceof AppError) throw new AppError(refused.code, `${describe(file.fieldname)}: ${refused.message}`, refused.details);
          if (file.file.errored) throw malformed(file.file.errored);
          throw error;
        }
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
  } else if (request.body && typeof request.body === 'object') {
    Object.assign(fields, request.body);
  }
  return { files, fields: parseContract(fieldsContract, fields) };
}
