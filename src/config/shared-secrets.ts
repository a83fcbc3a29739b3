import { ConfigError, type Config } from './config.ts';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

const isLoopback = (url: string | undefined) => {
  if (!url) return true;
  try {
    return LOOPBACK.has(new URL(url).hostname);
  } catch {
    return false;
  }
};

/**
 * Without JWT_SECRET and PROVIDER_KEY_SECRET each data directory makes its own, which is fine while everything runs
 * on one machine. Once PostgreSQL or Redis is reached over the network, other machines are presumably sharing them:
 * their APIs would reject each other's tokens and their workers could not open provider keys sealed elsewhere.
 * So there the secrets must be given, the same on every machine.
 */
export function requireSharedSecrets(config: Config): void {
  const clusterNodes = (config.REDIS_CLUSTER_NODES ?? '').split(',').filter(Boolean).map((n) => (n.includes('://') ? n : `redis://${n.trim()}`));
  if (isLoopback(config.DATABASE_URL) && isLoopback(config.REDIS_URL) && clusterNodes.every(isLoopback)) return;
  const missing = (['JWT_SECRET', 'PROVIDER_KEY_SECRET'] as const).filter((name) => !config[name]);
  if (!missing.length) return;
  throw new ConfigError(
    `${missing.join(' and ')} must be set when PostgreSQL or Redis is not on this machine: every API and worker sharing them ` +
      `must use the same secrets (generate each with \`openssl rand -base64 48\`). Without them this machine would make ` +
      `its own, and tokens signed by another API, or provider keys sealed by another machine, would not open here.`,
  );
}
