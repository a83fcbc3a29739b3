import type { Config } from '../config/config.ts';
import { S3Storage, parseS3Url } from './s3.storage.ts';
import { LocalStorage, type Storage } from './storage.service.ts';

/** STORAGE_URL=s3://… puts assets in a bucket every machine shares; without it they stay under STORAGE_DIR. */
export function createStorage(config: Pick<Config, 'storageDir' | 'STORAGE_URL'>): Storage {
  if (config.STORAGE_URL) return new S3Storage(parseS3Url(config.STORAGE_URL));
  return new LocalStorage(config.storageDir);
}
