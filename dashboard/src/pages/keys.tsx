import { useState } from 'preact/hooks';
import { operations } from '../../../sdk/src/index.ts';
import { atelier, messageOf, useLoad } from '../api.ts';
import { Empty, View, when } from '../ui.tsx';

/** Your API keys: create (the secret is shown once), see when each was used, revoke. */
export function KeysPage({ admin }: { admin: boolean }) {
  const keys = useLoad(() => atelier.request(operations.ApiKeys).then((r) => r.apiKeys), []);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async (event: Event) => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const values = new FormData(form);
    setError(null);
    try {
      const scopes = values.getAll('scopes').map(String) as ('READ' | 'GENERATE' | 'ADMIN')[];
      const { createApiKey } = await atelier.request(operations.CreateApiKey, { name: String(values.get('name')), scopes: scopes.length ? scopes : undefined });
      setSecret(createApiKey.secret);
      form.reset();
      keys.reload();
    } catch (e) {
      setError(e);
    }
  };
  const revoke = async (id: string) => {
    try {
      await atelier.request(operations.RevokeApiKey, { id });
      keys.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <h1>API keys</h1>
      <form class="card inline" onSubmit={create}>
        <input name="name" placeholder="Key name, e.g. laptop" required aria-label="Key name" />
        {(['READ', 'GENERATE', ...(admin ? ['ADMIN'] : [])] as const).map((s) => (
          <label class="check">
            <input type="checkbox" name="scopes" value={s} /> {s.toLowerCase()}
          </label>
        ))}
        <button type="submit">Create key</button>
      </form>
      {secret ? (
        <div class="notice">
          Copy this key now; it is not shown again: <code data-testid="secret">{secret}</code>
        </div>
      ) : null}
      {error ? <div class="error">{messageOf(error)}</div> : null}
      <View state={keys} empty={(list) => (list.length ? null : <Empty>No API keys yet.</Empty>)}>
        {(list) => (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Prefix</th>
                  <th>Scopes</th>
                  <th>Last used</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((k) => (
                  <tr key={k.id} class={k.revokedAt ? 'muted' : ''}>
                    <td>{k.name}</td>
                    <td>
                      <code>{k.prefix}</code>
                    </td>
                    <td>{k.scopes.join(', ').toLowerCase()}</td>
                    <td>{when(k.lastUsedAt)}</td>
                    <td>
                      {k.revokedAt ? (
                        `revoked ${when(k.revokedAt)}`
                      ) : (
                        <button type="button" class="link danger" onClick={() => revoke(k.id)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </View>
    </section>
  );
}
