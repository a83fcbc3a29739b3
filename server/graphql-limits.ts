import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import type { Config } from '../src/config/config.ts';

type Audience = 'everyone' | 'authenticated' | 'nobody';

/** Unset, a feature is open to everyone, except in production where only signed-in callers get it. */
const audience = (configured: Audience | undefined, config: Pick<Config, 'NODE_ENV'>): Audience =>
  configured ?? (config.NODE_ENV === 'production' ? 'authenticated' : 'everyone');

const open = (who: Audience, signedIn: boolean) => who === 'everyone' || (who === 'authenticated' && signedIn);

/** A caller that sends a credential; one that is wrong is refused later, when the context is built. */
const signedIn = (context: unknown) => {
  const c = context as { request?: Request; connectionParams?: Record<string, unknown> };
  return Boolean(c.request?.headers.get('authorization') || c.connectionParams?.authorization || c.connectionParams?.Authorization);
};

const SUGGESTION = /\s*Did you mean .*\?$/;

/**
 * Introspection and "Did you mean …" hints per GRAPHQL_INTROSPECTION / GRAPHQL_SUGGESTIONS: both map the
 * schema for someone who has no business with it.
 */
function useSchemaPrivacy(config: Pick<Config, 'NODE_ENV' | 'GRAPHQL_INTROSPECTION' | 'GRAPHQL_SUGGESTIONS'>): Plugin {
  const introspection = audience(config.GRAPHQL_INTROSPECTION, config);
  const suggestions = audience(config.GRAPHQL_SUGGESTIONS, config);
  return {
    onValidate({ context, addValidationRule }) {
      const caller = signedIn(context);
      if (!open(introspection, caller)) addValidationRule(NoSchemaIntrospectionCustomRule);
      if (open(suggestions, caller)) return;
      return ({ result, setResult }) => {
        if (!result.length) return;
        setResult(result.map((error) => (SUGGESTION.test(error.message) ? new GraphQLError(error.message.replace(SUGGESTION, ''), { nodes: error.nodes, extensions: error.extensions }) : error)));
      };
    },
  };
}

/**
 * Armor's refusals as Atelier's: BAD_USER_INPUT with HTTP 400, reported as a validation error (or thrown from
 * the parser, where max-tokens counts) instead of Armor's bare "Syntax Error" that yoga answers with 200.
 */
const refuse: GraphQLArmorRejectCallback = (context, error) => {
  const refusal = new GraphQLError(error.message.replace(/^Syntax Error: /, 'Query refused: '), {
    nodes: error.nodes,
    extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
  });
  if (!context) throw refusal;
  context.reportError(refusal);
};
const armor = { propagateOnRejection: false, onReject: [refuse] };

/** GraphQL Armor's limits on what one document may ask for, and the schema's privacy. */
export function graphqlLimitPlugins(config: Config): Plugin[] {
  return [
    maxTokensPlugin({ n: config.GRAPHQL_MAX_TOKENS, ...armor }) as Plugin,
    maxDepthPlugin({ n: config.GRAPHQL_MAX_DEPTH, flattenFragments: true, ...armor }) as Plugin,
    maxAliasesPlugin({ n: config.GRAPHQL_MAX_ALIASES, ...armor }) as Plugin,
    costLimitPlugin({ maxCost: config.GRAPHQL_MAX_COST, ...armor }) as Plugin,
    useSchemaPrivacy(config),
  ];
}
