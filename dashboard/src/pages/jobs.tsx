import { useEffect, useRef, useState } from 'preact/hooks';
import { operations, type Job, type JobEvent } from '../../../sdk/src/index.ts';
import { atelier, useLoad, useStream } from '../api.ts';
import { Empty, ErrorBox, Progress, StatusBadge, View, when } from '../ui.tsx';

const STATUSES = ['QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
const KINDS = ['IMAGE', 'VIDEO', 'SPEECH', 'TALKING_HEAD', 'WORKFLOW'] as const;

export const kindLabel = (kind: string) => kind.charAt(0) + kind.slice(1).toLowerCase().replace('_', ' ');

/** The prompt or the text to speak; for a talking head or workflow, which has neither, its kind. */
export const describeJob = (job: Pick<Job, 'input' | 'kind'>) => {
  const input = (job.input ?? {}) as { prompt?: string; text?: string };
  return input.prompt ?? input.text ?? kindLabel(job.kind);
};

function Thumb({ job }: { job: Job }) {
  const picture = job.assets.find((a) => a.mime.startsWith('image/'));
  if (picture) return <img class="thumb" src={picture.url} alt="" loading="lazy" />;
  return <span class={`thumb kind-${job.kind.toLowerCase()}`}>{job.kind === 'SPEECH' ? '♪' : job.kind === 'IMAGE' ? '▣' : '▶'}</span>;
}

/** Your jobs (everyone's for an admin), kept live by the `jobs` subscription. */
export function JobsPage() {
  const [status, setStatus] = useState('');
  const [kind, setKind] = useState('');
  const [search, setSearch] = useState('');
  const [typed, setTyped] = useState('');
  const [limit, setLimit] = useState(30);
  useEffect(() => {
    const timer = setTimeout(() => setSearch(typed.trim()), 250);
    return () => clearTimeout(timer);
  }, [typed]);

  const list = useLoad(
    () =>
      atelier.jobs({
        first: limit,
        status: (status || undefined) as (typeof STATUSES)[number] | undefined,
        kind: (kind || undefined) as (typeof KINDS)[number] | undefined,
        search: search || undefined,
      }),
    [status, kind, search, limit],
  );
  const stats = useLoad(() => atelier.request(operations.Stats, {}).then((r) => r.stats), []);

  // Events of jobs on the page update their rows; a job not on the page means the list has changed: reload it (at most twice a second).
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const streamError = useStream(
    () => atelier.subscribe(operations.JobEvents),
    ({ jobs: event }: { jobs: JobEvent }) => {
      let known = false;
      list.set((data) => {
        if (!data) return data;
        const jobs = data.jobs.map((job) => {
          if (job.id !== event.jobId) return job;
          known = true;
          return { ...job, status: event.status, progress: event.progress, etaSeconds: event.etaSeconds, queuePosition: event.queuePosition };
        });
        return { ...data, jobs };
      });
      if (!known || event.status === 'COMPLETED') {
        pending.current ??= setTimeout(() => {
          pending.current = null;
          list.reload();
          stats.reload();
        }, 500);
      }
    },
    [],
  );

  return (
    <section>
      <div class="title-row">
        <h1>Jobs</h1>
        <a class="button" href="#/new">
          Generate
        </a>
      </div>
      {stats.data ? (
        <p class="muted counts">
          {stats.data.total} jobs ·{' '}
          {stats.data.byStatus
            .filter((s) => s.count)
            .map((s) => `${s.count} ${s.status.toLowerCase()}`)
            .join(' · ')}
        </p>
      ) : null}
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <input type="search" placeholder="Search prompts…" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} aria-label="Search" />
        <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)} aria-label="Status">
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option value={s}>{s.toLowerCase()}</option>
          ))}
        </select>
        <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)} aria-label="Kind">
          <option value="">Any kind</option>
          {KINDS.map((k) => (
            <option value={k}>{k.toLowerCase().replace('_', ' ')}</option>
          ))}
        </select>
      </form>
      {streamError ? <ErrorBox error={streamError} /> : null}
      <View
        state={list}
        empty={(data) =>
          data.jobs.length ? null : (
            <Empty>
              {status || kind || search ? 'No job matches these filters.' : 'No jobs yet.'} <a href="#/new">Generate something</a>.
            </Empty>
          )
        }
      >
        {(data) => (
          <>
            <ul class="job-list" data-testid="job-list">
              {data.jobs.map((job) => (
                <li key={job.id} data-job={job.id}>
                  <a href={`#/jobs/${job.id}`}>
                    <Thumb job={job} />
                    <span class="job-main">
                      <span class="job-prompt">{describeJob(job)}</span>
                      <span class="muted small">
                        {job.kind.toLowerCase().replace('_', ' ')} · {job.engine ?? '–'} · {when(job.createdAt)}
                        {job.owner ? ` · ${job.owner.username}` : ''}
                        {job.status === 'QUEUED' && job.queuePosition != null ? ` · #${job.queuePosition + 1} in queue` : ''}
                      </span>
                    </span>
                    <span class="job-state">
                      <StatusBadge status={job.status} />
                      <Progress value={job.progress} status={job.status} />
                    </span>
                  </a>
                </li>
              ))}
            </ul>
            {data.hasMore ? (
              <button type="button" class="secondary" onClick={() => setLimit(limit + 30)}>
                Show more
              </button>
            ) : null}
          </>
        )}
      </View>
    </section>
  );
}
