// /api/reviews: list, show, approve, deny.
import type { FastifyPluginAsync } from 'fastify';
import { ApprovalError } from '../approvals/types.ts';
import type { Review, ReviewStatus } from '../store/types.ts';
import { decisionBody, idParams, listQuery, type DecisionBody, type ListQuery } from './schemas.ts';
import { identityOf, type RouteContext } from './server.ts';

const statuses: readonly ReviewStatus[] = ['pending', 'approved', 'denied', 'expired', 'withdrawn', 'consumed'];
const defaultLimit = 200;

export function reviewRoutes(ctx: RouteContext): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: ListQuery }>('/api/reviews', { schema: { querystring: listQuery(statuses) } }, async (req) => {
      const who = identityOf(req);
      const { status, identity, limit } = req.query;
      const reviews = await ctx.approvals.listReviews({
        ...(status && status !== 'all' ? { status: status as ReviewStatus } : {}),
        // people who cannot approve see only their own
        ...(ctx.isApprover(who) ? (identity ? { identity } : {}) : { identity: who.name }),
        limit: limit ?? defaultLimit,
      });
      return { reviews };
    });

    app.get<{ Params: { id: string } }>('/api/reviews/:id', { schema: { params: idParams } }, async (req) => {
      const who = identityOf(req);
      const review = await ctx.approvals.getReview(req.params.id);
      if (!review) throw new ApprovalError('not-found', `no review ${req.params.id}`);
      if (review.identity !== who.name && !ctx.isApprover(who)) {
        throw new ApprovalError('forbidden', `${who.name} may not see review ${review.id}`);
      }
      return { review, decide: decideLinks(ctx, review) };
    });

    for (const decision of ['approve', 'deny'] as const) {
      app.post<{ Params: { id: string }; Body: DecisionBody | null }>(
        `/api/reviews/:id/${decision}`,
        { schema: { params: idParams, body: decisionBody } },
        async (req) => {
          const review = await ctx.approvals.decide(req.params.id, identityOf(req), decision, req.body?.reason);
          return { review };
        },
      );
    }
  };
}

function decideLinks(ctx: RouteContext, review: Review): { approve: string; deny: string } | undefined {
  if (review.status !== 'pending') return undefined;
  return { approve: ctx.link(`/api/reviews/${review.id}/approve`), deny: ctx.link(`/api/reviews/${review.id}/deny`) };
}
