/*
 * `node -r test/helpers/stack/register-ts.cjs src/main.ts`: runs the TypeScript sources without a build
 * step, for tests that need the daemon or a worker as a real child process (to SIGKILL it).
 * Each file is transpiled on load with TypeScript's transpileModule (no type check; the project
 * compiles with isolatedModules, so per-file transpilation is exact).
 */
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

const options = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  resolveJsonModule: true,
  inlineSourceMap: true,
};

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: options, fileName: filename });
  module._compile(outputText, filename);
};
