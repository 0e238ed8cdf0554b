import { redact } from '../../adapters/aws/redact.ts';

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

/** JSON lines on stderr; quiet by default (warnings and errors). Every line passes `redact`. */
export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

export function jsonLinesLogger(
  threshold: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const rank = logLevels.indexOf(threshold);
  return {
    log(level, message, fields = {}) {
      if (logLevels.indexOf(level) < rank) return;
      const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...fields });
      write(`${redact(line)}\n`);
    },
  };
}

/**
 * Sends node's process warnings (the AWS SDK's notice about supported node versions, say)
 * through `logger`, one JSON line each, in place of node's own multi-line text on the same
 * stderr, which a log collector reading JSON lines would split into lines it cannot parse.
 */
export function logProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) =>
    logger.log('warn', 'node warning', { name: warning.name, warning: warning.message }),
  );
}
