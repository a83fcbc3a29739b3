import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { ormConfig } from './orm.config.ts';

export type Orm = MikroORM;

export async function connectOrm(databaseUrl: string, overrides: Partial<Options> = {}): Promise<Orm> {
  return MikroORM.init(ormConfig(databaseUrl, overrides));
}

/** Applies pending migrations; returns the names of those that ran. */
export async function migrate(orm: Orm): Promise<string[]> {
  const ran = await orm.migrator.up();
  return ran.map((m) => m.name);
}
