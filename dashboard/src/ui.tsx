import type { ComponentChildren } from 'preact';
import type { Asset } from '../../sdk/src/index.ts';
import { messageOf } from './api.ts';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted loading" role="status">
      {what}…
    </p>
  );
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div class="error" role="alert">
      <strong>Something went wrong.</strong> {messageOf(error)}
      {retry && (
        <button type="button" class="link" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/** Loading, error and empty states in one place, then the content. */
export function View<T>(props: { state: { data: T | undefined; error: unknown; loading: boolean; reload: () => void }; empty?: (data: T) => ComponentChildren | null; children: (data: T) => ComponentChildren }) {
  const { data, error, loading, reload } = props.state;
  if (error && data === undefined) return <ErrorBox error={error} retry={reload} />;
  if (data === undefined) return loading ? <Loading /> : null;
  const empty = props.empty?.(data);
  return (
    <>
      {error ? <ErrorBox error={error} retry={reload} /> : null}
      {empty ?? props.children(data)}
    </>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge ${status.toLowerCase()}`}>{status.toLowerCase()}</span>;
}

export function Progress({ value, status }: { value: number; status?: string }) {
  return (
    <div class={`progress ${status?.toLowerCase() ?? ''}`} role="progressbar" aria-valuenow={value} aria-valuemin={0} aria-valuemax={100}>
      <div style={{ width: `${value}%` }} />
      <span>{value}%</span>
    </div>
  );
}

/** A result file shown as what it is: picture, video or audio. */
export function Media({ asset, alt }: { asset: Pick<Asset, 'url' | 'mime' | 'kind'>; alt: string }) {
  if (asset.mime.startsWith('image/')) return <img class="media" src={asset.url} alt={alt} />;
  if (asset.mime.startsWith('video/')) return <video class="media" src={asset.url} controls playsInline />;
  if (asset.mime.startsWith('audio/')) return <audio class="media" src={asset.url} controls />;
  return <a href={asset.url}>{asset.mime}</a>;
}

export const seconds = (value: number | null | undefined) =>
  value == null ? '–' : value < 90 ? `${Math.round(value)} s` : value < 5400 ? `${Math.round(value / 60)} min` : `${(value / 3600).toFixed(1)} h`;
export const ms = (value: number | null | undefined) => (value == null ? '–' : value < 1000 ? `${Math.round(value)} ms` : seconds(value / 1000));
export const bytes = (value: number | null | undefined) => {
  if (value == null) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let n = value;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${units[i]}`;
};
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '–');
export const money = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`;
