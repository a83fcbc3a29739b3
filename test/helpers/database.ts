import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connectOrm, migrate } from '../../src/db/orm.ts';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A migrated database of its own on the shared test server, for tests whose subject is a whole table
 * (e.g. every active provider) that other test files write to at the same time.
 */
export async function createScratchDatabase(sharedUrl: string, label: string): Promise<ScratchDatabase> {
  const name = `atelier_${label}_${randomUUID().slice(0, 8)}`.replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: sharedUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(sharedUrl);
  url.pathname = `/${name}`;
  const orm = await connectOrm(url.toString());
  try {
    await migrate(orm);
  } finally {
    await orm.close();
  }
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: sharedUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
