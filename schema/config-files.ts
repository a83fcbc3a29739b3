import { SYSTEM_FILE_KEYS } from '../src/config/config.ts';
import type { ConfigFilesStatus } from '../src/services/config-files.service.ts';
import { builder } from './builder.ts';

const ConfigFilesRef = builder.objectRef<ConfigFilesStatus>('ConfigFiles').implement({
  description: 'The YAML files under CONFIG_DIR (video platform layout) as this API process last read them.',
  fields: (t) => ({
    dir: t.exposeString('dir'),
    loadedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.loadedAt }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: 'Why the last change was not applied (file, line, problem); the settings read before it stay in force.',
    }),
    warnings: t.exposeStringList('warnings'),
    restartNeeded: t.exposeStringList('restartNeeded', { description: 'system_config.yaml settings changed since start: only a restart applies them.' }),
  }),
});

interface Setting {
  key: string;
  value: string | null;
  source: string;
}

const SettingRef = builder.objectRef<Setting>('SystemSetting').implement({
  description: 'A setting system_config.yaml can hold (GPU pool, model cache, storage), with where its value came from.',
  fields: (t) => ({
    key: t.exposeString('key'),
    value: t.exposeString('value', { nullable: true }),
    source: t.exposeString('source', { description: '"environment", "system_config.yaml" or "default". The environment wins over the file.' }),
  }),
});

builder.queryField('configFiles', (t) =>
  t.field({ type: ConfigFilesRef, nullable: true, description: 'null: no CONFIG_DIR.', resolve: (_root, _args, ctx) => ctx.core.configFiles?.status ?? null }),
);

builder.queryField('systemSettings', (t) =>
  t.field({
    type: [SettingRef],
    resolve: (_root, _args, ctx) =>
      SYSTEM_FILE_KEYS.map((key) => {
        const value = ctx.core.config[key];
        return { key, value: value === undefined ? null : String(value), source: ctx.core.config.settingSources[key] ?? 'default' };
      }),
  }),
);
