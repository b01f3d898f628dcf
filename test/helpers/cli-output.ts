import { Writable } from 'node:stream';

/** A stream a CLI command writes to in-process, and the text it wrote so far. */
export function outputSink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { stream, text: () => text };
}
