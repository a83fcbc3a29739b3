import { useState } from 'preact/hooks';
import { operations } from '../../../sdk/src/index.ts';
import { atelier, messageOf, useLoad, useStream } from '../api.ts';
import { Empty, ErrorBox, money, StatusBadge, View, when } from '../ui.tsx';

/** Paid providers: health, credits (asked on demand) and alerts, new ones live. */
export function ProvidersPage() {
  const providers = useLoad(() => atelier.request(operations.Providers), []);
  const [credits, setCredits] = useState<Record<string, string>>({});
  const streamError = useStream(
    () => atelier.subscribe(operations.Alerts),
    ({ alerts }) => providers.set((p) => (p ? { ...p, alerts: [alerts, ...p.alerts].slice(0, 50) } : p)),
    [],
  );
  const check = async (id: string) => {
    setCredits((c) => ({ ...c, [id]: 'asking…' }));
    try {
      const { providerCredits: r } = await atelier.request(operations.ProviderCredits, { id });
      setCredits((c) => ({ ...c, [id]: r.credits == null ? (r.hasCredits ? 'has credits (no balance API)' : 'no credits') : String(r.credits) }));
    } catch (e) {
      setCredits((c) => ({ ...c, [id]: messageOf(e) }));
    }
  };
  return (
    <section>
      <h1>Providers</h1>
      {streamError ? <ErrorBox error={streamError} /> : null}
      <View state={providers}>
        {({ providers: list, alerts }) => (
          <>
            {list.length ? (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Type</th>
                      <th>Health</th>
                      <th>Price</th>
                      <th>Credits</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((p) => (
                      <tr key={p.id}>
                        <td>
                          {p.name}
                          {p.isDefault ? ' (default)' : ''}
                          {p.isActive ? '' : ' (inactive)'}
                        </td>
                        <td>{p.type.toLowerCase()}</td>
                        <td>
                          <StatusBadge status={p.health} />
                        </td>
                        <td>{money(p.costPerImage)}</td>
                        <td>
                          {credits[p.id] ?? (p.creditsRemaining == null ? '–' : `${p.creditsRemaining} (${when(p.creditsCheckedAt)})`)}{' '}
                          <button type="button" class="link" onClick={() => check(p.id)}>
                            Check
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <Empty>No paid provider is configured (configureProvider in GraphQL, or OPENAI_API_KEY / PIAPI_API_KEY / STABLE_DIFFUSION_API_KEY).</Empty>
            )}
            <h2>Alerts</h2>
            {alerts.length ? (
              <ul class="alerts">
                {alerts.map((a) => (
                  <li key={a.id}>
                    <StatusBadge status={a.kind} /> {a.providerName ?? ''} {a.message} <span class="muted small">{when(a.at)}</span>
                  </li>
                ))}
              </ul>
            ) : (
              <Empty>No alerts.</Empty>
            )}
          </>
        )}
      </View>
    </section>
  );
}
