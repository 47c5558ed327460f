// node --import this-file: the loader answers for @aws-sdk/lib-storage as if it were not installed (a real
// ERR_MODULE_NOT_FOUND from node's own resolver, for a name that exists nowhere), so a test can run the CLI on a
// machine where one of tapline's packages is missing without removing it from node_modules.
import { register } from 'node:module';

const hook = `export async function resolve(specifier, context, next) {
  if (specifier === '@aws-sdk/lib-storage') return next('tapline-test-missing-lib-storage', context);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
