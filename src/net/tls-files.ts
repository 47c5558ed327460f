/** Reading PEM files named by flags, with errors that name the flag and the file. */
import { readFileSync } from 'node:fs';
import { ERROR_CODES, TaplineError } from '../core/errors.js';

export function readPem(path: string, flag: string): Buffer {
  if (path === '') {
    throw new TaplineError(ERROR_CODES.USAGE, 'a PEM file is required', { where: `--${flag}` });
  }
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (cause) {
    throw new TaplineError(ERROR_CODES.USAGE, `cannot read ${path}: ${(cause as Error).message}`, {
      where: `--${flag}`,
      cause,
    });
  }
  if (!pem.includes('-----BEGIN')) {
    throw new TaplineError(ERROR_CODES.USAGE, `${path} is not a PEM file (no -----BEGIN line)`, { where: `--${flag}` });
  }
  return pem;
}
