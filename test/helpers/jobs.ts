import { gql } from './graphql.ts';

export interface JobState {
  id: string;
  status: string;
  progress: number;
  error: { code: string; message: string } | null;
  result: { urls: string[]; assetIds: string[] } | null;
}

const JOB_STATE = `query JobState($id: ID!) { job(id: $id) { id status progress error { code message } result } }`;

/** Polls Query.job until `done(job)` holds; fails with the last state seen after `timeoutMs`. */
export async function waitForJob(
  url: string,
  token: string,
  id: string,
  done: (job: JobState) => boolean = (job) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status),
  timeoutMs = 30_000,
): Promise<JobState> {
  const deadline = Date.now() + timeoutMs;
  let last: JobState | undefined;
  while (Date.now() < deadline) {
    const response = await gql<{ job: JobState }, { id: string }>(url, JOB_STATE, { id }, token);
    if (response.errors?.length) throw new Error(`job(${id}) failed: ${JSON.stringify(response.errors)}`);
    last = response.data!.job;
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`job ${id} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}
