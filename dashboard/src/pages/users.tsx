import { useState } from 'preact/hooks';
import { operations } from '../../../sdk/src/index.ts';
import { atelier, messageOf, useLoad } from '../api.ts';
import { View, when } from '../ui.tsx';

/** Admins may make a key for another user (createApiKey with userId); the secret is shown once. */
function KeyForUser({ userId }: { userId: string }) {
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async () => {
    setError(null);
    try {
      const { createApiKey } = await atelier.request(operations.CreateApiKey, { name: `made by an admin ${new Date().toISOString().slice(0, 10)}`, userId });
      setSecret(createApiKey.secret);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <p class="small">
      <button type="button" class="secondary" onClick={create}>
        New API key for this user
      </button>{' '}
      {secret ? <code>{secret}</code> : null}
      {error ? <span class="error">{messageOf(error)}</span> : null}
    </p>
  );
}

function Quota({ userId }: { userId: string }) {
  const quota = useLoad(() => atelier.request(operations.UserQuota, { userId }).then((r) => r.userQuota), [userId]);
  const [message, setMessage] = useState<string | null>(null);
  const save = async (event: Event) => {
    event.preventDefault();
    const v = new FormData(event.target as HTMLFormElement);
    const n = (key: string) => (String(v.get(key) ?? '').trim() === '' ? null : Number(v.get(key)));
    try {
      await atelier.request(operations.SetUserQuota, {
        userId,
        input: { imagesPerDay: n('imagesPerDay'), videosPerDay: n('videosPerDay'), maxResolution: String(v.get('maxResolution')), maxFrames: n('maxFrames') ?? undefined },
      });
      setMessage('Saved.');
      quota.reload();
    } catch (e) {
      setMessage(messageOf(e));
    }
  };
  return (
    <View state={quota}>
      {(q) => (
        <form class="quota inline" onSubmit={save}>
          <label>
            Images/day <input name="imagesPerDay" type="number" min={0} defaultValue={q.imagesPerDay?.toString() ?? ''} placeholder="no limit" />
          </label>
          <label>
            Videos/day <input name="videosPerDay" type="number" min={0} defaultValue={q.videosPerDay?.toString() ?? ''} placeholder="no limit" />
          </label>
          <label>
            Max size <input name="maxResolution" defaultValue={q.maxResolution} />
          </label>
          <label>
            Max frames <input name="maxFrames" type="number" min={1} defaultValue={String(q.maxFrames)} />
          </label>
          <button type="submit">Save quota</button>
          {message ? <span class="small">{message}</span> : null}
        </form>
      )}
    </View>
  );
}

/** Users (admin): create them and set each one's quota. */
export function UsersPage() {
  const users = useLoad(() => atelier.request(operations.Users).then((r) => r.users), []);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async (event: Event) => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const v = new FormData(form);
    setError(null);
    try {
      await atelier.request(operations.CreateUser, { username: String(v.get('username')), password: String(v.get('password')), role: v.get('admin') ? 'ADMIN' : 'USER' });
      form.reset();
      users.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <h1>Users</h1>
      <form class="card inline" onSubmit={create}>
        <input name="username" placeholder="username" required aria-label="Username" />
        <input name="password" type="password" placeholder="password (8+ characters)" required minLength={8} aria-label="Password" />
        <label class="check">
          <input type="checkbox" name="admin" /> admin
        </label>
        <button type="submit">Add user</button>
      </form>
      {error ? <div class="error">{messageOf(error)}</div> : null}
      <p class="muted small">API keys for yourself are under API keys; quotas are per user below.</p>
      <View state={users}>
        {(list) => (
          <ul class="users">
            {list.map((u) => (
              <li key={u.id}>
                <button type="button" class="link" onClick={() => setOpen(open === u.id ? null : u.id)}>
                  {u.username}
                </button>{' '}
                <span class="muted small">
                  {u.role.toLowerCase()} · since {when(u.createdAt)}
                </span>
                {open === u.id ? (
                  <>
                    <Quota userId={u.id} />
                    <KeyForUser userId={u.id} />
                  </>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </View>
    </section>
  );
}
