import type { CompatFamily } from './compat.common.ts';
import type { JsonSchema } from './rest.contract.ts';
import { familyResponses } from './rest.errors.ts';

/** Who may call a route, as OpenAPI `security` says it: a Bearer credential, optionally (002, 004), or no one's. */
export type Access = 'bearer' | 'optional' | 'public';

const SECURITY: Record<Access, Record<string, string[]>[]> = {
  bearer: [{ bearer: [] }],
  // An empty requirement means "or none": 002's and 004's clients send no credentials (see anonymous-families.ts).
  optional: [{}, { bearer: [] }],
  public: [],
};

export interface RouteDoc {
  family: CompatFamily;
  tags: string[];
  operationId: string;
  summary: string;
  access: Access;
  body?: JsonSchema;
  querystring?: JsonSchema;
  params?: JsonSchema;
  /** Media types of a body beside JSON (forms). */
  consumes?: string[];
  ok?: JsonSchema | null;
  okDescription?: string;
  errors?: number[];
  produces?: string[];
}

/** A REST route's Fastify schema: what /openapi.json documents, in one shape for every route of every family. */
export function routeSchema(doc: RouteDoc) {
  return {
    tags: doc.tags,
    operationId: doc.operationId,
    summary: doc.summary,
    security: SECURITY[doc.access],
    ...(doc.body ? { body: doc.body } : {}),
    ...(doc.querystring ? { querystring: doc.querystring } : {}),
    ...(doc.params ? { params: doc.params } : {}),
    ...(doc.consumes ? { consumes: doc.consumes } : {}),
    ...(doc.produces ? { produces: doc.produces } : {}),
    response: familyResponses(doc.family, doc.ok ?? null, doc.errors, doc.okDescription),
  };
}

/** The media types a document's form accepts: multipart (files) and urlencoded (an HTML form, requests' data=). */
export const FORM_TYPES = ['multipart/form-data', 'application/x-www-form-urlencoded'];

type DocExtras = Omit<RouteDoc, 'family' | 'tags' | 'operationId' | 'summary' | 'access'> & { tags?: string[]; access?: Access };

/** A family's route documenter: its tags and usual access, overridable per route. */
export const familyDoc =
  (family: CompatFamily, tags: string[], access: Access) =>
  (operationId: string, summary: string, extras: DocExtras = {}) =>
    routeSchema({ family, tags, access, operationId, summary, ...extras });
