import type { ErrorRequestHandler } from 'express';
import { httpErrorAnswer, logHttpError } from '../app';
import type { Logger } from '../log';
import { renderRefusal } from './auth-routes';
import { html, layout } from './html';

/**
 * The console's and sign-in's one error middleware: the answer from the table in
 * src/app/http-errors.ts, as a page. A signed-in person gets it inside the console's layout;
 * anyone else gets the refusal page with the answer's code as the reason code.
 */
export function consoleErrorEdge(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const answer = httpErrorAnswer(err);
    logHttpError(logger, 'console request failed', req.baseUrl + req.path, err, answer);
    if (res.headersSent) return;
    const failed = answer.status >= 500;
    const message = answer.internal ? 'An internal error occurred; it has been logged.' : answer.message;
    const person = res.locals.person;
    if (!person) return renderRefusal(res, answer.status, failed ? 'Something went wrong' : 'Request refused', message, answer.code);
    res
      .status(answer.status)
      .type('html')
      .send(
        layout({
          title: failed ? 'Something went wrong' : 'That did not work',
          person,
          csrfToken: res.locals.csrfToken,
          body: html`<div class="error" id="error"><p>${message}</p></div><p><a href="/console/">Back to the console</a></p>`,
        }).text,
      );
  };
}
