import express, { Router } from 'express';
import { z } from 'zod';
// Straight from the modules, not the tokens index: the index re-exports the wiring, which
// imports this router.
import type { TokenDeps } from '../../tokens';
import { getTokenView, issueToken, listTokens, ownerIdOf, revokeToken, TOKEN_LISTINGS } from '../../tokens';

/**
 * `/api/v1/tokens` of the admin API: issue, list and revoke dependent tokens. The admin API
 * router mounts this behind its `ADMIN_API_TOKEN` check; its error middleware (or, mounted
 * alone, the app's) answers the tokens part's errors from the table in src/app/http-errors.ts.
 *
 *   POST   /            {team, owner, description, scope?, expiresAt?} → 201 {id, tokenValue, pulumiTeam}
 *   GET    /            ?owner=<SCIM id or userName>&team=<team>&state=active|revoked|all → {tokens: [...]}
 *
 * `owner` is the person's SCIM id or current userName; either way the tokens are found by the
 * person's id, so a userName given to someone new never shows or revokes the previous holder's.
 * `state` defaults to `active`; any other value is a 400 naming the allowed ones.
 *   GET    /:id         → one token (never its value)
 *   DELETE /:id         → the token, now revoked
 */

const listQuery = z
  .object({
    owner: z.string().min(1).max(256).optional(),
    team: z.string().min(1).max(100).optional(),
    state: z.enum(TOKEN_LISTINGS, { error: `must be one of ${TOKEN_LISTINGS.join(', ')}` }).default('active'),
  })
  .strict();

export function tokensRouter(deps: TokenDeps): Router {
  const router = Router();
  router.use(express.json({ limit: '64kb' }));

  router.post('/', async (req, res) => {
    const issued = await issueToken(deps, req.body);
    // The value is in this answer only: no cache may keep it.
    res.status(201).set('Cache-Control', 'no-store').json(issued);
  });

  router.get('/', async (req, res) => {
    const { owner, team, state } = listQuery.parse(req.query);
    const ownerUserId = owner === undefined ? undefined : await ownerIdOf(deps, owner);
    if (owner !== undefined && ownerUserId === undefined) return res.json({ tokens: [] });
    res.json({ tokens: await listTokens(deps, { ownerUserId, parentTeam: team, state }) });
  });

  router.get('/:id', async (req, res) => {
    res.json(await getTokenView(deps, String(req.params.id)));
  });

  router.delete('/:id', async (req, res) => {
    res.json(await revokeToken(deps, String(req.params.id), 'revoked through the admin API'));
  });

  return router;
}
