import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { Atelier, AtelierError } from '../../sdk/src/index.ts';

const TOKEN_KEY = 'atelier.token';

/** The one SDK client of the page; the token lives in localStorage so a reload stays signed in. */
export const atelier = new Atelier({ url: location.origin, token: localStorage.getItem(TOKEN_KEY) });

export function saveToken(token: string | null) {
  atelier.token = token;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export const messageOf = (error: unknown) =>
  error instanceof AtelierError ? `${error.message}${error.code.startsWith('HTTP_') ? '' : ` (${error.code})`}` : String((error as Error)?.message ?? error);

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  set: (update: (data: T | undefined) => T | undefined) => void;
}

/** Runs `load` when `deps` change; the newest call wins, so a slow old answer never overwrites a new one. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === generation.current && setState({ data, loading: false }),
      (error) => mine === generation.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(run, [run]);
  const set = useCallback((update: (data: T | undefined) => T | undefined) => setState((s) => ({ ...s, data: update(s.data) })), []);
  return { data: state.data, error: state.error, loading: state.loading, reload: run, set };
}

/** Feeds every event of a subscription to `onEvent` while mounted; answers the stream's error, if any. */
export function useStream<R>(open: () => AsyncGenerator<R>, onEvent: (event: R) => void, deps: unknown[]): unknown {
  const [error, setError] = useState<unknown>(null);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const stream = open();
    let stopped = false;
    setError(null);
    (async () => {
      try {
        for await (const event of stream) {
          if (stopped) break;
          handler.current(event);
        }
      } catch (e) {
        if (!stopped) setError(e);
      }
    })();
    return () => {
      stopped = true;
      void stream.return(undefined);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return error;
}

/** location.hash as a path, e.g. "#/jobs/123" → ["jobs", "123"]. */
export function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export const go = (path: string) => {
  location.hash = `#/${path}`;
};
