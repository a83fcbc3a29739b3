// Used by the MikroORM CLI (npm run migration:create); the app builds its config in src/db/orm.config.ts.
import { ormConfig } from './src/db/orm.config.ts';

export default ormConfig(process.env.DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/atelier');
