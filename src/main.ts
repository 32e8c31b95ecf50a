// Entry: the only place that reads argv and the environment and sets the exit code. Everything
// between (global flags, dispatch, errors as one line) is in src/cli/dispatch.ts.
import { runCli } from './cli/dispatch.ts';

runCli(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});
