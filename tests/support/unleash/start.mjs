// A throwaway unleash-server for the tests, driven by tests/support/unleash_server.py.
// All settings come from the environment so that the fixture owns them:
//   UNLEASH_DB_NAME (required), UNLEASH_DB_HOST/PORT/USER/PASSWORD (default: local trust auth),
//   UNLEASH_PORT (required), INIT_ADMIN_API_TOKENS / INIT_BACKEND_API_TOKENS (read by unleash
//   itself on first boot), LOG_LEVEL (unleash's own, default "error").
import { start } from 'unleash-server';

const required = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`start.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const unleash = await start({
  db: {
    host: process.env.UNLEASH_DB_HOST || '127.0.0.1',
    port: Number(process.env.UNLEASH_DB_PORT || 5432),
    user: process.env.UNLEASH_DB_USER || 'postgres',
    password: process.env.UNLEASH_DB_PASSWORD || '',
    database: required('UNLEASH_DB_NAME'),
    ssl: false,
  },
  server: { host: '127.0.0.1', port: Number(required('UNLEASH_PORT')) },
  authentication: { type: 'open-source' },
  versionCheck: { enable: false },
  telemetry: false,
});

console.log(`unleash-server listening on http://127.0.0.1:${process.env.UNLEASH_PORT}`);

// Stop cleanly (closes the HTTP server and the database pool) so the fixture can drop the
// database right after; a second signal, or a stop that hangs, exits at once.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => process.exit(1), 5000).unref();
    unleash.stop().then(() => process.exit(0), () => process.exit(1));
  });
}

// unleash-server records a feature's lifecycle in a background listener after the feature
// is created; when a test deletes the feature first (the fixtures reset flags between
// tests), that insert breaks a foreign key and, unhandled, would end the whole server under
// every later test of the module. Such a background failure is logged and the server goes on.
process.on('unhandledRejection', (reason) => {
  console.error('[unhandled rejection, server kept running]', reason);
});
