import type { EntityManager } from '@mikro-orm/postgresql';
import type { Readable } from 'node:stream';
import { Asset } from '../db/entities/asset.entity.ts';
import type { Storage } from '../storage/storage.service.ts';
import { type Actor, canSeeOwnedBy } from './actor.ts';
import { AppError, forbidden, notFound } from './errors.ts';
import { isUuid } from './validation.ts';

export class AssetService {
  private readonly storage: Storage;

  constructor(storage: Storage) {
    this.storage = storage;
  }

  async getAsset(em: EntityManager, actor: Actor, id: string): Promise<Asset> {
    const asset = isUuid(id) ? await em.findOne(Asset, { id }) : null;
    if (!asset) throw notFound('Asset', id);
    if (!canSeeOwnedBy(actor, asset.owner.id)) throw forbidden(`Asset ${id} belongs to another user`);
    return asset;
  }

  async listJobAssets(em: EntityManager, jobIds: readonly string[]): Promise<Asset[]> {
    return em.find(Asset, { job: { $in: [...jobIds] } }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** For a signed URL, whose signature is the permission: any existing asset, whoever owns it. */
  /** An asset by id alone, for a caller whose signed link was checked instead of a credential. */
  async getSignedAsset(em: EntityManager, id: string): Promise<Asset> {
    const asset = isUuid(id) ? await em.findOne(Asset, { id }) : null;
    if (!asset) throw notFound('Asset', id);
    return asset;
  }

  async openAsset(em: EntityManager, actor: Actor, id: string): Promise<{ asset: Asset; stream: Readable }> {
    const asset = await this.getAsset(em, actor, id);
    // Checked before any header goes out: a file gone from disk is a 404, not a 500 half-way through a response.
    await this.storage.size(asset.storageKey).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.name === 'NotFound' || error.name === 'NoSuchKey') throw new AppError('NOT_FOUND', `The file of asset ${id} is no longer stored`, { id });
      throw error;
    });
    return { asset, stream: this.storage.open(asset.storageKey) };
  }
}
