import path from 'node:path';
import { requireUrls } from '../core.ts';
import { connectOrm } from '../db/orm.ts';
import { applyConfigSnapshot } from '../services/config-files.service.ts';
import { ConfigError, loadConfig } from './config.ts';
import { ConfigExportError, exportConfig } from './config-export.ts';
import { ConfigFileError, readConfigDir } from './config-files.ts';
import { EnvFileError } from './env-file.ts';

/**
 * `./atelier config export DIR`: the database's quotas, presets and profiles as a CONFIG_DIR.
 * `./atelier config import DIR`: the reverse, as ordinary settings (editable over the API afterwards).
 * `./atelier config check [DIR]`: reads the files (default CONFIG_DIR) and reports the first problem.
 */
const usage = 'usage: ./atelier config export DIR | import DIR | check [DIR]';

async function main(argv: string[]): Promise<number> {
  const [command, target] = argv;
  const config = loadConfig();
  if (command === 'check') {
    const dir = target ? path.resolve(target) : config.configDir;
    if (!dir) throw new ConfigError('No directory given and no CONFIG_DIR (or ./configs) to check');
    const snapshot = readConfigDir(dir);
    console.log(`${dir}: ${snapshot.users.length} user(s), ${snapshot.presets.length} project(s), ${snapshot.characters.length} character(s), ${snapshot.scenes.length} scene(s)`);
    return 0;
  }
  if ((command !== 'export' && command !== 'import') || !target) {
    console.error(usage);
    return 2;
  }
  const dir = path.resolve(target);
  const snapshot = command === 'import' ? readConfigDir(dir) : null;
  const orm = await connectOrm(requireUrls(config).databaseUrl);
  try {
    if (snapshot) {
      const report = await applyConfigSnapshot(orm.em.fork(), snapshot, { owned: false });
      for (const warning of report.warnings) console.error(`warning: ${warning}`);
      console.log(`imported ${report.users} user quota(s), ${report.presets} project(s), ${report.characters} character(s), ${report.scenes} scene(s) from ${dir}`);
    } else {
      const files = await exportConfig(orm.em.fork(), config, dir);
      console.log(`wrote ${files.length} file(s) to ${dir}:\n${files.map((f) => `  ${f}`).join('\n')}`);
    }
  } finally {
    await orm.close();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    const known = [ConfigError, ConfigFileError, ConfigExportError, EnvFileError].some((kind) => error instanceof kind);
    console.error(known ? error.message : error);
    process.exit(1);
  },
);
