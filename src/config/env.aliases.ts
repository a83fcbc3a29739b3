/**
 * Variable names the REST documents use, accepted for ours so their `.env` files work unchanged. Our own
 * name wins when both are set. (Kept apart from config.ts so other alias tables merge without conflict.)
 */
export const ENV_ALIASES: Readonly<Record<string, string>> = {
  // Document 003: "JWT密钥" — the key that signs login tokens.
  SECRET_KEY: 'JWT_SECRET',
  // Document 004: one ComfyUI server.
  COMFYUI_SERVER_URL: 'COMFYUI_SERVER_URLS',
};

export function withAliases(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const [alias, name] of Object.entries(ENV_ALIASES)) {
    if (out[name] === undefined && out[alias] !== undefined) out[name] = out[alias];
  }
  return out;
}

/** " (set as SECRET_KEY)" when `name` got its value from an alias, so an error names what the user wrote. */
export function aliasNote(env: Record<string, string | undefined>, name: string): string {
  if (env[name] !== undefined && env[name] !== '') return '';
  const alias = Object.entries(ENV_ALIASES).find(([from, to]) => to === name && env[from] !== undefined && env[from] !== '');
  return alias ? ` (set as ${alias[0]})` : '';
}
