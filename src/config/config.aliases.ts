/**
 * The environment names the five REST documents use, read as Atelier's own when those are unset, so a
 * deployment's existing .env keeps working: SECRET_KEY (003) is JWT_SECRET, COMFYUI_SERVER_URL (004) the single
 * entry of COMFYUI_SERVER_URLS. API_KEY (003) and BATCH_MONITOR_INTERVAL (001) are read under their own names.
 */
export const DOCUMENT_ENV_ALIASES: Readonly<Record<string, string>> = {
  SECRET_KEY: 'JWT_SECRET',
  COMFYUI_SERVER_URL: 'COMFYUI_SERVER_URLS',
};

export function withDocumentAliases(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const [alias, name] of Object.entries(DOCUMENT_ENV_ALIASES)) {
    if (out[name] === undefined && out[alias] !== undefined) out[name] = out[alias];
  }
  return out;
}
