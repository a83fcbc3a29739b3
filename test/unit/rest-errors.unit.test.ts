import { describe, expect, it } from 'vitest';
import type { Job } from '../../src/db/entities/job.entity.ts';
import { AppError } from '../../src/services/errors.ts';
import { jobFailure, toFailure } from '../../rest-compat/compat.common.ts';
import { detailError as v1Error, mediaApiError, videoGeneratorError } from '../../rest-compat/rest.errors.ts';

const failedJob = (errorCode: string, errorMessage: string) =>
  ({ id: '550e8400-e29b-41d4-a716-446655440000', status: 'FAILED', errorCode, errorMessage }) as unknown as Job;

/** The families' error shapes for failures the e2e tests cannot provoke cheaply (job timeouts, GPU memory). */
describe('REST error mappers', () => {
  it('answers a job timeout as 408 timeout_error and a VRAM failure as resource_error (000)', () => {
    const timeout = toFailure(jobFailure(failedJob('TIMEOUT', 'Job exceeded its 30 s timeout')));
    expect(timeout.status).toBe(408);
    expect(mediaApiError(timeout)).toEqual({ detail: 'Job exceeded its 30 s timeout', type: 'timeout_error' });

    const vram = toFailure(jobFailure(failedJob('RESOURCE_ERROR', 'VRAM insuficiente. Necessário: 8GB')));
    expect(vram.status).toBe(500);
    expect(mediaApiError(vram)).toEqual({ detail: 'Erro ao executar workflow: VRAM insuficiente. Necessário: 8GB', type: 'resource_error' });

    const refused = toFailure(new AppError('RESOURCE_ERROR', 'insufficient VRAM: needs 8 GB'));
    expect(mediaApiError(refused).type).toBe('resource_error');
  });

  it('answers rate limits with the document’s own wording and each family’s shape', () => {
    const limited = toFailure(new AppError('RATE_LIMITED', 'Too many requests; retry in 1 s', { retryAfterSeconds: 1 }));
    expect(limited.status).toBe(429);
    expect(mediaApiError(limited)).toEqual({ detail: 'Muitas requisições. Tente novamente em alguns segundos.', type: 'rate_limit_exceeded' });
    expect(v1Error(limited)).toEqual({ detail: 'Too many requests; retry in 1 s', error_code: 'RATE_LIMITED' });
    expect(videoGeneratorError(limited)).toMatchObject({ error: 'Too many requests', details: 'Too many requests; retry in 1 s' });
  });

  it('hides unexpected errors behind a 500 without their message', () => {
    const failure = toFailure(new Error('connection string with password'));
    expect(failure).toEqual({ status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error', details: {} });
    expect(videoGeneratorError(failure)).toMatchObject({ error: 'Server error', details: 'Unexpected error' });
  });
});
