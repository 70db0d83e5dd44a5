// /api/grants: request (for oneself), list, show, approve, deny, revoke.
import type { FastifyPluginAsync } from 'fastify';
import { parseDuration } from '../approvals/duration.ts';
import { ApprovalError, type GrantScope } from '../approvals/types.ts';
import type { GrantStatus } from '../store/types.ts';
import { decisionBody, grantBody, idParams, listQuery, type DecisionBody, type ListQuery } from './schemas.ts';
import { identityOf, type RouteContext } from './server.ts';

const statuses: readonly GrantStatus[] = ['requested', 'active', 'denied', 'expired', 'revoked'];

interface GrantBody {
  upstream?: string | null;
  scopes: GrantScope[];
  duration: string | number;
  justification: string;
}

export function grantRoutes(ctx: RouteContext): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: ListQuery }>('/api/grants', { schema: { querystring: listQuery(statuses) } }, async (req) => {
      const who = identityOf(req);
      const { status, identity, limit } = req.query;
      const grants = await ctx.approvals.grants.list({
        ...(status && status !== 'all' ? { status: status as GrantStatus } : {}),
        ...(ctx.isApprover(who) ? (identity ? { identity } : {}) : { identity: who.name }),
        limit: limit ?? 200,
      });
      return { grants };
    });

    app.get<{ Params: { id: string } }>('/api/grants/:id', { schema: { params: idParams } }, async (req) => {
      const who = identityOf(req);
      const grant = await ctx.approvals.grants.get(req.params.id);
      if (!grant) throw new ApprovalError('not-found', `no grant ${req.params.id}`);
      if (grant.identity !== who.name && !ctx.isApprover(who)) throw new ApprovalError('forbidden', `${who.name} may not see grant ${grant.id}`);
      return { grant };
    });

    // A grant is always requested by the identity it is for, with its own token.
    app.post<{ Body: GrantBody }>('/api/grants', { schema: { body: grantBody } }, async (req, reply) => {
      const durationS = parseDuration(req.body.duration);
      if (durationS === null) throw new ApprovalError('invalid', `duration "${req.body.duration}" is not a duration such as 2h, 30m or 3600`);
      const grant = await ctx.approvals.requestGrant({
        identity: identityOf(req),
        upstream: req.body.upstream ?? null,
        scopes: req.body.scopes,
        durationS,
        justification: req.body.justification,
      });
      return reply.code(201).header('location', ctx.link(`/api/grants/${grant.id}`)).send({ grant });
    });

    for (const action of ['approve', 'deny', 'revoke'] as const) {
      app.post<{ Params: { id: string }; Body: DecisionBody | null }>(
        `/api/grants/:id/${action}`,
        { schema: { params: idParams, body: decisionBody } },
        async (req) => {
          const who = identityOf(req);
          const reason = req.body?.reason;
          const grant =
            action === 'revoke'
              ? await ctx.approvals.revokeGrant(req.params.id, who, reason)
              : await ctx.approvals.decideGrant(req.params.id, who, action, reason);
          return { grant };
        },
      );
    }
  };
}
